#!/usr/bin/python3
"""Writes the seed corpora of wire_parse_fuzz, vlan_insert_fuzz (tests/wire/corpus/) and
flow_key_fuzz (tests/flow/corpus/): hand-built frames (scapy) plus a few frames from the shared
captures. Run once from the workspace root; the outputs are committed."""
import os
from scapy.all import (Ether, Dot1Q, Dot1AD, IP, IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, TCP, UDP, ICMP, ICMPv6EchoRequest,
                       SCTP, Raw, rdpcap, raw)

def frames():
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    yield "v4_udp", e / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1234, dport=53) / Raw(b"x" * 8)
    yield "v4_tcp_opts", e / IP(src="10.0.0.1", dst="10.0.0.2", options=b"\x01\x01\x01\x00") / TCP(sport=40000, dport=80, options=[("MSS", 1460)])
    yield "v4_frag_first", e / IP(src="10.0.0.1", dst="10.0.0.2", flags="MF", id=7) / UDP(sport=5, dport=6) / Raw(b"a" * 16)
    yield "v4_frag_later", e / IP(src="10.0.0.1", dst="10.0.0.2", frag=3, id=7, proto=17) / Raw(b"a" * 16)
    yield "v4_icmp_echo", e / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(id=0x1234, seq=1)
    yield "v4_sctp", e / IP(src="10.0.0.1", dst="10.0.0.2") / SCTP(sport=9, dport=10, tag=5)
    yield "qinq_v4", e / Dot1AD(vlan=100) / Dot1Q(vlan=200) / IP(src="1.2.3.4", dst="5.6.7.8") / UDP(sport=1, dport=2)
    yield "vlan_v6_tcp", e / Dot1Q(vlan=4095, prio=7) / IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(sport=443, dport=5555)
    yield "v6_chain_frag", e / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt() / IPv6ExtHdrFragment(m=1, id=9) / UDP(sport=7, dport=8) / Raw(b"z" * 8)
    yield "v6_frag_later", e / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(offset=5, nh=17) / Raw(b"z" * 8)
    yield "v6_icmp_echo", e / IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6EchoRequest(id=3)
    yield "arp_like", Ether(type=0x0806) / Raw(b"\x00" * 28)

def capture_frames():
    for name, n in (("bro.org.pcap", 4), ("http-qinq-0.pcap", 2), ("ipv6-fragmented-dns.pcap", 8)):
        for i, p in enumerate(rdpcap("../shared/pcaps/" + name)[:n]):
            yield "%s_%d" % (name.split(".")[0], i), p

def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)

for name, pkt in list(frames()) + list(capture_frames()):
    b = raw(pkt)
    write("tests/wire/corpus/wire_parse_fuzz", name, b)
    write("tests/flow/corpus/flow_key_fuzz", name, b)
    if name.startswith("v4") or name.startswith("v6"):
        # Raw-IP seeds for the kRaw path.
        write("tests/flow/corpus/flow_key_fuzz", name + "_raw", b[14:])
    # vlan_insert_fuzz: selector byte (TPID index | headroom << 2), TCI, frame.
    for sel, tci in ((0 | 4 << 2, 0xffff), (1 | 4 << 2, 0x0064), (2 | 7 << 2, 0x2001), (0 | 3 << 2, 1)):
        write("tests/wire/corpus/vlan_insert_fuzz", "%s_%d" % (name, sel), bytes([sel, tci >> 8, tci & 0xff]) + b)
