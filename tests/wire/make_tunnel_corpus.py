#!/usr/bin/python3
"""Writes the seed corpora of the tunnel fuzz targets (vxlan_fuzz, geneve_fuzz, decap_fuzz,
encap_fuzz) from the shared real captures (../shared/pcaps) plus a few scapy-built AWS GWLB
geneve+vxlan datagrams. Run once from the repository root; the output files are committed.

  /usr/bin/python3 tests/wire/make_tunnel_corpus.py  (Debian python3-scapy) ../shared/pcaps
"""
import os
import sys

from scapy.all import UDP, IP, IPv6, Ether, TCP, Raw, rdpcap, raw  # noqa: E402

OUT = "tests/wire/corpus"


def udp_payloads(path, limit):
    out = []
    for p in rdpcap(path):
        if UDP in p:
            out.append(bytes(p[UDP].payload))
        if len(out) >= limit:
            break
    return out


def frames(path, limit):
    return [raw(p) for p in rdpcap(path)[:limit]]


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gwlb(inner_v6, outer_v6):
    """GENEVE (proto IPv4/IPv6, AWS class 0x0108 options) -> IP -> UDP 4789 -> VXLAN -> Ether."""
    inner_eth = raw(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                    IP(src="10.1.0.1", dst="10.1.0.2") / TCP(sport=1234, dport=80) / Raw(b"GET /"))
    vxlan = bytes([0x08, 0, 0, 0, 0x00, 0x01, 0x2c, 0]) + inner_eth  # VNI 300
    ip = (IPv6(src="fd00::10", dst="fd00::20") if inner_v6 else IP(src="10.9.0.1", dst="10.9.0.2"))
    mid = raw(ip / UDP(sport=40000, dport=4789) / Raw(vxlan))
    opts = (bytes([0x01, 0x08, 0x01, 0x02]) + bytes(range(8)) +       # GWLB endpoint id
            bytes([0x01, 0x08, 0x02, 0x02]) + bytes(range(8, 16)) +   # attachment id
            bytes([0x01, 0x08, 0x03, 0x01]) + bytes([0xc0, 0xff, 0xee, 0x01]))  # flow cookie
    proto = 0x86DD if inner_v6 else 0x0800
    gen = bytes([len(opts) // 4, 0, proto >> 8, proto & 0xff, 0x00, 0x00, 0x07, 0]) + opts + mid
    outer = IPv6(src="fd00::1", dst="fd00::2") if outer_v6 else IP(src="10.0.0.1", dst="10.0.0.2")
    return gen, raw(Ether() / outer / UDP(sport=50000, dport=6081) / Raw(gen))


def main():
    pcaps = sys.argv[1] if len(sys.argv) > 1 else "../shared/pcaps"
    vx = udp_payloads(os.path.join(pcaps, "vxlan.pcap"), 3)
    gv = udp_payloads(os.path.join(pcaps, "geneve.pcap"), 2)
    many = udp_payloads(os.path.join(pcaps, "geneve-many-options.pcap"), 1)
    g6 = udp_payloads(os.path.join(pcaps, "geneve-ipv6.pcap"), 1)
    trunc = udp_payloads(os.path.join(pcaps, "geneve-truncated.pcapng"), 1)
    write("vxlan_fuzz", "arp", vx[0])
    write("vxlan_fuzz", "icmp", vx[2])
    write("vxlan_fuzz", "short", vx[0][:7])
    write("vxlan_fuzz", "reserved_bits", bytes([0x88, 1, 2, 3]) + vx[0][4:])
    write("geneve_fuzz", "one_option", gv[0])
    write("geneve_fuzz", "no_options", gv[1])
    write("geneve_fuzz", "many_options", many[0])
    write("geneve_fuzz", "ipv6_inner", g6[0])
    write("geneve_fuzz", "truncated", trunc[0])
    gw4, gw4_frame = gwlb(False, False)
    gw6, gw6_frame = gwlb(True, True)
    write("geneve_fuzz", "gwlb", gw4)
    # decap_fuzz: byte 0 picks the mode (see decap_fuzz.cc), byte 1 a parameter, then data.
    write("decap_fuzz", "vxlan", bytes([0, 0]) + vx[2])
    write("decap_fuzz", "geneve", bytes([1, 0]) + many[0])
    write("decap_fuzz", "geneve_ipv6", bytes([1, 0]) + g6[0])
    write("decap_fuzz", "gwlb_v4", bytes([2, 0]) + gw4)
    write("decap_fuzz", "gwlb_v6", bytes([2, 0]) + gw6)
    write("decap_fuzz", "raw", bytes([3, 0]) + g6[0][8:])
    write("decap_fuzz", "skip", bytes([4, 8]) + vx[2])
    write("decap_fuzz", "frame_vxlan", bytes([5, 0]) + frames(os.path.join(pcaps, "vxlan.pcap"), 3)[2])
    write("decap_fuzz", "frame_geneve", bytes([6, 0]) +
          frames(os.path.join(pcaps, "geneve-many-options.pcap"), 1)[0])
    write("decap_fuzz", "frame_gwlb_v6", bytes([7, 0]) + gw6_frame)
    write("decap_fuzz", "frame_gwlb_v4", bytes([7, 0]) + gw4_frame)
    # encap_fuzz: byte 0 flags, bytes 1-3 VNI, byte 4 option count, then option data and inner.
    write("encap_fuzz", "vxlan_v4", bytes([0x00, 0, 0, 123, 0]) + vx[2][8:])
    write("encap_fuzz", "geneve_v6_opts", bytes([0x03, 0xff, 0xff, 0xff, 3]) + bytes(range(64)))
    write("encap_fuzz", "geneve_v4_nocsum", bytes([0x05, 0, 1, 2, 1]) + bytes(40))


if __name__ == "__main__":
    main()
