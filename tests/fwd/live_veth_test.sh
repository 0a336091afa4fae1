#!/bin/bash
# pktkit-fwd -i (AF_PACKET ring) in a private network namespace (root): tcpreplay sends a
# generated trace into one end of a veth pair, pktkit-fwd captures the other end and writes
# GENEVE frames (-w); pktkit-recv -r decapsulates them again and pcap-compare checks that the
# inner frames equal the trace (VLAN tags the kernel strips are reinserted by the source).
set -uo pipefail
FWD="$1"; GEN="$2"; CMP="$3"; RECV="$4"
T="${TEST_TMPDIR:-$(mktemp -d)}"
if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
  echo "SKIP: needs root and unshare -n (network namespaces)"; exit 0
fi
"$GEN" -w "$T/trace.pcap" --flows 200 --seed 8 --ipv6_share 0.4 --vlan_share 0.3 --qinq_share 0.2 || exit 1
export FWD T
unshare -n bash -c '
  set -u
  sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip link add name vfa type veth peer name vfb || exit 1
  ip link set vfa mtu 9000 up; ip link set vfb mtu 9000 up  # tagged 1500-byte frames
  "$FWD" -i vfb --encap geneve --vni 9 -w "$T/geneve.pcap" --progress 0 2>"$T/fwd.log" &
  F=$!
  sleep 1
  tcpreplay -q -i vfa --pps 5000 "$T/trace.pcap" >/dev/null 2>&1 || exit 1
  sleep 1
  kill -INT $F; wait $F; echo "pktkit-fwd exit $?"
  cat "$T/fwd.log"
'
"$RECV" -r "$T/geneve.pcap" --encap geneve -w "$T/inner.pcap" 2>/dev/null || { echo "FAIL: recv -r"; exit 1; }
"$CMP" "$T/trace.pcap" "$T/inner.pcap" || { echo FAIL; exit 1; }
echo PASS
