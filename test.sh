#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing (setup.sh), then
# `bazel test //...` (unit, fuzz-corpus replays under ASan+UBSan, header self-containment,
# benchmark smoke runs, and the network integration tests that build their own namespaces).
# Extra arguments go to `bazel test` (for example --config=asan or a target pattern).
# Prints a closing "N passed, N failed" line and exits with Bazel's code (0 all passed).
set -uo pipefail
cd "$(dirname "$0")"
./setup.sh || exit 1

targets=()
flags=()
for a in "$@"; do
  case "$a" in
    //*|:*) targets+=("$a") ;;
    *) flags+=("$a") ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=(//...)

log=$(mktemp)
bazel test --jobs=2 "${flags[@]}" -- "${targets[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|NO STATUS|FAILED TO BUILD|INCOMPLETE)' "$log")
skipped=$(grep -cE '^//[^ ]+ +SKIPPED' "$log")
# A test that could not run here (no root, no ../shared/pcaps beside the checkout, no
# prometheus) passes and prints one "SKIP: reason" line (GTEST_SKIP or a shell test's echo).
# Such targets count as skipped, not passed, and are listed with their first reason.
while read -r target; do
  tlog="bazel-testlogs/${target#//}"
  tlog="${tlog/://}/test.log"
  reason=$(grep -m1 -E '^SKIP: ' "$tlog" 2>/dev/null)
  if [ -n "$reason" ]; then
    echo "skipped (in part or whole): ${target} ${reason}"
    passed=$((passed - 1))
    skipped=$((skipped + 1))
  fi
done < <(grep -oE '^//[^ ]+ +(\(cached\) )?PASSED' "$log" | awk '{print $1}')
rm -f "$log"
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$rc"
