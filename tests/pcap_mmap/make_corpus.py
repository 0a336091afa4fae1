#!/usr/bin/env python3
"""Writes the seed corpus of pcap_mmap_fuzz: small valid pcap and pcapng files of both byte
orders and timestamp kinds, and a few damaged ones. Run from this folder: ./make_corpus.py"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "pcap_mmap_fuzz")
os.makedirs(OUT, exist_ok=True)

FRAME = bytes.fromhex("0200000000020200000000010800") + bytes(range(46))


def pcap(endian, magic, records, snaplen=65535, linktype=1):
    b = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for sec, frac, data, wire in records:
        b += struct.pack(endian + "IIII", sec, frac, len(data), wire) + data
    return b


def block(endian, btype, body):
    total = 12 + len(body)
    return struct.pack(endian + "II", btype, total) + body + struct.pack(endian + "I", total)


def pad(b):
    return b + bytes((4 - len(b) % 4) % 4)


def pcapng(endian, tsresol=None, linktype=1, snaplen=0):
    shb = struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    opts = b""
    if tsresol is not None:
        opts += struct.pack(endian + "HH", 9, 1) + bytes([tsresol, 0, 0, 0])
        opts += struct.pack(endian + "HHq", 14, 8, 5)  # if_tsoffset 5 s
        opts += struct.pack(endian + "HH", 0, 0)
    idb = struct.pack(endian + "HHI", linktype, 0, snaplen) + opts
    b = block(endian, 0x0A0D0D0A, shb) + block(endian, 1, idb)
    t = 1700000000000000
    b += block(endian, 6, pad(struct.pack(endian + "IIIII", 0, t >> 32, t & 0xFFFFFFFF,
                                          len(FRAME), len(FRAME)) + FRAME))
    b += block(endian, 3, pad(struct.pack(endian + "I", 100) + FRAME))  # simple, snapped
    b += block(endian, 2, pad(struct.pack(endian + "HHIIII", 0, 0, 1, 2, 21, 21) + FRAME[:21]))
    b += block(endian, 5, bytes(8))  # statistics: skipped
    return b


recs = [(1700000000, 1, FRAME, len(FRAME)), (1700000001, 999999, FRAME[:20], 1500),
        (1700000002, 5, b"", 0)]
files = {
    "pcap_le_usec": pcap("<", 0xA1B2C3D4, recs),
    "pcap_be_nsec": pcap(">", 0xA1B23C4D, recs),
    "pcap_snap16": pcap("<", 0xA1B2C3D4, recs, snaplen=16),
    "pcap_raw_ip": pcap("<", 0xA1B2C3D4, [(1, 2, FRAME[14:], 46)], linktype=101),
    "pcap_truncated": pcap("<", 0xA1B2C3D4, recs)[:-10],
    "pcap_huge_caplen": pcap("<", 0xA1B2C3D4, [(1, 2, b"", 0)])[:-8] + struct.pack("<II", 1 << 30, 1),
    "pcapng_le": pcapng("<"),
    "pcapng_be_msec": pcapng(">", tsresol=3),
    "pcapng_le_pow2": pcapng("<", tsresol=0x80 | 20),
    "pcapng_over_snaplen": pcapng("<", snaplen=32),
    "pcapng_truncated": pcapng("<")[:-7],
    "pcapng_two_sections": pcapng("<") + pcapng(">", linktype=101),
}
for name, data in files.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print("wrote", len(files), "seeds to", OUT)
