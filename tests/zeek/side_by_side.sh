#!/usr/bin/env bash
# PktKit::UDP side by side with zeek-packet-source-udp (Zeek::PacketSourceUDP, built by you
# OUTSIDE this repository against the same Zeek; nothing of it is committed). Loopback only.
#   tests/zeek/side_by_side.sh UPSTREAM_BUILD_DIR [ROUNDS]
# UPSTREAM_BUILD_DIR: its CMake build directory (holds __zeek_plugin__). Needs Zeek on PATH and
# `bazel build -c opt //plugins/zeek/udp:PktKit_UDP //tools/fwd:pktkit-fwd //tools/gen:pktkit-gen`.
# 1. Same logs: the same trace over VXLAN into a full `zeek` through each plugin; conn/http/dns
#    logs (uids and times aside) must equal each other and `zeek -r`.
# 2. Highest zero-loss rate into `zeek -b`: 64-byte frames (VXLAN) paced by pktkit-fwd at
#    rising rates, both plugins at each rate in turn (same machine state), same receive buffer
#    (what the other plugin gets: SO_RCVBUF capped by net.core.rmem_max) and, separately, each
#    plugin's defaults. Prints the highest rate each delivered without loss, and the ratio.
set -uo pipefail
UP="$(cd "$1" && pwd)"; ROUNDS="${2:-1}"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${PKTKIT_BIN:-$(cd "$REPO" && bazel info -c opt bazel-bin 2>/dev/null)}"
OURS="$BIN/plugins/zeek/udp/PktKit_UDP"
FWD="$BIN/tools/fwd/pktkit-fwd"; GEN="$BIN/tools/gen/pktkit-gen"
for f in "$OURS/__zeek_plugin__" "$UP/__zeek_plugin__" "$FWD" "$GEN"; do
  [ -e "$f" ] || { echo "missing $f"; exit 1; }
done
W=$(mktemp -d /tmp/pktkit-sbs.XXXXXX)
ZPID=""
trap '[ -n "$ZPID" ] && kill "$ZPID" 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/p/ours" "$W/p/up"
cp -rL "$OURS" "$W/p/ours/"; cp -rL "$UP/__zeek_plugin__" "$UP/lib" "$UP/scripts" "$W/p/up/" 2>/dev/null
[ -d "$UP/dist" ] && true
port_hex() { printf '%04X' "$1"; }
# run_zeek NAME DIR PORT BARE(0/1) EXTRA... ; sets ZPID
run_zeek() {
  local name="$1" dir="$2" port="$3" bare="$4"; shift 4
  local spec act pp
  if [ "$name" = ours ]; then spec="pktkit_udp::127.0.0.1:$port:vxlan"; act=PktKit::UDP; pp="$W/p/ours"
  else spec="udp::127.0.0.1:$port:vxlan"; act=Zeek::PacketSourceUDP; pp="$W/p/up"; fi
  mkdir -p "$dir"
  local b=(); [ "$bare" = 1 ] && b=(-b)
  (cd "$dir" && ZEEK_PLUGIN_PATH="$pp" ZEEK_PLUGIN_ACTIVATE="$act" exec zeek "${b[@]}" -C -i "$spec" "$@" >zeek.out 2>&1) &
  ZPID=$!
  for _ in $(seq 1 300); do
    grep -q ":$(port_hex "$port") " /proc/net/udp && return 0
    kill -0 "$ZPID" 2>/dev/null || break; sleep 0.05
  done
  echo "$name did not start:"; cat "$dir/zeek.out"; return 1
}
stop_zeek() {
  local port="$1"
  for _ in $(seq 1 600); do
    [ "$(ss -Hlun "sport = :$port" | awk '{print $2}' | head -1)" = 0 ] && break; sleep 0.1
  done
  sleep 0.5; kill -INT "$ZPID"; wait "$ZPID" 2>/dev/null; ZPID=""
}
received() { grep -oE '[0-9]+ packets received on interface' "$1/zeek.out" | awk '{print $1}'; }
strip_log() {
  [ -f "$1" ] || return 0
  awk -F'\t' '/^#fields/ { for (i = 2; i <= NF; i++) if ($i ~ /^(ts|uid|duration|rtt|uids|conn_uids|fuid|orig_fuids|resp_fuids)$/) d[i-1] = 1; next }
    /^#/ { next } { l = ""; for (i = 1; i <= NF; i++) if (!d[i]) l = l $i "\t"; print l }' "$1" | sort
}

