#!/usr/bin/env bash
# The main job on a built-in example, no arguments: installs what is missing (setup.sh), then
# generates a trace, forwards it through VXLAN and GENEVE tunnels on loopback to pktkit-recv
# (recvmmsg and io_uring receivers), checks every packet arrived intact and prints a table.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
exec bazel run -c opt //tools/demo -- "$@"
