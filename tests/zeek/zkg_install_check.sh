#!/usr/bin/env bash
# `zkg install` from a local clone, with Debian's zkg, a throw-away zkg configuration and state
# (nothing outside a temporary directory is touched; no network: the package is a local git
# repository). zkg runs the package's build_command (Bazel, plugins/zeek/zkg_build.sh) and
# installs build/ as the package's plugin directory; then `zeek -N` must list PktKit::UDP and
# PktKit::AF_Packet from there. Not a Bazel test (it runs Bazel itself): .ci/run calls it. Needs zkg, git and a Zeek
# (zeek-config on PATH or $ZEEK_PREFIX). Ends with "N passed, N failed".
set -uo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
if ! command -v zkg >/dev/null; then
  echo "zkg not installed (Debian package zkg)"; echo "0 passed, 1 failed"; exit 1
fi
[ -n "${ZEEK_PREFIX:-}" ] && export PATH="$ZEEK_PREFIX/bin:$PATH"
work=$(mktemp -d /tmp/pktkit-zkg.XXXXXX)
cleanup() {
  # The package clone ran its own Bazel server: stop that one (only that one).
  for d in "$work"/state/clones/package/*/ "$work/src"; do
    [ -f "$d/WORKSPACE" ] && (cd "$d" && bazel shutdown >/dev/null 2>&1)
  done
  rm -rf "$work"
}
trap cleanup EXIT
# zkg refuses a dirty working tree: install what is committed, from a clean local clone.
git clone -q "$repo" "$work/src"
cat >"$work/config" <<CFG
[sources]

[paths]
state_dir = $work/state
script_dir = $work/scripts
plugin_dir = $work/plugins
bin_dir = $work/bin
zeek_dist =
CFG
if ! timeout 1800 zkg --configfile "$work/config" install --force --skiptests "$work/src"; then
  echo "FAIL: zkg install"; echo "0 passed, 1 failed"; exit 1
fi
marker=$(find "$work/plugins" -name __zeek_plugin__ | head -1)
out=$(ZEEK_PLUGIN_PATH="$work/plugins" zeek -N 2>&1)
echo "$out" | grep '^PktKit::'
if [ -n "$marker" ] && echo "$out" | grep -q '^PktKit::UDP - ' &&
   echo "$out" | grep -q '^PktKit::AF_Packet - '; then
  echo "PASS: zkg install from a local clone; zeek -N lists PktKit::UDP and PktKit::AF_Packet"
  echo "1 passed, 0 failed"
  exit 0
fi
echo "FAIL: zkg installed no loadable PktKit::UDP and PktKit::AF_Packet"; echo "$out"; echo "0 passed, 1 failed"; exit 1
