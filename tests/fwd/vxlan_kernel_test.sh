#!/bin/bash
# Interop with a VXLAN peer no one here wrote: the Linux kernel's own vxlan device.
# In a network namespace of its own (unshare -n; needs root, as under Bazel's linux-sandbox),
# pktkit-fwd sends a generated trace to 127.0.0.1:4789 where a kernel vxlan device (VNI 42)
# decapsulates it; tcpdump captures what comes out of the device, and pcap-compare checks that
# those frames are exactly the input trace.
set -uo pipefail
FWD="$1"; GEN="$2"; CMP="$3"
T="${TEST_TMPDIR:-$(mktemp -d)}"
if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
  echo "SKIP: needs root and unshare -n (network namespaces)"; exit 0
fi
"$GEN" -w "$T/trace.pcap" --flows 400 --seed 5 --ipv6_share 0.4 --vlan_share 0.3 --qinq_share 0.2 || exit 1
export FWD CMP T
unshare -n bash -c '
  set -u
  ip link set lo up
  ip link add vx0 type vxlan id 42 dstport 4789 local 127.0.0.1 nolearning || exit 1
  ip link set vx0 up
  tcpdump -i vx0 -Q in -B 32768 --immediate-mode -n -U -w - >"$T/out.pcap" 2>"$T/tcpdump.log" &
  TD=$!
  for i in $(seq 1 100); do grep -q "listening on" "$T/tcpdump.log" && break; sleep 0.05; done
  "$FWD" -r "$T/trace.pcap" --vni 42 --dest 127.0.0.1:4789 --pps 5000 --progress 0 \
    --metrics_file "$T/fwd.prom" || exit 1
  sleep 1
  kill -INT $TD; wait $TD
  cat "$T/tcpdump.log"
  ip -s link show vx0 | head -4
'
"$CMP" "$T/trace.pcap" "$T/out.pcap" || { grep -v "^#" "$T/fwd.prom"; echo FAIL; exit 1; }
echo PASS
