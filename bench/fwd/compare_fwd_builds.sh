#!/bin/bash
# Same-run comparison of two pktkit-fwd builds (e.g. before and after a change) against the bare
# sendmmsg loop, pcap -> VXLAN over loopback at --top-speed, three repetitions per frame size.
# D must hold pktkit-fwd-before, pktkit-fwd-after, pktkit-gen and sendmmsg-limit (-c opt builds):
#   bazel build -c opt //bench/fwd:run_fwd_bench; copy bazel-bin/tools/fwd/pktkit-fwd to
#   $D/pktkit-fwd-before; change; rebuild; copy to $D/pktkit-fwd-after (plus pktkit-gen and
#   bench/fwd/sendmmsg-limit); D=$D bench/fwd/compare_fwd_builds.sh
set -euo pipefail
D=${D:?set D to the folder holding the binaries}; T=$(mktemp -d /tmp/pktkit-fwd-bench.XXXXXX)
PORT=$((30000 + RANDOM % 10000))
"$D/sendmmsg-limit" sink "$PORT" 900 & SINK=$!; trap 'kill $SINK 2>/dev/null; rm -rf "$T"' EXIT
fwd() { "$1" -r "$2" --top-speed --loop 5 --dest "127.0.0.1:$PORT" --progress 0 2>&1 | grep -oE '[0-9]+ packets/s' | awk '{print $1}'; }
printf '%-6s %-4s %12s %12s %12s %7s %7s %7s\n' bytes rep limit_pps before_pps after_pps before after after/before
for size in 64 512 1400; do
  "$D/pktkit-gen" -w "$T/t$size.pcap" --kinds udp_fixed --frame_size "$size" --flows 0 --packets 200000 \
    --vlan_share 0 --qinq_share 0 --ipv6_share 0 2>/dev/null
  for rep in 1 2 3; do
    lim=$("$D/sendmmsg-limit" send "$T/t$size.pcap" "$PORT" 2 | awk '{print $2}')
    b=$(fwd "$D/pktkit-fwd-before" "$T/t$size.pcap"); a=$(fwd "$D/pktkit-fwd-after" "$T/t$size.pcap")
    printf '%-6s %-4s %12s %12s %12s %7.2f %7.2f %7.2f\n' "$size" "$rep" "$lim" "$b" "$a" \
      "$(awk -v x="$b" -v y="$lim" 'BEGIN{print x/y}')" "$(awk -v x="$a" -v y="$lim" 'BEGIN{print x/y}')" \
      "$(awk -v x="$a" -v y="$b" 'BEGIN{print x/y}')"
  done
done
