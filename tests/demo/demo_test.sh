#!/bin/bash
# Runs the one-command demo exactly as `bazel run //tools/demo` does (smaller trace) and
# requires every combination to deliver exactly the packets that were sent.
set -uo pipefail
export DEMO_FLOWS=500
out=$("$1" 2>&1); rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL: demo exited $rc"; exit 1; }
[ "$(echo "$out" | grep -cE '^(vxlan|geneve) .* OK$')" -eq 4 ] || { echo "FAIL: not 4 OK rows"; exit 1; }
echo "$out" | grep -q "Zeek" || { echo "FAIL: no Zeek line"; exit 1; }
echo PASS
