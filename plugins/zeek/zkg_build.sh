#!/bin/sh
# zkg's build_command (zkg.meta): builds both pktkit Zeek plugins (PktKit::UDP and
# PktKit::AF_Packet) with Bazel against the Zeek on PATH (zeek-config) or $ZEEK_PREFIX, and
# copies the plugin directories into build/, which
# zkg installs as the package's plugin directory. Needs Bazel (Debian: bazel-bootstrap) and the
# Debian packages of setup.sh.
set -eu
cd "$(dirname "$0")/../.."
if ! command -v zeek-config >/dev/null 2>&1 && [ -z "${ZEEK_PREFIX:-}" ]; then
  echo "pktkit: no Zeek found (zeek-config not on PATH, ZEEK_PREFIX unset)" >&2
  exit 1
fi
bazel build -c opt --jobs="${PKTKIT_JOBS:-2}" //plugins/zeek/udp:PktKit_UDP \
  //plugins/zeek/af_packet:PktKit_AF_Packet
bin=$(bazel info -c opt bazel-bin)
rm -rf build
mkdir -p build
cp -rL "$bin/plugins/zeek/udp/PktKit_UDP" "$bin/plugins/zeek/af_packet/PktKit_AF_Packet" build/
chmod -R u+w build
echo "pktkit: built $(cat build/*/__zeek_plugin__ | paste -sd' ') into build/"
