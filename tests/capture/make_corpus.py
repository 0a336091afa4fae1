#!/usr/bin/env python3
"""Writes the seed corpus of tpacket_walker_fuzz: kernel-shaped TPACKET_V3 blocks.

Run once from the repository root: python3 tests/capture/make_corpus.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(__file__), "corpus", "tpacket_walker_fuzz")
DESC = 48          # sizeof(tpacket_block_desc)
HDRLEN = 48 + 20   # TPACKET3_HDRLEN


def align16(n):
    return (n + 15) & ~15


def frame(ethertype, payload):
    return bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]) + struct.pack(">H", ethertype) + bytes(
        i & 0xff for i in range(payload))


def block(packets, seq=1, reserve=0, size=None):
    """packets: list of (frame, status, tci, tpid)."""
    netoff = align16(HDRLEN + 16) + reserve
    mac = netoff - 14
    body = bytearray()
    off = DESC
    offs = []
    for fr, status, tci, tpid in packets:
        total = align16(mac + len(fr))
        offs.append(off)
        off += total
    out = bytearray(DESC)
    for i, (fr, status, tci, tpid) in enumerate(packets):
        total = align16(mac + len(fr))
        nxt = total if i + 1 < len(packets) else 0
        hdr = struct.pack("<IIIIIIHH", nxt, 1, 2, len(fr), len(fr), status, mac, netoff)
        hdr += struct.pack("<IIHH", 0, tci, tpid, 0) + bytes(8)
        sll = struct.pack("<HHiHBB8s", 17, 0, 7, 1, 0, 6, bytes(8))
        pkt = bytearray(total)
        pkt[0:len(hdr)] = hdr
        pkt[48:48 + len(sll)] = sll
        pkt[mac:mac + len(fr)] = fr
        out += pkt
    blk_len = len(out)
    first = DESC if packets else blk_len
    out[0:DESC] = struct.pack("<IIIIIIQIIII", 3, 0, 1, len(packets), first, blk_len, seq, 0, 0, 0, 0)
    if size is not None and size > len(out):
        out += bytes(size - len(out))
    return bytes(out)


VLAN, TPIDV = 1 << 4, 1 << 6
seeds = {
    "one_ipv4": block([(frame(0x0800, 46), 1 << 29, 0, 0)]),
    "three_mixed": block([(frame(0x0800, 46), 0, 0, 0), (frame(0x86dd, 200), 1 << 7, 0, 0),
                          (frame(0x0806, 28), 1 << 3, 0, 0)]),
    "vlan_8100": block([(frame(0x0800, 60), VLAN, 0x0064, 0)]),
    "vlan_88a8_qinq": block([(frame(0x8100, 60), VLAN | TPIDV, 0xe00a, 0x88a8)]),
    "reserve_4": block([(frame(0x0800, 60), VLAN, 5, 0)], reserve=4),
    "empty_block": block([], size=256),
    "runt_tagged": block([(bytes(5), VLAN, 1, 0)]),
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(len(seeds), "seeds in", OUT)