echo "== 1. same logs on the same input"
"$GEN" -w "$W/gen.pcap" --flows 300 --seed 3 2>/dev/null
T="$W/gen.pcap"; [ -f "$REPO/../shared/pcaps/bro.org.pcap" ] && mergecap -F pcap -w "$W/mix.pcap" "$T" "$REPO/../shared/pcaps/bro.org.pcap" && T="$W/mix.pcap"
mkdir -p "$W/ref"; (cd "$W/ref" && zeek -C -r "$T" >/dev/null 2>&1)
same=1
for who in ours up; do
  port=$((30000 + RANDOM % 20000))
  run_zeek $who "$W/logs-$who" $port 0 || exit 1
  "$FWD" -r "$T" --encap vxlan --dest 127.0.0.1:$port --pps 5000 --progress 0 >/dev/null 2>&1
  stop_zeek $port
  for log in conn http dns; do
    if ! diff -q <(strip_log "$W/ref/$log.log") <(strip_log "$W/logs-$who/$log.log") >/dev/null; then
      echo "  $who: $log.log differs from zeek -r"; same=0
    fi
  done
  echo "  $who: $(strip_log "$W/logs-$who/conn.log" | wc -l) connections, $(received "$W/logs-$who") packets"
done
[ $same = 1 ] && echo "  same logs: both plugins' conn/http/dns logs equal zeek -r on $(basename "$T")"

echo "== 2. highest zero-loss rate into zeek -b (64-byte frames, VXLAN, loopback)"
"$GEN" -w "$W/small.pcap" --kinds udp_fixed --flows 100 --fixed_packets 1000 --frame_size 64 2>/dev/null
SENT=100000
CAP=$(( $(cat /proc/sys/net/core/rmem_max) * 2 ))
RATES=(25000 50000 75000 100000 150000 200000 300000 400000)
declare -A best firstloss delivered
for cfg in same default; do
  for who in ours up; do best[$cfg-$who]=0; done
done
for round in $(seq 1 "$ROUNDS"); do
  for rate in "${RATES[@]}"; do
    for cfg in same default; do
      for who in ours up; do
        [ $cfg = default ] && [ $who = up ] && continue   # its default is the capped buffer: same as "same"
        extra=()
        if [ $who = ours ] && [ $cfg = same ]; then extra=("PktKit::UDP::udp_recv_buffer_size=$CAP"); fi
        port=$((30000 + RANDOM % 20000))
        run_zeek $who "$W/r-$who-$cfg-$rate" $port 1 "${extra[@]}" || continue
        "$FWD" -r "$W/small.pcap" --encap vxlan --dest 127.0.0.1:$port --pps $rate --progress 0 >/dev/null 2>&1
        stop_zeek $port
        got=$(received "$W/r-$who-$cfg-$rate")
        echo "  round $round rate $rate $who ($cfg buffer): received ${got:-?}/$SENT"
        if [ "${got:-0}" -ge $SENT ] && [ $rate -gt "${best[$cfg-$who]}" ]; then best[$cfg-$who]=$rate; fi
        # Stricter: the highest rate up to which every rate (every round) was loss-free.
        if [ "${got:-0}" -lt $SENT ] && { [ -z "${firstloss[$cfg-$who]:-}" ] || [ $rate -lt "${firstloss[$cfg-$who]}" ]; }; then
          firstloss[$cfg-$who]=$rate
        fi
        delivered[$cfg-$who]=$(( ${delivered[$cfg-$who]:-0} + ${got:-0} ))
      done
    done
  done
done
best[default-up]=${best[same-up]}
firstloss[default-up]=${firstloss[same-up]:-}
delivered[default-up]=${delivered[same-up]:-0}
# The rate below the first lossy one (the list is ascending).
below() {
  local fl="$1" prev=0 r
  [ -z "$fl" ] && { echo "${RATES[-1]}+"; return; }
  for r in "${RATES[@]}"; do [ "$r" -ge "$fl" ] && break; prev=$r; done
  echo "$prev"
}
echo
echo "receive buffer for 'same': $CAP bytes (net.core.rmem_max x 2, what SO_RCVBUF gives the other plugin)"
for cfg in same default; do
  o=${best[$cfg-ours]}; u=${best[$cfg-up]}
  r="n/a"; [ "$u" -gt 0 ] && r=$(awk -v o="$o" -v u="$u" 'BEGIN { printf "%.2f", o / u }')
  echo "highest zero-loss rate ($cfg buffer): PktKit::UDP $o pps, Zeek::PacketSourceUDP $u pps, ratio $r"
  echo "  every rate loss-free up to: PktKit::UDP $(below "${firstloss[$cfg-ours]:-}"), Zeek::PacketSourceUDP $(below "${firstloss[$cfg-up]:-}")"
  echo "  delivered over all rates: PktKit::UDP ${delivered[$cfg-ours]:-0}, Zeek::PacketSourceUDP ${delivered[$cfg-up]:-0} of $(( ${#RATES[@]} * ROUNDS * SENT ))"
done
