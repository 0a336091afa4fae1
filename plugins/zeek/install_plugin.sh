#!/bin/sh
# Installs a pktkit Zeek plugin directory the way Zeek users install plugins:
#   bazel run //plugins/zeek/udp:PktKit_UDP_install                # into `zeek-config --plugin_dir`
#   bazel run //plugins/zeek/udp:PktKit_UDP_install -- /some/dir   # or into /some/dir
# Arguments from Bazel: the plugin's __zeek_plugin__ marker and the zeek-config to ask; then the
# optional target directory. Replaces an older copy of the same plugin.
set -eu
marker="$1"
zeek_config="$2"
src=$(cd "$(dirname "$marker")" && pwd -P)
name=$(basename "$src")
if [ $# -ge 3 ]; then
  dest="$3"
else
  dest=$("$zeek_config" --plugin_dir)
fi
mkdir -p "$dest"
rm -rf "${dest:?}/$name.new"
cp -rL "$src" "$dest/$name.new"
chmod -R u+w "$dest/$name.new"
rm -rf "${dest:?}/$name"
mv "$dest/$name.new" "$dest/$name"
echo "installed $(cat "$dest/$name/__zeek_plugin__") into $dest/$name"
