#!/usr/bin/env bash
# Side by side: PktKit::AF_Packet (pktkit_af_packet::) and Zeek's built-in Zeek::AF_Packet
# (af_packet::) on the same veth traffic into `zeek -b`, one after the other in the same run:
# packets delivered to Zeek and Zeek's CPU time per delivered packet at 64 and 1500 bytes.
# Needs root (a private network namespace). Traffic: pktkit-gen udp_fixed frames replayed with
# tcpreplay --topspeed into veth0; each Zeek captures veth1 (fanout off).
#   bench/zeek_af_packet/compare.sh PLUGIN_DIR ZEEK_BIN PKTKIT_GEN [PACKETS]
set -uo pipefail
PLUGIN_DIR=$(readlink -f "$1"); ZEEK_BIN="$2"; GEN=$(readlink -f "$3"); PACKETS="${4:-200000}"
if [ -z "${PKTKIT_IN_NETNS:-}" ]; then
  export PKTKIT_IN_NETNS=1
  exec unshare -n "$0" "$@"
fi
WORK=$(mktemp -d /tmp/pktkit-zeek-bench.XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"' EXIT
cp -rL "$PLUGIN_DIR" "$WORK/" || exit 1  # a copy: a rebuild during the run cannot pull it away
export ZEEK_PLUGIN_PATH="$WORK/$(basename "$PLUGIN_DIR")" ZEEK_PLUGIN_ACTIVATE=PktKit::AF_Packet
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link add veth0 type veth peer name veth1 && ip link set veth0 up && ip link set veth1 up
TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "size  source              sent  delivered  dropped  cpu_s   us/packet"
for size in 64 1500; do
  flows=$((PACKETS / 100))
  "$GEN" -w "$WORK/t$size.pcap" --kinds udp_fixed --frame_size "$size" --fixed_packets 100 \
    --flows "$flows" --vlan_share 0 --qinq_share 0 --ipv6_share 0 >/dev/null 2>&1
  for src in pktkit_af_packet af_packet; do
    d="$WORK/$src-$size"; mkdir -p "$d"
    if [ $src = af_packet ]; then opt='redef AF_Packet::enable_fanout = F;'; else opt='redef PktKit::AF_Packet::enable_fanout = F;'; fi
    (cd "$d" && exec "$ZEEK_BIN/zeek" -b -i "$src::veth1" -e "$opt" >zeek.out 2>&1) &
    Z=$!
    for _ in $(seq 1 100); do grep -q 'listening on' "$d/zeek.out" && break; sleep 0.1; done
    sleep 1
    c0=$(cpu_ticks $Z)
    tcpreplay -q -t -i veth0 "$WORK/t$size.pcap" >"$d/replay.out" 2>&1
    sleep 1
    c1=$(cpu_ticks $Z)
    kill -INT $Z; wait $Z
    sent=$(sed -n 's/.*Successful packets: *\([0-9]*\).*/\1/p' "$d/replay.out")
    got=$(sed -n 's/.* \([0-9]*\) packets received on interface.*/\1/p' "$d/zeek.out" | tail -1)
    drop=$(sed -n 's/.*interface [^,]*, \([0-9]*\) (.*dropped.*/\1/p' "$d/zeek.out" | tail -1)
    cpu=$(echo "scale=3; ($c1 - $c0) / $TCK" | bc)
    per=$(echo "scale=3; ($c1 - $c0) * 1000000 / $TCK / ${got:-1}" | bc)
    printf '%-5s %-18s %6s %10s %8s %6s %10s\n' "$size" "$src::" "${sent:-?}" "${got:-?}" "${drop:-?}" "$cpu" "$per"
  done
done
