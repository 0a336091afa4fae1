#!/usr/bin/env python3
"""End-to-end comparisons of issue 14 as whole processes (run by bench/e2e/run.sh, as root, in a
private network namespace it creates itself; nothing leaves it).

  capture  trafgen floods a veth pair (64 B and 1500 B frames); pktkit-capture, tcpdump and
           netsniff-ng (32 MiB ring each) write a pcap to tmpfs. Packets kept (in the file /
           arrived on the interface) and CPU time per kept packet (the capture process's
           user+system time from wait4).
  fwd      500k-packet traces (pktkit-gen udp_fixed, 64/512/1400 B) sent as VXLAN over a veth
           pair into a second namespace whose ingress drops UDP (tc): the bare sendmmsg loop
           (bare-udp send: 4096 prebuilt datagrams, cycled), the same loop over every packet of
           the mapped trace (bare-udp send-trace, a second baseline), pktkit-fwd --top-speed
           with its default sender (the transmit ring on this veth) and with --sender raw
           (raw-socket sendmmsg), TunnelTxSink on the transmit ring and on sendmmsg
           (tx_ring_send), and trafgen with one prebuilt VXLAN
           frame. Packets/s = packets counted arriving on the peer's interface / sender wall time;
           CPU per sent packet.
  recv     loopback, 64 B inner: bare-udp send flat out (CPU 0) into the bare MSG_WAITFORONE
           recvmmsg loop, pktkit-recv --receiver recvmmsg and io_uring (CPU 1). Loss =
           RcvbufErrors / (InDatagrams + RcvbufErrors) of the namespace's /proc/net/snmp.

Every configuration runs REPS times, interleaved (A, B, C, A, B, C, ...), pinned with taskset.
Prints a Markdown table (min / median / max per cell, ratios against the row's baseline
computed per repetition) and writes it, with the raw numbers as JSON, to OUT.
"""
import argparse
import json
import os
import signal
import statistics
import struct
import subprocess
import sys
import time

SHM = "/dev/shm/pktkit-e2e"


def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check, capture_output=True, text=True).stdout


def wait_rusage(p, timeout=60):
    """Waits for Popen p; returns (returncode, user+system seconds)."""
    deadline = time.time() + timeout
    while True:
        try:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: no rusage
            return p.returncode, float("nan")
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return p.returncode, ru.ru_utime + ru.ru_stime
        if time.time() > deadline:
            p.kill()
            deadline = time.time() + 5
        time.sleep(0.02)


def run(cmd, cpu, timeout=120):
    """Runs cmd pinned to cpu; returns (stdout+stderr, wall seconds, cpu seconds)."""
    t0 = time.time()
    with open(f"{SHM}/run.log", "w+") as log:  # a file, not a pipe: the timeout must apply
        p = subprocess.Popen(["taskset", "-c", str(cpu)] + cmd, stdout=log,
                             stderr=subprocess.STDOUT)
        _, cpu_s = wait_rusage(p, timeout)
        wall = time.time() - t0
        log.seek(0)
        return log.read(), wall, cpu_s


