#!/usr/bin/env bash
# Installs every Debian 12 package pktkit needs to build, test, fuzz and benchmark, offline from
# anything but Debian's apt repositories. Idempotent: a no-op (no apt call) when all is present.
# Run as root (or with sudo).
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap g++ clang libclang-rt-14-dev pkg-config cmake
  # libraries
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev libpcap-dev liburing-dev
  zlib1g-dev libzstd-dev libzmq3-dev cppzmq-dev libnetfilter-log-dev libmnl-dev
  libcap-dev
  # peers the tests check against, and the network tools they drive
  iproute2 tcpdump tshark tcpreplay python3 python3-scapy nftables iptables prometheus
  # end-to-end benchmark peers (bench/e2e): netsniff-ng and trafgen
  netsniff-ng
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
