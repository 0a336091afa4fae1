#!/usr/bin/env python3
"""Compares the outer frames two tunnel senders put on the wire (two pcap files, same order).

Usage: compare_wire.py A.pcap B.pcap
Every frame must be byte-identical except what the kernel fills on the sendmmsg path: the IPv4
identification (bytes 18-19), flags/fragment offset (20-21) and header checksum (24-25). Both
headers' checksums must verify. Prints the count; exits 1 on the first difference.
"""
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    out = []
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return out


def ip_checksum_ok(hdr):
    s = sum(struct.unpack("!10H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def main():
    a, b = frames(sys.argv[1]), frames(sys.argv[2])
    if len(a) != len(b) or not a:
        print(f"FAIL: {len(a)} frames vs {len(b)}")
        return 1
    for i, (x, y) in enumerate(zip(a, b)):
        if len(x) != len(y):
            print(f"FAIL: frame {i}: {len(x)} bytes vs {len(y)}")
            return 1
        v4 = x[12:14] == b"\x08\x00"
        if v4:
            for f in (x, y):
                if not ip_checksum_ok(f[14:34]):
                    print(f"FAIL: frame {i}: bad IPv4 header checksum")
                    return 1
            mask = lambda f: f[:18] + b"\0\0\0\0" + f[22:24] + b"\0\0" + f[26:]
            x, y = mask(x), mask(y)
        if x != y:
            d = next(k for k in range(len(x)) if x[k] != y[k])
            print(f"FAIL: frame {i} differs at byte {d}: {x[d]:#04x} vs {y[d]:#04x}")
            return 1
    print(f"{len(a)} frames identical (IPv4 id/flags/checksum aside)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