def pcap_count(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return 0
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off, n = 24, 0
    while off + 16 <= len(data):
        caplen = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        off += 16 + caplen
        n += 1
    return n


def link_stats(dev, ns_pid=None):
    pre = f"nsenter -t {ns_pid} -n " if ns_pid else ""
    d = json.loads(sh(f"{pre}ip -j -s link show dev {dev}"))[0]["stats64"]
    return d["rx"]["packets"], d["tx"]["packets"]


def snmp_udp():
    lines = [l.split() for l in open("/proc/net/snmp") if l.startswith("Udp:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


def stats3(xs):
    xs = sorted(xs)
    return xs[0], statistics.median(xs), xs[-1]


def fmt3(xs, spec="{:.2f}"):
    if not xs:
        return "—"
    a, b, c = stats3(xs)
    return "/".join(spec.format(v) for v in (a, b, c))


# ---------------------------------------------------------------- capture
def capture(bins, reps, sizes, count):
    sh("ip link add cva type veth peer name cvb && ip link set cva up && ip link set cvb up")
    results = {}
    for size in sizes:
        cfg = f"{SHM}/tg{size}.cfg"
        with open(cfg, "w") as f:
            f.write("{ eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800), "
                    "ipv4(saddr=10.0.0.1, daddr=10.0.0.2, proto=17), udp(sport=1000, dport=2000), "
                    f"fill(0x41, {size - 42}) }}\n")
        out = f"{SHM}/cap.pcap"
        tools = {
            "tcpdump": ["tcpdump", "-i", "cvb", "-B", "32768", "-s", "262144", "-n", "-Z", "root",
                        "-w", out],
            "netsniff-ng": ["netsniff-ng", "--in", "cvb", "--out", out, "--ring-size", "32MiB",
                            "--silent"],
            "pktkit-capture": [bins["capture"], "-i", "cvb", "-w", out, "--buffer_mb", "32",
                               "--stats_interval", "0"],
        }
        if bins.get("capture_old"):  # --capture-old: the tool built from an older tree
            tools["pktkit-capture (before)"] = [bins["capture_old"]] + \
                tools["pktkit-capture"][1:]
        for rep in range(reps):
            for name, cmd in tools.items():
                if os.path.exists(out):
                    os.unlink(out)
                p = subprocess.Popen(["taskset", "-c", "1"] + cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
                time.sleep(1.5)
                rx0, _ = link_stats("cvb")
                _, tg_wall, _ = run(["trafgen", "--dev", "cva", "--conf", cfg, "--num",
                                     str(count), "--cpus", "1"], 0)
                # Every tool gets the same 3 s to drain its ring into the file before SIGINT
                # (netsniff-ng reports what it had not read at exit as lost).
                time.sleep(3.0)
                rx1, _ = link_stats("cvb")
                os.kill(p.pid, signal.SIGINT)  # not send_signal: its poll() would reap p
                _, cpu_s = wait_rusage(p, 30)
                kept = pcap_count(out) if os.path.exists(out) else 0
                arrived = rx1 - rx0
                r = results.setdefault((size, name), {"kept": [], "cpu_ns": [], "offered": []})
                r["kept"].append(kept / arrived if arrived else 0)
                # trafgen's rate: the ring's kernel-side work runs on trafgen's CPU (veth), so
                # the offered rate depends on the capture tool too: read "kept" beside it.
                r["offered"].append(arrived / tg_wall if tg_wall > 0 else 0)
                r["cpu_ns"].append(cpu_s * 1e9 / kept if kept else float("nan"))
                print(f"capture {size} B {name} rep {rep}: kept {kept}/{arrived}, "
                      f"cpu {cpu_s:.3f} s", file=sys.stderr)
    if os.path.exists(f"{SHM}/cap.pcap"):
        os.unlink(f"{SHM}/cap.pcap")
    sh("ip link del cva")
    rows = ["| frame | tool | offered (k packets/s) | packets kept (file / arrived) | "
            "CPU ns per kept packet | CPU per packet vs tcpdump (same rep) |",
            "|---|---|---|---|---|---|"]
    for size in sizes:
        base = results[(size, "tcpdump")]["cpu_ns"]
        for name in tools:
            r = results[(size, name)]
            ratio = [a / b for a, b in zip(r["cpu_ns"], base) if b == b and b > 0]
            rows.append(f"| {size} B | {name} | {fmt3([x / 1e3 for x in r['offered']], '{:.0f}')}"
                        f" | {fmt3(r['kept'], '{:.3f}')} | "
                        f"{fmt3(r['cpu_ns'], '{:.0f}')} | {fmt3(ratio)} |")
    return rows, {f"{k[0]}/{k[1]}": v for k, v in results.items()}


# ---------------------------------------------------------------- forwarding
def ip_checksum(hdr):
    s = sum(struct.unpack(f"!{len(hdr) // 2}H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def vxlan_frame(dst_mac, src_mac, inner_len):
    mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
    inner = mac("02:00:00:00:00:02") + mac("02:00:00:00:00:01") + b"\x08\x00"
    inner += bytes(max(0, inner_len - len(inner)))
    udp_len = 8 + 8 + len(inner)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0, 64, 17, 0,
                               bytes([10, 77, 0, 1]), bytes([10, 77, 0, 2])))
    struct.pack_into("!H", ip, 10, ip_checksum(bytes(ip)))
    udp = struct.pack("!HHHH", 50000, 4789, udp_len, 0)
    return mac(dst_mac) + mac(src_mac) + b"\x08\x00" + bytes(ip) + udp + \
        bytes([8, 0, 0, 0, 0, 0, 42, 0]) + inner


def forwarding(bins, reps, sizes, packets):
    peer = subprocess.Popen(["unshare", "-n", "sleep", "3600"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        return forwarding_in(bins, reps, sizes, packets, peer)
    finally:
        peer.kill()
        peer.wait()


def forwarding_in(bins, reps, sizes, packets, peer):
    time.sleep(0.3)
    P = f"nsenter -t {peer.pid} -n "
    sh("ip link add fva type veth peer name fvb")
    sh(f"ip link set fvb netns {peer.pid}")
    sh("ip addr add 10.77.0.1/24 dev fva && ip link set fva up")
    sh(P + "ip link set lo up && " + P + "ip addr add 10.77.0.2/24 dev fvb && " + P +
       "ip link set fvb up")
    # The peer counts every frame on its interface and drops the tunnel traffic at netdev
    # ingress (nftables; this kernel has no tc actions), before any IP or socket work.
    sh(P + "nft add table netdev e2e && " + P + "nft add chain netdev e2e in '{ type filter "
       "hook ingress device fvb priority 0; }' && " + P +
       "nft add rule netdev e2e in udp dport 4789 drop")
    sh("bash -c 'echo x > /dev/udp/10.77.0.2/9'", check=False)  # ARP fills the neighbour table
    time.sleep(0.5)
    peer_mac = json.loads(sh(P + "ip -j link show dev fvb"))[0]["address"]
    own_mac = json.loads(sh("ip -j link show dev fva"))[0]["address"]
    dest = "10.77.0.2:4789"
    results = {}
    for size in sizes:
        trace = f"{SHM}/fwd{size}.pcap"
        sh(f"{bins['gen']} -w {trace} --kinds udp_fixed --frame_size {size} --flows 0 "
           f"--packets {packets} --vlan_share 0 --qinq_share 0 --ipv6_share 0")
        inner = size - 42
        cfg = f"{SHM}/tgvx{size}.cfg"
        with open(cfg, "w") as f:
            # Static bytes (trafgen's header functions recompute checksums per packet, which
            # made it crawl): the frame a VXLAN sender would build, UDP checksum 0.
            f.write("{ " + ", ".join(f"0x{b:02x}" for b in vxlan_frame(
                peer_mac, own_mac, size)) + " }\n")
        senders = {
            "bare sendmmsg loop": [bins["bare"], "send", trace, dest, "2"],
            # The second baseline: the same loop sending every packet of the trace (3 passes,
            # from the mapping), as a forwarder must; the prebuilt loop's 4096 datagrams stay
            # in the cache, the trace's packets come from memory.
            "bare sendmmsg loop, whole trace": [bins["bare"], "send-trace", trace, dest, "3"],
            # The default sender (auto) takes the transmit ring on this veth.
            "pktkit-fwd --top-speed (default: ring)": [
                bins["fwd"], "-r", trace, "--top-speed", "--loop", "3", "--dest", dest,
                "--progress", "0"],
            "pktkit-fwd --top-speed --sender raw": [
                bins["fwd"], "-r", trace, "--top-speed", "--loop", "3", "--dest", dest,
                "--progress", "0", "--sender", "raw"],
            **({"pktkit-fwd --top-speed (before; default: raw)": [
                bins["fwd_old"], "-r", trace, "--top-speed", "--loop", "3", "--dest", dest,
                "--progress", "0"],
                "pktkit-fwd --top-speed --sender tx_ring (before)": [
                bins["fwd_old"], "-r", trace, "--top-speed", "--loop", "3", "--dest", dest,
                "--progress", "0", "--sender", "tx_ring"]} if bins.get("fwd_old") else {}),
            "TunnelTxSink sendmmsg": [bins["txsend"], trace, dest, "--backend", "sendmmsg",
                                      "--loop", "3"],
            "TunnelTxSink TX ring": [bins["txsend"], trace, dest, "--backend", "tx_ring",
                                     "--loop", "3"],
            "trafgen (one prebuilt frame)": ["trafgen", "--dev", "fva", "--conf", cfg, "--num",
                                             str(3 * packets), "--cpus", "1"],
        }
        senders_order = list(senders)
        for rep in range(reps):
            for name, cmd in senders.items():
                rx0, _ = link_stats("fvb", peer.pid)
                out, wall, cpu_s = run(cmd, 1)
                time.sleep(0.3)
                rx1, _ = link_stats("fvb", peer.pid)
                got = rx1 - rx0
                r = results.setdefault((size, name), {"pps": [], "cpu_ns": [], "log": []})
                r["pps"].append(got / wall)
                r["cpu_ns"].append(cpu_s * 1e9 / got if got else float("nan"))
                r["log"].append(out.strip().splitlines()[-1:] if out.strip() else [])
                print(f"fwd {size} B {name} rep {rep}: {got} in {wall:.2f} s "
                      f"({got / wall:.0f}/s), cpu {cpu_s:.2f} s", file=sys.stderr)
        os.unlink(trace)
    rows = ["| inner frame | sender | packets/s arriving (k) | vs bare loop (same rep) | "
            "vs bare loop, whole trace (same rep) | CPU ns per packet |",
            "|---|---|---|---|---|---|"]
    for size in sizes:
        base = results[(size, "bare sendmmsg loop")]["pps"]
        base_trace = results[(size, "bare sendmmsg loop, whole trace")]["pps"]
        for name in senders_order:
            r = results[(size, name)]
            ratio = [a / b for a, b in zip(r["pps"], base) if b > 0]
            ratio_trace = [a / b for a, b in zip(r["pps"], base_trace) if b > 0]
            rows.append(f"| {size} B | {name} | {fmt3([x / 1e3 for x in r['pps']], '{:.0f}')} | "
                        f"{fmt3(ratio)} | {fmt3(ratio_trace)} | {fmt3(r['cpu_ns'], '{:.0f}')} |")
    return rows, {f"{k[0]}/{k[1]}": v for k, v in results.items()}


# ---------------------------------------------------------------- receive
def receive(bins, reps, sizes, seconds):
    sh("ip link set lo up")
    results = {}
    for size in sizes:
        trace = f"{SHM}/rx{size}.pcap"
        sh(f"{bins['gen']} -w {trace} --kinds udp_fixed --frame_size {size} --flows 0 "
           f"--packets 20000 --vlan_share 0 --qinq_share 0 --ipv6_share 0")
        # The bare loop asks SO_RCVBUFFORCE for 16 MiB and the kernel doubles it (socket(7)):
        # 32 MiB (ss -m: rb33554432). pktkit-recv's --rcvbuf_mb is what the kernel reports, so
        # 32 gives both the same queue.
        common = ["-i", "udp::127.0.0.1:4789:vxlan", "-w", "/dev/null", "--stats_interval", "0",
                  "--rcvbuf_mb", "32"]
        recvs = {
            "bare MSG_WAITFORONE loop": [bins["bare"], "recv", "4789", "1.0"],
            "pktkit-recv recvmmsg": [bins["recv"]] + common + ["--receiver", "recvmmsg"],
            "pktkit-recv io_uring": [bins["recv"]] + common + ["--receiver", "io_uring"],
        }
        if bins.get("recv_old"):  # --recv-old
            recvs["pktkit-recv recvmmsg (before)"] = [bins["recv_old"]] + common + [
                "--receiver", "recvmmsg"]
            recvs["pktkit-recv io_uring (before)"] = [bins["recv_old"]] + common + [
                "--receiver", "io_uring"]
        for rep in range(reps):
            for name, cmd in recvs.items():
                p = subprocess.Popen(["taskset", "-c", "1"] + cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
                time.sleep(1.0)
                s0 = snmp_udp()
                _, wall, _ = run([bins["bare"], "send", trace, "127.0.0.1:4789", str(seconds)], 0)
                time.sleep(1.0)
                s1 = snmp_udp()
                os.kill(p.pid, signal.SIGINT)  # not send_signal: its poll() would reap p
                _, cpu_s = wait_rusage(p, 30)
                got = s1["InDatagrams"] - s0["InDatagrams"]
                lost = s1["RcvbufErrors"] - s0["RcvbufErrors"]
                r = results.setdefault((size, name), {"pps": [], "loss": [], "cpu_ns": []})
                r["pps"].append(got / wall)
                r["loss"].append(lost / (got + lost) if got + lost else 0)
                r["cpu_ns"].append(cpu_s * 1e9 / got if got else float("nan"))
                print(f"recv {size} B {name} rep {rep}: {got} received, {lost} lost, "
                      f"cpu {cpu_s:.2f} s", file=sys.stderr)
        os.unlink(trace)
    rows = ["| inner frame | receiver | datagrams/s received (k) | vs bare loop (same rep) | "
            "loss | CPU ns per datagram |", "|---|---|---|---|---|---|"]
    for size in sizes:
        base = results[(size, "bare MSG_WAITFORONE loop")]["pps"]
        for name in recvs:
            r = results[(size, name)]
            ratio = [a / b for a, b in zip(r["pps"], base) if b > 0]
            rows.append(f"| {size} B | {name} | {fmt3([x / 1e3 for x in r['pps']], '{:.0f}')} | "
                        f"{fmt3(ratio)} | {fmt3([100 * x for x in r['loss']], '{:.1f}%')} | "
                        f"{fmt3(r['cpu_ns'], '{:.0f}')} |")
    return rows, {f"{k[0]}/{k[1]}": v for k, v in results.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="bazel-bin of a --config=bench build")
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--parts", default="capture,fwd,recv")
    ap.add_argument("--capture-packets", type=int, default=1000000)
    ap.add_argument("--fwd-packets", type=int, default=500000)
    ap.add_argument("--fwd-sizes", default="64,512,1400")
    ap.add_argument("--fwd-old", default="",
                    help="another pktkit-fwd binary (e.g. built from an older commit): extra "
                         "'(before)' rows in the same run")
    ap.add_argument("--recv-seconds", type=float, default=3)
    ap.add_argument("--capture-old", default="",
                    help="another pktkit-capture binary: extra '(before)' rows in the same run")
    ap.add_argument("--recv-old", default="",
                    help="another pktkit-recv binary: extra '(before)' rows in the same run")
    a = ap.parse_args()
    b = a.bin
    bins = {"capture": f"{b}/tools/capture/pktkit-capture", "fwd": f"{b}/tools/fwd/pktkit-fwd",
            "recv": f"{b}/tools/recv/pktkit-recv", "gen": f"{b}/tools/gen/pktkit-gen",
            "bare": f"{b}/bench/e2e/bare-udp", "txsend": f"{b}/tests/tx_ring/tx_ring_send",
            "fwd_old": a.fwd_old, "capture_old": a.capture_old, "recv_old": a.recv_old}
    os.makedirs(SHM, exist_ok=True)
    sh("ip link set lo up")
    # No IPv6 in this namespace: no neighbour discovery or MLD frames among the counted ones.
    sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1",
       check=False)
    load = open("/proc/loadavg").read().split()[:3]
    report = [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{os.cpu_count()} CPUs, load average before the run {' '.join(load)}, "
              f"{a.reps} interleaved repetitions, cells min/median/max.", ""]
    raw = {}
    parts = a.parts.split(",")
    if "capture" in parts:
        rows, raw["capture"] = capture(bins, a.reps, [64, 1500], a.capture_packets)
        report += ["Capture (trafgen on CPU 0 into a veth pair, the capture tool on CPU 1, "
                   f"{a.capture_packets} frames per run, pcap written to tmpfs):", ""] + rows + [""]
    if "fwd" in parts:
        sizes = [int(x) for x in a.fwd_sizes.split(",")]
        rows, raw["fwd"] = forwarding(bins, a.reps, sizes, a.fwd_packets)
        report += ["Forwarding (VXLAN over a veth pair into a second namespace that counts and "
                   f"drops at ingress, sender on CPU 1, {a.fwd_packets}-packet traces):", ""]
        report += rows + [""]
    if "recv" in parts:
        rows, raw["recv"] = receive(bins, a.reps, [64], a.recv_seconds)
        report += ["Receive (loopback, bare-udp send flat out on CPU 0 for "
                   f"{a.recv_seconds:g} s, receiver on CPU 1):", ""] + rows + [""]
    text = "\n".join(report)
    print(text)
    with open(a.out, "w") as f:
        f.write(text + "\n")
    with open(a.out + ".json", "w") as f:
        json.dump(raw, f, indent=1)


if __name__ == "__main__":
    main()
