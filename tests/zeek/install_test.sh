#!/usr/bin/env bash
# `bazel run //plugins/zeek/udp:PktKit_UDP_install [-- DIR]` installs the plugin directory where
# Zeek finds it: here into a temporary DIR (the default, `zeek-config --plugin_dir`, is the
# same copy), then `zeek -N` must list PktKit::UDP from there and nowhere else, twice (an
# install over an older copy replaces it).
# Arguments: plugin marker, Zeek bin dir, the installer script.
set -euo pipefail
MARKER="$1"; ZEEK_BIN="$2"; INSTALL="$3"
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
for round in 1 2; do
  "$INSTALL" "$MARKER" "$ZEEK_BIN/zeek-config" "$dest"
done
test -f "$dest/PktKit_UDP/__zeek_plugin__"
test -x "$dest/PktKit_UDP/lib/PktKit-UDP.linux-x86_64.so"
test -f "$dest/PktKit_UDP/lib/bif/__load__.zeek"
[ "$(ls "$dest")" = PktKit_UDP ] || { echo "FAIL: unexpected files: $(ls "$dest")"; exit 1; }
out=$(ZEEK_PLUGIN_PATH="$dest" "$ZEEK_BIN/zeek" -N PktKit::UDP 2>&1)
echo "$out"
echo "$out" | grep -q '^PktKit::UDP - .*(dynamic, version' || { echo "FAIL: not listed"; exit 1; }
# Without the path, this Zeek does not know the plugin (the test really used the copy).
if "$ZEEK_BIN/zeek" -N PktKit::UDP >/dev/null 2>&1 && [ ! -d "$("$ZEEK_BIN/zeek-config" --plugin_dir)/PktKit_UDP" ]; then
  echo "FAIL: PktKit::UDP listed without ZEEK_PLUGIN_PATH"; exit 1
fi
echo "PASS: installed twice into $dest, zeek -N lists it"
