#!/bin/bash
# pcap -> VXLAN over loopback, packets/s: a bare sendmmsg loop of prebuilt datagrams (the limit)
# versus pktkit-fwd --top-speed, for 64, 512 and 1400-byte inner frames, in the same run.
#   bazel run -c opt //bench/fwd:run_fwd_bench
set -euo pipefail
R="${RUNFILES_DIR:-$0.runfiles}/pktkit"
GEN="$R/tools/gen/pktkit-gen"; FWD="$R/tools/fwd/pktkit-fwd"; LIM="$R/bench/fwd/sendmmsg-limit"
T=$(mktemp -d /tmp/pktkit-fwd-bench.XXXXXX); trap 'rm -rf "$T"' EXIT
PORT=$((30000 + RANDOM % 10000))
"$LIM" sink "$PORT" 600 & SINK=$!; trap 'kill $SINK 2>/dev/null; rm -rf "$T"' EXIT
printf '%-6s %14s %14s %7s\n' bytes limit_pps fwd_pps ratio
for size in 64 512 1400; do
  "$GEN" -w "$T/t$size.pcap" --kinds udp_fixed --frame_size "$size" --flows 0 --packets 200000 \
    --vlan_share 0 --qinq_share 0 --ipv6_share 0 2>/dev/null
  lim=$("$LIM" send "$T/t$size.pcap" "$PORT" 2 | awk '{print $2}')
  fwd=$("$FWD" -r "$T/t$size.pcap" --top-speed --loop 5 --dest "127.0.0.1:$PORT" --progress 0 2>&1 \
        | grep -oE '[0-9]+ packets/s' | awk '{print $1}')
  printf '%-6s %14s %14s %7.2f\n' "$size" "$lim" "$fwd" "$(awk -v a="$fwd" -v b="$lim" 'BEGIN{print a/b}')"
done
