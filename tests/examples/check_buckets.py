#!/usr/bin/env python3
"""Checks flow-buckets' output against the trace that was replayed into the interface.

  check_buckets.py trace.pcap bucket-0.pcap bucket-1.pcap ...

Passes when (1) the multiset of packet bytes over all buckets equals the trace's (nothing lost,
duplicated or altered: VLAN tags the kernel stripped must be back in the bytes) and (2) every
flow -- the unordered address pair plus the upper-layer protocol, the fields pktkit's
fragment-safe symmetric hash reads -- appears in exactly one bucket. A plain pcap reader and a
header walk of its own (not pktkit's), so the check is independent of the code under test.
"""
import collections
import struct
import sys


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise SystemExit(f"{path}: not a pcap file")
    off, packets = 24, []
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        packets.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return packets


IPV6_EXT = {0, 43, 60, 51}  # hop-by-hop, routing, destination options, AH


def flow_of(frame):
    off, ethertype = 12, struct.unpack("!H", frame[12:14])[0]
    while ethertype in (0x8100, 0x88A8, 0x9100) and len(frame) >= off + 6:
        off += 4
        ethertype = struct.unpack("!H", frame[off:off + 2])[0]
    ip = frame[off + 2:]
    if ethertype == 0x0800 and len(ip) >= 20:
        return ("4", tuple(sorted((ip[12:16], ip[16:20]))), ip[9])
    if ethertype == 0x86DD and len(ip) >= 40:
        nh, p = ip[6], 40
        while (nh in IPV6_EXT or nh == 44) and len(ip) >= p + 8:
            if nh == 44:
                nh, p = ip[p], p + 8
            elif nh == 51:
                nh, p = ip[p], p + (ip[p + 1] + 2) * 4
            else:
                nh, p = ip[p], p + (ip[p + 1] + 1) * 8
        return ("6", tuple(sorted((ip[8:24], ip[24:40]))), nh)
    return ("other", ethertype)


def main():
    trace, buckets = sys.argv[1], sys.argv[2:]
    sent = collections.Counter(read_pcap(trace))
    got = collections.Counter()
    flow_buckets = collections.defaultdict(set)
    for i, path in enumerate(buckets):
        pkts = read_pcap(path)
        print(f"{path}: {len(pkts)} packets")
        got.update(pkts)
        for p in pkts:
            flow_buckets[flow_of(p)].add(i)
    ok = True
    if got != sent:
        missing = sum((sent - got).values())
        extra = sum((got - sent).values())
        print(f"FAIL: union of buckets != trace: {sum(sent.values())} sent, "
              f"{sum(got.values())} in buckets, {missing} missing, {extra} extra")
        ok = False
    split = [f for f, b in flow_buckets.items() if len(b) > 1]
    if split:
        print(f"FAIL: {len(split)} flows in more than one bucket, e.g. {split[0]}")
        ok = False
    used = sum(1 for i in range(len(buckets)) if any(i in b for b in flow_buckets.values()))
    if ok:
        print(f"OK: {sum(sent.values())} packets, {len(flow_buckets)} flows, each in one of "
              f"{len(buckets)} buckets ({used} used)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
