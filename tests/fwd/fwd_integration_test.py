#!/usr/bin/python3
"""pktkit-fwd end to end, checked with an independent decoder (scapy, python3-scapy).

Usage: fwd_integration_test.py <pktkit-fwd> <pktkit-gen>
Covers: GENEVE output (VNI, options, protocol type, inner frames equal to the input), VXLAN
output for raw-IP input (the synthesized Ethernet header), symmetry and stable destination
choice over several destinations, pacing lower bounds, and damaged input files.
"""
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from scapy.all import Ether, IP, IPv6, UDP, rdpcap  # noqa: E402
from scapy.contrib.geneve import GENEVE  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402

FWD, GEN = sys.argv[1], sys.argv[2]
TMP = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()


def run(*args, check=True):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} failed ({p.returncode}): {p.stderr}")
    return p


def gen(name, *extra):
    path = os.path.join(TMP, name)
    run(GEN, "-w", path, *extra)
    return path


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def metric(path, name):
    m = re.search(r"^" + name + r" (\d+)$", read(path), re.M)
    if m is None:
        raise AssertionError(f"{name} not in {path}")
    return int(m.group(1))


def write_raw_pcap(path, packets):
    """A LINKTYPE_RAW (101) pcap, written by hand: scapy's writer insists on Ethernet."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for i, p in enumerate(packets):
            f.write(struct.pack("<IIII", 1700000000, i, len(p), len(p)) + p)


def raw_bytes(pcap):
    return [bytes(p) for p in rdpcap(pcap)]


def flow_id(inner_l3):
    """Unordered address pair + protocol of an IP packet (the forwarder's hash input)."""
    if inner_l3[0] >> 4 == 4:
        a, b, proto = inner_l3[12:16], inner_l3[16:20], inner_l3[9]
    else:
        a, b, proto = inner_l3[8:24], inner_l3[24:40], inner_l3[6]
        if proto == 44:
            proto = inner_l3[40]
    return (min(a, b), max(a, b), proto)


def l3_of_ethernet(frame):
    off, et = 12, int.from_bytes(frame[12:14], "big")
    while et in (0x8100, 0x88A8):
        off += 4
        et = int.from_bytes(frame[off:off + 2], "big")
    return frame[off + 2:]


class FwdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.trace = gen("trace.pcap", "--flows", "200", "--seed", "21", "--ipv6_share", "0.4",
                        "--vlan_share", "0.3", "--qinq_share", "0.2")
        cls.frames = raw_bytes(cls.trace)

    def test_geneve_output_decodes_with_vni_options_and_inner_frames(self):
        out = os.path.join(TMP, "geneve.pcap")
        run(FWD, "-r", self.trace, "--encap", "geneve", "--vni", "123456", "--geneve-opt",
            "0x0108:1:0011223344556677", "--geneve-opt", "0xffff:0x80:deadbeef", "--top-speed",
            "--dest", "[2001:db8::5]", "-w", out)
        pkts = rdpcap(out)
        self.assertEqual(len(pkts), len(self.frames))
        for p, original in zip(pkts, self.frames):
            self.assertIn(IPv6, p)
            self.assertEqual(p[UDP].dport, 6081)
            self.assertTrue(49152 <= p[UDP].sport <= 65535)
            g = p[GENEVE]
            self.assertEqual(g.vni, 123456)
            self.assertEqual(g.proto, 0x6558)
            self.assertEqual(g.optionlen, (4 + 8 + 4 + 4) // 4)
            opts = bytes(p[UDP].payload)[8:8 + 4 * g.optionlen]
            self.assertEqual(opts, bytes.fromhex("0108 01 02 0011223344556677 ffff 80 01 deadbeef"))
            self.assertEqual(bytes(p[UDP].payload)[8 + 4 * g.optionlen:], original)
            # The UDP checksum over IPv6 is mandatory and must be right: let scapy recompute.
            chk = p[UDP].chksum
            q = p.copy()
            del q[UDP].chksum
            self.assertEqual(Ether(bytes(q))[UDP].chksum, chk)

    def test_raw_ip_input_vxlan_synthesizes_ethernet_and_geneve_sets_protocol(self):
        raw = os.path.join(TMP, "raw.pcap")
        l3s = [l3_of_ethernet(f) for f in self.frames]
        write_raw_pcap(raw, l3s)
        vx = os.path.join(TMP, "raw-vxlan.pcap")
        p = run(FWD, "-r", raw, "--encap", "vxlan", "--vni", "7", "--top-speed", "-w", vx,
                "--metrics-file", os.path.join(TMP, "m.txt"))
        pkts = rdpcap(vx)
        self.assertEqual(len(pkts), len(l3s))
        for pk, l3 in zip(pkts, l3s):
            inner = bytes(pk[VXLAN].payload)
            self.assertEqual(pk[VXLAN].vni, 7)
            self.assertEqual(inner[0:12], bytes.fromhex("02706b740002 02706b740001"))
            self.assertEqual(int.from_bytes(inner[12:14], "big"), 0x0800 if l3[0] >> 4 == 4 else 0x86DD)
            self.assertEqual(inner[14:], l3)
        self.assertEqual(metric(os.path.join(TMP, "m.txt"), "pktkit_fwd_synthesized_ethernet_total"),
                         len(l3s))
        gv = os.path.join(TMP, "raw-geneve.pcap")
        run(FWD, "-r", raw, "--encap", "geneve", "--top-speed", "-w", gv)
        for pk, l3 in zip(rdpcap(gv), l3s):
            self.assertEqual(pk[GENEVE].proto, 0x0800 if l3[0] >> 4 == 4 else 0x86DD)
            self.assertEqual(bytes(pk[UDP].payload)[8:], l3)

    def test_both_directions_and_fragments_share_port_and_destination(self):
        out = os.path.join(TMP, "multi.pcap")
        dests = ["192.0.2.10", "192.0.2.11:4790", "192.0.2.12"]
        args = [FWD, "-r", self.trace, "--top-speed", "-w", out, "--port-range", "50000-50999"]
        for d in dests:
            args += ["--dest", d]
        run(*args)
        seen = {}
        used = set()
        for p in rdpcap(out):
            inner = bytes(p[VXLAN].payload)
            key = flow_id(l3_of_ethernet(inner))
            where = (p[IP].dst, p[UDP].dport, p[UDP].sport)
            self.assertTrue(50000 <= p[UDP].sport <= 50999)
            self.assertEqual(seen.setdefault(key, where), where, key)
            used.add(p[IP].dst)
        self.assertEqual(used, {"192.0.2.10", "192.0.2.11", "192.0.2.12"})
        # Adding a fourth destination moves flows only to it.
        out4 = os.path.join(TMP, "multi4.pcap")
        run(*(args[:args.index("-w") + 1] + [out4] + args[args.index("-w") + 2:] + ["--dest", "192.0.2.13"]))
        moved = 0
        for p in rdpcap(out4):
            key = flow_id(l3_of_ethernet(bytes(p[VXLAN].payload)))
            if p[IP].dst != seen[key][0]:
                self.assertEqual(p[IP].dst, "192.0.2.13")
                moved += 1
        self.assertGreater(moved, 0)

    def test_speed_one_takes_at_least_the_trace_duration(self):
        # 400 packets 1 ms apart: 399 ms of trace.
        t = gen("slow.pcap", "--packets", "400", "--flows", "0", "--gap_us", "1000")
        start = time.monotonic()
        run(FWD, "-r", t, "-w", os.path.join(TMP, "slow-out.pcap"))
        self.assertGreaterEqual(time.monotonic() - start, 0.399)
        start = time.monotonic()
        run(FWD, "-r", t, "--speed", "2", "-w", os.path.join(TMP, "slow-out2.pcap"))
        self.assertGreaterEqual(time.monotonic() - start, 0.399 / 2)

    def test_pps_never_exceeds_its_rate(self):
        t = gen("pps.pcap", "--packets", "300", "--flows", "0", "--gap_us", "1")
        start = time.monotonic()
        run(FWD, "-r", t, "--pps", "1000", "--loop", "2", "-w", os.path.join(TMP, "pps-out.pcap"))
        # 600 packets at <= 1000/s: packet k leaves no earlier than k ms after the first.
        self.assertGreaterEqual(time.monotonic() - start, 0.599)
        self.assertEqual(len(rdpcap(os.path.join(TMP, "pps-out.pcap"))), 600)

    def test_truncated_file_reports_error_and_count(self):
        data = read(self.trace, "rb")
        cut = os.path.join(TMP, "cut.pcap")
        with open(cut, "wb") as f:
            f.write(data[:len(data) // 2 + 7])
        p = run(FWD, "-r", cut, "--top-speed", "-w", os.path.join(TMP, "cut-out.pcap"),
                "--metrics-file", os.path.join(TMP, "cut.txt"), check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("damaged after", p.stderr)
        self.assertIn("packets read before it", p.stderr)
        n = metric(os.path.join(TMP, "cut.txt"), "pktkit_fwd_packets_read_total")
        self.assertGreater(n, 0)
        self.assertLess(n, len(self.frames))
        self.assertIn(f"({n} packets read before it)", p.stderr)
        self.assertEqual(len(rdpcap(os.path.join(TMP, "cut-out.pcap"))), n)

    def test_garbage_file_is_a_clear_error(self):
        junk = os.path.join(TMP, "junk.pcap")
        with open(junk, "wb") as f:
            f.write(b"this is not a capture file at all" * 10)
        p = run(FWD, "-r", junk, "--dest", "127.0.0.1", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("cannot read capture", p.stderr)

    def test_vni_map_by_outer_vlan_id(self):
        vids = []
        for f in self.frames:
            if int.from_bytes(f[12:14], "big") in (0x8100, 0x88A8):
                vid = int.from_bytes(f[14:16], "big") & 0xFFF
                if vid not in vids:
                    vids.append(vid)
        self.assertGreaterEqual(len(vids), 2)
        mapping = {vids[0]: 1000, vids[1]: 16777215}
        out = os.path.join(TMP, "vnimap.pcap")
        run(FWD, "-r", self.trace, "--top-speed", "-w", out, "--vni", "5", "--vni-map",
            ",".join(f"{k}={v}" for k, v in mapping.items()))
        hits = 0
        for p in rdpcap(out):
            inner = bytes(p[VXLAN].payload)
            vid = None
            if int.from_bytes(inner[12:14], "big") in (0x8100, 0x88A8):
                vid = int.from_bytes(inner[14:16], "big") & 0xFFF
            self.assertEqual(p[VXLAN].vni, mapping.get(vid, 5))
            hits += vid in mapping
        self.assertGreater(hits, 0)

    def test_bad_flags_are_refused(self):
        for args in (["--encap", "gre"], ["--vni", "16777216"], ["--geneve-opt", "1:2:abc"],
                     ["--encap", "vxlan", "--geneve-opt", "1:2:00000000"], ["--port-range", "9-2"]):
            p = run(FWD, "-r", self.trace, "--dest", "127.0.0.1", *args, check=False)
            self.assertNotEqual(p.returncode, 0, args)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
