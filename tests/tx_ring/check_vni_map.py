#!/usr/bin/env python3
"""Checks the VNIs of VXLAN frames captured on the wire against a per-VLAN VNI map.

Usage: check_vni_map.py TRACE.pcap map            prints a map for the trace's first two outer
                                                  VLAN IDs: "vidA=1000,vidB=16777215"
       check_vni_map.py TRACE.pcap WIRE.pcap MAP DEFAULT_VNI
Every wire frame i (Ethernet / IPv4 / UDP / VXLAN, in trace order) must carry trace frame i byte
for byte and the VNI its outer VLAN ID (first 802.1Q/802.1ad/0x9100 tag of the inner frame, 0
when untagged) maps to, DEFAULT_VNI when unmapped. Exits 1 on the first difference.
"""
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        out.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return out


def outer_vid(frame):
    if len(frame) >= 16 and int.from_bytes(frame[12:14], "big") in (0x8100, 0x88A8, 0x9100):
        return int.from_bytes(frame[14:16], "big") & 0xFFF
    return 0


def main():
    trace = frames(sys.argv[1])
    if sys.argv[2] == "map":
        vids = []
        for f in trace:
            v = outer_vid(f)
            if v and v not in vids:
                vids.append(v)
        if len(vids) < 2:
            print("FAIL: fewer than two VLAN IDs in the trace")
            return 1
        print(f"{vids[0]}=1000,{vids[1]}=16777215")
        return 0
    wire = frames(sys.argv[2])
    vmap = {int(k): int(v) for k, v in (kv.split("=") for kv in sys.argv[3].split(","))}
    default = int(sys.argv[4])
    if len(wire) != len(trace):
        print(f"FAIL: {len(wire)} frames on the wire, {len(trace)} in the trace")
        return 1
    counts = {}
    for i, (w, t) in enumerate(zip(wire, trace)):
        if w[12:14] != b"\x08\x00" or w[23] != 17:
            print(f"FAIL: frame {i}: not IPv4/UDP")
            return 1
        ihl = (w[14] & 0x0F) * 4
        vx = w[14 + ihl + 8:14 + ihl + 16]
        if vx[0] != 0x08:
            print(f"FAIL: frame {i}: VXLAN I flag missing")
            return 1
        vni = int.from_bytes(vx[4:7], "big")
        want = vmap.get(outer_vid(t), default)
        if vni != want:
            print(f"FAIL: frame {i} (outer VLAN {outer_vid(t)}): VNI {vni}, want {want}")
            return 1
        if w[14 + ihl + 16:] != t:
            print(f"FAIL: frame {i}: inner frame differs from the trace")
            return 1
        counts[vni] = counts.get(vni, 0) + 1
    if len(counts) < 3:
        print(f"FAIL: only VNIs {sorted(counts)} seen: the map was not exercised")
        return 1
    print(f"{len(wire)} frames, VNIs by outer VLAN as mapped: " +
          ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
