#!/bin/bash
# End-to-end benchmark of issue 14, one command (root; builds its own network namespaces):
#
#   bench/e2e/run.sh [--reps 3] [--parts capture,fwd,recv] [--out FILE]
#
# Builds the tools and bare loops with --config=bench, then runs bench/e2e/e2e.py inside a
# private network namespace (unshare -n): capture (pktkit-capture vs tcpdump vs netsniff-ng, fed
# by trafgen), forwarding (pktkit-fwd --top-speed, default and raw-socket senders, vs the bare
# sendmmsg loop and trafgen over a veth pair), receive (pktkit-recv recvmmsg/io_uring vs the bare
# recvmmsg loop). Peers from Debian: netsniff-ng (netsniff-ng, trafgen), tcpdump (setup.sh).
# Prints the Markdown table that BENCHMARKS.md quotes; the default output is
# /tmp/pktkit-e2e.md (+ .json with every number).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
  echo "bench/e2e/run.sh: needs root and network namespaces (unshare -n)" >&2; exit 1
fi
for t in trafgen netsniff-ng tcpdump taskset nsenter tc; do
  command -v "$t" >/dev/null || { echo "bench/e2e/run.sh: $t missing (./setup.sh)" >&2; exit 1; }
done
OUT=/tmp/pktkit-e2e.md
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
TARGETS=(//tools/capture:pktkit-capture //tools/fwd:pktkit-fwd //tools/recv:pktkit-recv
         //tools/gen:pktkit-gen //bench/e2e:bare-udp //tests/tx_ring:tx_ring_send)
bazel build --config=bench --jobs=2 "${TARGETS[@]}" >&2
BIN=$(bazel info --config=bench bazel-bin 2>/dev/null)
exec unshare -n /usr/bin/python3 bench/e2e/e2e.py --bin "$BIN" --out "$OUT" ${ARGS[@]+"${ARGS[@]}"}
