#!/bin/bash
# Runs a Python test with Debian's interpreter (python3-scapy lives there, not in a pyenv).
set -euo pipefail
script="$1"
shift
exec /usr/bin/python3 "$script" "$@"
