#!/bin/bash
# Interop with tunnel peers no one here wrote (needs root: a network namespace of its own).
#  1. VXLAN: the Linux kernel's vxlan device (VNI 42) in one namespace encapsulates UDP over
#     IPv4 and IPv6 sent to a neighbour behind it, over a veth pair into a second namespace where
#     pktkit-recv (inner BPF "udp") must write exactly the frames tcpdump saw entering the device.
#  2. GENEVE (no geneve device in this kernel): scapy builds GENEVE datagrams (with options,
#     Ethernet and IPv4 payloads); pktkit-recv must write exactly scapy's inner frames.
set -uo pipefail
RECV="$1"; CMP="$2"
T="${TEST_TMPDIR:-$(mktemp -d)}"
PY=/usr/bin/python3
if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
  echo "SKIP: needs root and unshare -n (network namespaces)"; exit 0
fi
"$PY" -c 'import scapy' 2>/dev/null || { echo "FAIL: python3-scapy missing"; exit 1; }
export RECV CMP T PY
unshare -n bash -c '
  set -u
  ip link set lo up
  # The receiver side: a second namespace joined by a veth pair (a vxlan device will not send
  # to a local address: it bypasses the encapsulation).
  unshare -n sleep 60 &
  B=$!
  sleep 0.2
  ip link add vA type veth peer name vB || exit 1
  ip link set vB netns $B || exit 1
  ip addr add 10.8.0.1/24 dev vA
  ip link set vA up
  nsenter -t $B -n sh -c "ip link set lo up; ip addr add 10.8.0.2/24 dev vB; ip link set vB up"
  nsenter -t $B -n "$RECV" -i udp::10.8.0.2:4789:vxlan -w "$T/recv_vxlan.pcap" -c 60 \
    --stats_interval 0 udp 2>"$T/recv_vxlan.log" &
  RP=$!
  ip link add vx0 type vxlan id 42 dstport 4789 local 10.8.0.1 remote 10.8.0.2 dev vA || exit 1
  ip link set vx0 address 02:00:00:00:00:01 up
  ip addr add 10.9.0.1/24 dev vx0
  ip addr add fd09::1/64 dev vx0 nodad
  ip neigh add 10.9.0.2 lladdr 02:00:00:00:00:02 dev vx0 nud permanent
  ip -6 neigh add fd09::2 lladdr 02:00:00:00:00:02 dev vx0 nud permanent
  # Only UDP on both sides (the device also emits its own IPv6 MLD/ND chatter).
  tcpdump -i vx0 -Q out -n -U -c 60 -w "$T/ref_vxlan.pcap" udp 2>"$T/tcpdump.log" &
  TD=$!
  for i in $(seq 1 100); do
    grep -q "listening on" "$T/tcpdump.log" && grep -q "listening on" "$T/recv_vxlan.log" && break
    sleep 0.05
  done
  "$PY" - <<PYEOF
import socket, time
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i in range(40):
    s4.sendto(bytes([i]) * (1 + i * 30), ("10.9.0.2", 9000 + i))
for i in range(20):
    s6.sendto(bytes([i]) * (1 + i * 50), ("fd09::2", 9000 + i))
PYEOF
  for i in $(seq 1 100); do kill -0 $RP 2>/dev/null || break; sleep 0.05; done
  kill -INT $RP 2>/dev/null; wait $RP; echo "pktkit-recv exit $?" >>"$T/recv_vxlan.log"
  for i in $(seq 1 40); do kill -0 $TD 2>/dev/null || break; sleep 0.05; done
  kill -INT $TD 2>/dev/null; wait $TD
  kill $B
'
cat "$T/recv_vxlan.log"
"$CMP" "$T/ref_vxlan.pcap" "$T/recv_vxlan.pcap" || { echo "FAIL: kernel vxlan"; exit 1; }
grep -q "pktkit-recv exit 0" "$T/recv_vxlan.log" || { echo "FAIL: exit status"; exit 1; }

# GENEVE from scapy, on loopback in a fresh namespace.
unshare -n bash -c '
  set -u
  ip link set lo up
  "$RECV" -i udp::127.0.0.1:6081:geneve -w "$T/recv_geneve.pcap" -c 30 --stats_interval 0 \
    2>"$T/recv_geneve.log" &
  RP=$!
  for i in $(seq 1 100); do grep -q "listening on" "$T/recv_geneve.log" && break; sleep 0.05; done
  "$PY" - <<PYEOF
import socket, time
from scapy.all import Ether, IP, UDP, TCP, Raw, wrpcap
from scapy.contrib.geneve import GENEVE, GeneveOptions
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
inner = []
for i in range(30):
    f = Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") / IP(src="10.1.0.1", dst="10.1.0.2") / TCP(sport=1000 + i, dport=80) / Raw(b"x" * (i * 40))
    opts = [GeneveOptions(classid=0x0108, type=1, data=b"\x00\x00\x00\x01")] if i % 2 else []
    g = GENEVE(vni=1000 + i, proto=0x6558, options=opts) / f
    s.sendto(bytes(g), ("127.0.0.1", 6081))
    inner.append(f)
wrpcap("$T/ref_geneve.pcap", inner)
time.sleep(0.3)
PYEOF
  for i in $(seq 1 100); do kill -0 $RP 2>/dev/null || break; sleep 0.05; done
  kill -INT $RP 2>/dev/null; wait $RP; echo "pktkit-recv exit $?" >>"$T/recv_geneve.log"
'
cat "$T/recv_geneve.log"
"$CMP" "$T/ref_geneve.pcap" "$T/recv_geneve.pcap" || { echo "FAIL: scapy geneve"; exit 1; }
grep -q "pktkit-recv exit 0" "$T/recv_geneve.log" || { echo "FAIL: exit status"; exit 1; }
echo PASS
