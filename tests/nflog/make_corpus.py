#!/usr/bin/env python3
"""Writes the seed corpora for nflog_fuzz and message_fuzz (run once from the repo root)."""
import struct, zlib, os

def tlv(t, v, be=False):
    n = 4 + len(v)
    h = struct.pack('>HH' if be else '<HH', n, t)
    return h + v + b'\0' * ((4 - n % 4) % 4)

def record(be=False, payload=b'E\0\0\x14' + b'\0' * 16, prefix=b'pfx\0'):
    return (bytes([2, 0, 0, 5]) + tlv(1, b'\x08\x00\x03\x00', be) + tlv(2, struct.pack('>I', 7), be)
            + tlv(3, struct.pack('>QQ', 1700000000, 123456), be) + tlv(5, struct.pack('>I', 1), be)
            + tlv(10, prefix, be) + tlv(11, struct.pack('>I', 1000), be)
            + tlv(14, struct.pack('>I', 100), be) + tlv(8, struct.pack('>HH', 6, 0) + b'\x01' * 8, be)
            + tlv(16, b'\x02' * 14, be) + tlv(0x8012, b'\0' * 8, be) + tlv(9, payload, be))

d = 'tests/nflog/corpus/nflog_fuzz'
seeds = {
    'le_full': record(),
    'be_full': record(be=True),
    'header_only': bytes([10, 0, 0, 1]),
    'bad_len': bytes([2, 0, 0, 0, 3, 0, 9, 0]),
    'nl_packet': struct.pack('<IHHII', 16 + len(record()), 0x400, 0, 1, 0) + record(),
}
for k, v in seeds.items():
    open(os.path.join(d, k), 'wb').write(v)
pcap = open('../shared/pcaps/nflog-http.pcap', 'rb').read()
caplen = struct.unpack('<I', pcap[24 + 8:24 + 12])[0]
open(os.path.join(d, 'interop_first'), 'wb').write(pcap[24 + 16:24 + 16 + caplen])

def message(kind, recs, flags=0):
    body = b''.join(struct.pack('>qI', ts, len(r)) + r for ts, r in recs)
    packed = body if kind == 1 else zlib.compress(body, 1)
    return struct.pack('>HBBBBHII', 0x4e46, 1, kind, flags, 0, 0, len(recs), len(body)) + packed

d = 'tests/nflog/corpus/message_fuzz'
seeds = {
    'raw_one': message(1, [(1, record())]),
    'raw_two': message(1, [(1, record()), (2, record(be=True))], 1),
    'zlib_three': message(2, [(i, record()) for i in range(3)]),
    'empty_record': message(1, [(0, b'')]),
}
import subprocess
body = b''.join(struct.pack('>qI', i, len(record())) + record() for i in range(2))
packed = subprocess.run(['zstd', '-1', '-c'], input=body, capture_output=True, check=True).stdout
seeds['zstd_two'] = struct.pack('>HBBBBHII', 0x4e46, 1, 3, 0, 0, 0, 2, len(body)) + packed
for k, v in seeds.items():
    open(os.path.join(d, k), 'wb').write(v)
