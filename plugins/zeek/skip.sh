#!/bin/sh
# Stand-in for a Zeek plugin target or test when Bazel found no Zeek: one line, and success
# unless the second argument is 1 (PKTKIT_REQUIRE_ZEEK=1, as in CI), then failure.
echo "$1"
if [ "${2:-0}" = 1 ]; then
  echo "FAIL: PKTKIT_REQUIRE_ZEEK=1 but no Zeek was found" >&2
  exit 1
fi
exit 0
