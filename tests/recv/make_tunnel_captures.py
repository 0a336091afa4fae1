#!/usr/bin/env python3
"""Writes small captures of VXLAN and GENEVE tunnel traffic for pktkit-recv's file tests, in
every outer link type pktkit reads (Ethernet, raw IP, Linux SLL, Linux SLL2, NFLOG) and one it
does not (PPP), plus the inner frames alone (what decapsulation must give back).

  make_tunnel_captures.py OUTDIR

Writes OUTDIR/{vxlan-eth,vxlan-raw,vxlan-sll,vxlan-sll2,vxlan-nflog,vxlan-ppp,geneve-eth,
  geneve+vxlan-eth}.pcap
and OUTDIR/inner.pcap (microsecond pcap, host byte order; every length field consistent).
"""
import struct
import sys

N = 12


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0,
                    bytes(src), bytes(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def eth(dst, src, etype, payload):
    return bytes(dst) + bytes(src) + struct.pack("!H", etype) + payload


def inner_frame(i):
    size = [60, 98, 200, 400, 600, 800, 1000, 1200, 1300, 1400, 64, 1450][i % 12]
    body = bytes((i * 7 + k) & 0xFF for k in range(size - 14 - 20 - 8))
    ip = ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, udp(40000 + i, 53, body), ident=i)
    return eth([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], 0x0800, ip)


def outer_ip(tunnel_payload, dport):
    return ipv4([192, 0, 2, 1], [192, 0, 2, 2], 17, udp(50000, dport, tunnel_payload))


def vxlan(inner, vni=123):
    return struct.pack("!BBHI", 0x08, 0, 0, vni << 8) + inner


def geneve(inner, vni=7, protocol=0x6558):
    return struct.pack("!BBHI", 0, 0, protocol, vni << 8) + inner


def gwlb(inner):
    """AWS GWLB carrying Traffic Mirroring: GENEVE (IPv4) -> IPv4 -> UDP -> VXLAN -> Ethernet."""
    mirrored = ipv4([172, 16, 0, 1], [172, 16, 0, 2], 17, udp(65000, 4789, vxlan(inner, 99)))
    return geneve(mirrored, 8, 0x0800)


def sll(ip):
    return struct.pack("!HHH8sH", 0, 1, 6, bytes([2, 0, 0, 0, 0, 1, 0, 0]), 0x0800) + ip


def sll2(ip):
    return struct.pack("!HHIHBB8s", 0x0800, 0, 3, 1, 0, 6, bytes([2, 0, 0, 0, 0, 1, 0, 0])) + ip


def nflog(ip):
    # nfgenmsg (AF_INET, v0, group 5), a prefix TLV, the payload TLV; TLV length/type in the
    # host's (little-endian) order as Linux writes them.
    prefix = b"pktkit\0"
    t1 = struct.pack("<HH", 4 + len(prefix), 10) + prefix + b"\0" * ((-len(prefix)) % 4)
    t2 = struct.pack("<HH", 4 + len(ip), 9) + ip + b"\0" * ((-len(ip)) % 4)
    return struct.pack("!BBH", 2, 0, 5) + t1 + t2


def write(path, linktype, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("=IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        for i, fr in enumerate(frames):
            f.write(struct.pack("=IIII", 1700000000 + i, 1000 * i, len(fr), len(fr)))
            f.write(fr)


def main():
    out = sys.argv[1]
    inners = [inner_frame(i) for i in range(N)]
    vx = [outer_ip(vxlan(x), 4789) for x in inners]
    mac = ([2, 0, 0, 0, 0, 0x0B], [2, 0, 0, 0, 0, 0x0A])
    write(out + "/inner.pcap", 1, inners)
    write(out + "/vxlan-eth.pcap", 1, [eth(*mac, 0x0800, p) for p in vx])
    write(out + "/vxlan-raw.pcap", 101, vx)
    write(out + "/vxlan-sll.pcap", 113, [sll(p) for p in vx])
    write(out + "/vxlan-sll2.pcap", 276, [sll2(p) for p in vx])
    write(out + "/vxlan-nflog.pcap", 239, [nflog(p) for p in vx])
    write(out + "/vxlan-ppp.pcap", 9, [b"\xff\x03\x00\x21" + p for p in vx])
    write(out + "/geneve-eth.pcap", 1,
          [eth(*mac, 0x0800, outer_ip(geneve(x), 6081)) for x in inners])
    write(out + "/geneve+vxlan-eth.pcap", 1,
          [eth(*mac, 0x0800, outer_ip(gwlb(x), 6081)) for x in inners])


if __name__ == "__main__":
    main()
