// pktkit-fwd: mirrors captured packets to UDP sensors, VXLAN- or GENEVE-encapsulated
// (see docs/fwd.md).
//
//   pktkit-fwd -r trace.pcap --encap vxlan --vni 42 --dest 10.0.0.5 --dest 10.0.0.6:4789
//   pktkit-fwd -i eth0 --encap geneve --geneve-opt 0x0108:1:0011223344556677 --dest [fd00::5]
//   pktkit-fwd -r trace.pcap --encap geneve --top-speed -w encapsulated.pcap
//
// The program is flags plus wiring (docs/architecture.md): source (pcap file or AF_PACKET ring,
// paced and looped by ReplaySource; a regular file is mapped, see ChooseReadPath) ->
// NormalizeTransform (VXLAN: Ethernet; GENEVE: Ethernet or
// raw IP) -> sink (TunnelSink over sockets, or its whole frames into a PcapSink for -w), driven
// by RunPipeline. Another sink (e.g. a transmit ring) is one more case in OpenSink().
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pktkit/io/af_packet.h"
#include "pktkit/io/normalize_transform.h"
#include "pktkit/io/pcap.h"
#include "pktkit/io/pcap_mmap_reader.h"
#include "pktkit/io/pcap_sink.h"
#include "pktkit/io/replay_source.h"
#include "pktkit/io/run.h"
#include "pktkit/io/tunnel_sink.h"
#include "pktkit/io/tunnel_tx_sink.h"
#include "tools/common/cli.h"
#include "tools/common/fifo.h"
#include "tools/common/metrics.h"
#include "tools/common/privileges.h"
#include "tools/common/progress.h"
#include "tools/common/run_main.h"
#include "tools/common/signals.h"

ABSL_FLAG(std::string, r, "", "read packets from this pcap/pcapng file");
ABSL_FLAG(std::string, i, "", "capture live from this interface (AF_PACKET ring)");
ABSL_FLAG(std::string, bpf, "", "BPF filter expression (libpcap syntax)");
ABSL_FLAG(std::string, encap, "vxlan", "vxlan or geneve");
ABSL_FLAG(uint32_t, vni, 0, "VNI (24 bits)");
ABSL_FLAG(std::string, vni_map, "",
          "per-VLAN VNIs: vid=vni,vid=vni (outer tag's VID; others: --vni)");
ABSL_FLAG(std::string, w, "",
          "write the encapsulated frames (outer Ethernet/IP/UDP) to this pcap "
          "instead of sending them");
ABSL_FLAG(std::string, source_ip, "",
          "-w only: outer source address (default 192.0.2.1 / 2001:db8::1)");
ABSL_FLAG(std::string, port_range, "49152-65535", "outer UDP source ports (RFC 7348 §5)");
ABSL_FLAG(uint64_t, hash_seed, 0, "flow hash seed");
ABSL_FLAG(double, speed, 1.0, "replay at this multiple of the original speed");
ABSL_FLAG(double, pps, 0, "replay at this many packets per second (overrides --speed)");
ABSL_FLAG(bool, top_speed, false, "replay as fast as possible");
ABSL_FLAG(uint64_t, loop, 1, "replay the file this many times (0: until stopped)");
ABSL_FLAG(uint32_t, mtu, 1500, "outer path MTU (IP packet bytes) for the oversize policy");
ABSL_FLAG(std::string, oversize, "fragment",
          "datagrams over --mtu: 'fragment' (send; the kernel fragments the outer IP packet) or "
          "'drop'");
ABSL_FLAG(uint32_t, retries, 3, "retries of a send that failed with ENOBUFS/EAGAIN");
ABSL_FLAG(std::string, sender, "auto",
          "auto (tx_ring where the output interface allows it, else raw if permitted, else udp; "
          "the first line says which and why), "
          "tx_ring (PACKET_TX_RING past the qdisc, outer Ethernet header from the neighbour "
          "table; sendmmsg with the reason where the interface does not allow it), "
          "raw (raw IP socket: the outer source port carries the flow hash; needs CAP_NET_RAW), "
          "udp (plain UDP socket: the kernel picks one source port)");
ABSL_FLAG(std::string, metrics, "", "serve Prometheus metrics on this address (e.g. :9101)");
ABSL_FLAG(std::string, metrics_file, "", "write the final Prometheus text to this file");
ABSL_FLAG(double, progress, 5.0, "seconds between progress lines on stderr (0: none)");

namespace {

using pktkit::ByteSpan;
using pktkit::tools::Counter;
using pktkit::tools::MetricsRegistry;

std::vector<char*> PreParse(int argc, char** argv, std::vector<std::string>* dests,
                            std::vector<std::string>* opts, std::vector<std::string>* storage) {
  storage->reserve(static_cast<size_t>(argc));
  std::vector<char*> out = {argv[0]};
  for (int k = 1; k < argc; ++k) {
    std::string a = argv[k];
    if (a.rfind("--", 0) == 0) {
      const size_t eq = a.find('=');
      std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      for (char& ch : name) ch = ch == '-' ? '_' : ch;
      std::vector<std::string>* dst = name == "dest"         ? dests
                                      : name == "geneve_opt" ? opts
                                                             : nullptr;
      if (dst != nullptr) {
        if (eq != std::string::npos) {
          dst->push_back(a.substr(eq + 1));
        } else if (k + 1 < argc) {
          dst->push_back(argv[++k]);
        }
        continue;
      }
      a = "--" + name + (eq == std::string::npos ? "" : a.substr(eq));
    }
    storage->push_back(a);
    out.push_back(storage->back().data());
  }
  return out;
}

bool ParseHex(const std::string& s, std::vector<uint8_t>* out) {
  std::string h = s.rfind("0x", 0) == 0 ? s.substr(2) : s;
  if (h.size() % 2 != 0) return false;
  for (size_t k = 0; k < h.size(); k += 2) {
    char* end = nullptr;
    const std::string byte = h.substr(k, 2);
    const long v = std::strtol(byte.c_str(), &end, 16);
    if (*end != '\0') return false;
    out->push_back(static_cast<uint8_t>(v));
  }
  return true;
}

// A run-time failure: one line, exit 1 (usage errors go through UsageExit: exit 2).
int Fail(const absl::Status& s) { return pktkit::tools::FatalExit("pktkit-fwd", s); }

// -w: whole encapsulated frames (outer Ethernet/IP/UDP) into a pcap, through the tunnel sink's
// frames mode; otherwise datagrams over sockets (--sender raw|udp|auto).
struct Output {
  std::unique_ptr<pktkit::PcapSink> pcap;  // -w only
  std::unique_ptr<pktkit::TunnelSink> tunnel;
  std::unique_ptr<pktkit::TunnelTxSink> ring;  // --sender tx_ring (then `tunnel` is null)
};

absl::StatusOr<Output> OpenSink(const std::string& wfile,
                                const std::vector<pktkit::TunnelDestination>& dests,
                                const pktkit::TunnelSinkOptions& options) {
  Output out;
  if (!wfile.empty()) {
    pktkit::TunnelFrameOptions frame;
    const std::string s = absl::GetFlag(FLAGS_source_ip);
    if (!s.empty()) {
      absl::StatusOr<pktkit::SocketAddress> a = pktkit::SocketAddress::Parse(s, 0);
      if (!a.ok()) return absl::InvalidArgumentError("bad --source-ip " + s);
      a->CopyIp(a->family() == AF_INET ? frame.source_ipv4 : frame.source_ipv6);
    }
    pktkit::tools::AnnounceFifoWait("pktkit-fwd", wfile);
    pktkit::PcapSinkOptions po;
    po.link_type = pktkit::LinkType::kEthernet;
    auto p = pktkit::PcapSink::Open(wfile, po);
    if (!p.ok()) return p.status();
    out.pcap = std::move(*p);
    auto t = pktkit::TunnelSink::OpenFrames(dests, options, frame, out.pcap.get());
    if (!t.ok()) return t.status();
    out.tunnel = std::move(*t);
    return out;
  }
  const std::string mode = absl::GetFlag(FLAGS_sender);
  if (mode == "tx_ring" || mode == "auto") {
    pktkit::TunnelTxOptions to;
    to.dests = dests;
    to.encap.mode = options.mode;
    to.encap.vni = options.vni;
    to.vni_by_vlan = options.vni_by_vlan;
    to.encap.options = options.geneve_options.data();
    to.encap.option_count = options.geneve_options.size();
    to.hash_seed = options.hash_seed;
    to.src_port_lo = options.source_port_lo;
    to.src_port_hi = options.source_port_hi;
    to.mtu = options.mtu;
    to.drop_oversize = options.drop_oversize;
    to.retries = absl::GetFlag(FLAGS_retries);
    // auto: the ring or nothing here; without it, the socket path below (TunnelSink).
    if (mode == "auto") to.backend = pktkit::TunnelTxOptions::Backend::kTxRing;
    auto r = pktkit::TunnelTxSink::Open(to);
    if (r.ok() && (*r)->using_tx_ring()) {
      std::fprintf(stderr, "pktkit-fwd: sending through the transmit ring on %s%s\n",
                   (*r)->next_hops()[0].ifname.c_str(),
                   (*r)->qdisc_bypass() ? " (qdisc bypass)" : "");
      out.ring = std::move(*r);
      return out;
    }
    if (r.ok() && (*r)->has_tx_ring()) {
      std::fprintf(stderr,
                   "pktkit-fwd: transmit ring on %s waits: %s; sendmmsg until it is resolved\n",
                   (*r)->next_hops()[0].ifname.c_str(), (*r)->fallback_reason().c_str());
      out.ring = std::move(*r);
      return out;
    }
    if (mode == "tx_ring") {
      if (!r.ok()) return r.status();
      std::fprintf(stderr, "pktkit-fwd: no transmit ring, using sendmmsg: %s\n",
                   (*r)->fallback_reason().c_str());
      out.ring = std::move(*r);
      return out;
    }
    std::fprintf(stderr, "pktkit-fwd: %s; using sendmmsg\n",
                 std::string(r.status().message()).c_str());
  }
  pktkit::UdpSenderOptions so;
  if (mode == "raw") {
    so.socket = pktkit::UdpSenderOptions::Socket::kRaw;
  } else if (mode == "udp") {
    so.socket = pktkit::UdpSenderOptions::Socket::kUdp;
  } else if (mode == "auto") {
    so.socket = pktkit::UdpSenderOptions::Socket::kAuto;
  } else {
    return absl::InvalidArgumentError("--sender must be raw, udp, auto or tx_ring");
  }
  so.retries = absl::GetFlag(FLAGS_retries);
  so.allow_fragmentation = !options.drop_oversize;
  auto t = pktkit::TunnelSink::OpenSender(dests, options, so);
  if (!t.ok()) return t.status();
  if (!(*t)->sender()->fallback_reason().empty()) {
    std::fprintf(stderr, "pktkit-fwd: %s\n", (*t)->sender()->fallback_reason().c_str());
  }
  out.tunnel = std::move(*t);
  return out;
}

// How -r is read, and the start-up line that says so.
struct ReadPath {
  bool mapped = false;  // PcapMmapReader; else libpcap (or the live ring for -i)
  std::string line;
};

ReadPath ChooseReadPath(const std::string& rfile, const std::string& iface,
                        const std::string& bpf) {
  if (rfile.empty()) {
    return {false, "capturing live on " + iface + " (AF_PACKET ring" +
                       (bpf.empty() ? std::string(")") : ", BPF filter in the kernel)")};
  }
  if (!bpf.empty()) return {false, "reading " + rfile + " through libpcap (--bpf filters there)"};
  struct stat st;
  if (rfile == "-") return {false, "reading stdin through libpcap (a pipe cannot be mapped)"};
  if (stat(rfile.c_str(), &st) != 0) {  // libpcap's open gives the error message
    return {false, "reading " + rfile + " through libpcap"};
  }
  if (!S_ISREG(st.st_mode)) {
    return {false, "reading " + rfile + " through libpcap (not a regular file: cannot be mapped)"};
  }
  return {true, "reading " + rfile + " mapped (no copy)"};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> dest_texts, opt_texts, storage;
  std::vector<char*> args = PreParse(argc, argv, &dest_texts, &opt_texts, &storage);
  const std::string usage_text =
      "pktkit-fwd (-r file | -i iface) [--encap vxlan|geneve] [--vni N] --dest host[:port]... "
      "[--geneve-opt class:type:hexdata]... [--speed X | --pps N | --top-speed] [--loop N] "
      "[-w out.pcap]";
  pktkit::tools::ParseCommandLine(static_cast<int>(args.size()), args.data(), usage_text);
  pktkit::tools::InstallStopHandlers();

  const std::string rfile = absl::GetFlag(FLAGS_r), iface = absl::GetFlag(FLAGS_i);
  const std::string wfile = absl::GetFlag(FLAGS_w);
  if (rfile.empty() == iface.empty()) {
    return pktkit::tools::UsageExit("pktkit-fwd",
                                    "exactly one of -r <file> or -i <interface> is required");
  }
  pktkit::EncapMode encap;
  const uint16_t default_port = absl::GetFlag(FLAGS_encap) == "geneve" ? 6081 : 4789;
  if (absl::GetFlag(FLAGS_encap) == "vxlan") {
    encap = pktkit::EncapMode::kVxlan;
  } else if (absl::GetFlag(FLAGS_encap) == "geneve") {
    encap = pktkit::EncapMode::kGeneve;
  } else {
    return pktkit::tools::UsageExit("pktkit-fwd", "--encap must be vxlan or geneve");
  }
  if (!pktkit::Vni::IsValid(absl::GetFlag(FLAGS_vni))) {
    return pktkit::tools::UsageExit("pktkit-fwd", "--vni must be below 2^24");
  }
  const pktkit::Vni vni = pktkit::Vni::FromMasked(absl::GetFlag(FLAGS_vni));
  std::vector<std::pair<uint16_t, pktkit::Vni>> vni_map;
  for (const std::string& kv : std::vector<std::string>(
           absl::StrSplit(absl::GetFlag(FLAGS_vni_map), ',', absl::SkipEmpty()))) {
    std::vector<std::string> p = absl::StrSplit(kv, '=');
    uint32_t vid = 0, v = 0;
    if (p.size() != 2 || !absl::SimpleAtoi(p[0], &vid) || !absl::SimpleAtoi(p[1], &v) ||
        vid > 4095 || !pktkit::Vni::IsValid(v)) {
      return pktkit::tools::UsageExit("pktkit-fwd", "bad --vni-map entry " + kv);
    }
    vni_map.emplace_back(static_cast<uint16_t>(vid), pktkit::Vni::FromMasked(v));
  }
  // GENEVE options: class:type:hexdata (data a multiple of 4 bytes).
  std::vector<std::vector<uint8_t>> opt_data(opt_texts.size());
  std::vector<pktkit::GeneveOptionSpec> opts(opt_texts.size());
  for (size_t k = 0; k < opt_texts.size(); ++k) {
    std::vector<std::string> p = absl::StrSplit(opt_texts[k], ':');
    unsigned long cls = 0, type = 0;
    char* e1 = nullptr;
    char* e2 = nullptr;
    if (p.size() == 3) {
      cls = std::strtoul(p[0].c_str(), &e1, 0);
      type = std::strtoul(p[1].c_str(), &e2, 0);
    }
    if (p.size() != 3 || *e1 != '\0' || *e2 != '\0' || cls > 0xffff || type > 0xff ||
        !ParseHex(p[2], &opt_data[k])) {
      return pktkit::tools::UsageExit("pktkit-fwd",
                                      "bad --geneve-opt " + opt_texts[k] +
                                          " (want class:type:hexdata, e.g. 0x0108:1:00112233)");
    }
    opts[k].option_class = static_cast<uint16_t>(cls);
    opts[k].type = static_cast<uint8_t>(type);
    opts[k].data = ByteSpan(opt_data[k].data(), opt_data[k].size());
  }
  size_t opt_bytes = 0;  // TunnelHeaderSize checks the options again when the sink opens
  if (!pktkit::GeneveOptionsSize(opts.data(), opts.size(), &opt_bytes)) {
    return pktkit::tools::UsageExit(
        "pktkit-fwd",
        "GENEVE option data must be a multiple of 4 bytes, at most 124 each, 252 in all");
  }
  if (!opts.empty() && encap != pktkit::EncapMode::kGeneve) {
    return pktkit::tools::UsageExit("pktkit-fwd", "--geneve-opt needs --encap geneve");
  }
  uint32_t lo = 0, hi = 0;
  {
    std::vector<std::string> p = absl::StrSplit(absl::GetFlag(FLAGS_port_range), '-');
    if (p.size() != 2 || !absl::SimpleAtoi(p[0], &lo) || !absl::SimpleAtoi(p[1], &hi) || lo == 0 ||
        hi > 65535 || lo > hi) {
      return pktkit::tools::UsageExit("pktkit-fwd", "bad --port-range (want lo-hi)");
    }
  }
  if (dest_texts.empty()) {
    if (wfile.empty()) {
      return pktkit::tools::UsageExit("pktkit-fwd", "at least one --dest is required");
    }
    dest_texts.push_back("198.51.100.1");  // -w without --dest: a documentation address
  }
  std::vector<pktkit::TunnelDestination> dests;
  for (const std::string& t : dest_texts) {
    absl::StatusOr<pktkit::TunnelDestination> d = pktkit::ParseTunnelDestination(t, default_port);
    if (!d.ok()) {
      return pktkit::tools::UsageExit("pktkit-fwd",
                                      "bad --dest: " + std::string(d.status().message()));
    }
    dests.push_back(*d);
  }
  const std::string oversize = absl::GetFlag(FLAGS_oversize);
  if (oversize != "fragment" && oversize != "drop") {
    return pktkit::tools::UsageExit("pktkit-fwd", "--oversize must be fragment or drop");
  }
  pktkit::ReplayOptions replay;
  replay.speed = absl::GetFlag(FLAGS_speed);
  replay.pps = absl::GetFlag(FLAGS_pps);
  replay.top_speed = absl::GetFlag(FLAGS_top_speed) || rfile.empty();  // -i: only --pps paces
  replay.loops = rfile.empty() ? 1 : absl::GetFlag(FLAGS_loop);
  if (replay.speed <= 0 || replay.pps < 0) {
    return pktkit::tools::UsageExit("pktkit-fwd", "--speed/--pps must be > 0");
  }

  pktkit::TunnelSinkOptions so;
  so.mode = encap;
  so.vni = vni;
  so.vni_by_vlan = vni_map;
  so.geneve_options = opts;
  so.hash_seed = absl::GetFlag(FLAGS_hash_seed);
  so.source_port_lo = static_cast<uint16_t>(lo);
  so.source_port_hi = static_cast<uint16_t>(hi);
  so.mtu = absl::GetFlag(FLAGS_mtu);
  so.drop_oversize = oversize == "drop";

  // Source: a file (paced, looped) or a live interface (paced only by --pps). A regular file
  // is mapped (PcapMmapReader: pcap or pcapng, packets handed on from the mapping, no copy);
  // libpcap (a read(2) and a copy per packet) only where the mapping cannot serve: stdin ("-"),
  // pipes and FIFOs, and --bpf (libpcap compiles and runs the filter for the file).
  const std::string bpf = absl::GetFlag(FLAGS_bpf);
  const ReadPath read_path = ChooseReadPath(rfile, iface, bpf);
  std::fprintf(stderr, "pktkit-fwd: %s\n", read_path.line.c_str());
  auto source = pktkit::ReplaySource::Open(
      [&]() -> absl::StatusOr<std::unique_ptr<pktkit::PacketSource>> {
        if (read_path.mapped) {
          auto r = pktkit::PcapMmapReader::Open(rfile);
          if (!r.ok()) return r.status();
          return std::unique_ptr<pktkit::PacketSource>(std::move(*r));
        }
        if (!rfile.empty()) {
          auto r = pktkit::PcapReader::Open(rfile, bpf);
          if (!r.ok()) return r.status();
          return std::unique_ptr<pktkit::PacketSource>(std::move(*r));
        }
        pktkit::AfPacketConfig cfg;
        cfg.interface = iface;
        cfg.bpf = bpf;
        auto r = pktkit::AfPacketSource::Open(cfg);
        if (!r.ok()) return r.status();
        return std::unique_ptr<pktkit::PacketSource>(std::move(*r));
      },
      replay,
      [&](pktkit::PacketSource* s) -> absl::StatusOr<bool> {
        if (!read_path.mapped) return false;  // libpcap: open the file again
        absl::Status st = static_cast<pktkit::PcapMmapReader*>(s)->Rewind();
        if (!st.ok()) return st;
        return true;  // --loop: the same mapping, pages already touched
      });
  if (!source.ok()) return Fail(source.status());
  absl::StatusOr<Output> out = OpenSink(wfile, dests, so);
  if (!out.ok()) return Fail(out.status());
  // Ethernet stays as it is; cooked (SLL/SLL2), NFLOG and raw input must be IP and becomes raw
  // IP, which GENEVE carries with Protocol Type 0x0800/0x86DD and VXLAN (Ethernet only) behind a
  // synthesized Ethernet header.
  pktkit::NormalizeTransform normalize(pktkit::NormalizeTarget::kEthernetOrRaw);
  pktkit::NormalizeTransform to_ethernet(pktkit::NormalizeTarget::kEthernet);
  {  // everything open: --user, keeping CAP_NET_RAW only for a live -i
    std::vector<cap_value_t> keep;
    if (!iface.empty()) keep.push_back(CAP_NET_RAW);
    absl::Status d = pktkit::tools::DropPrivileges(absl::GetFlag(FLAGS_user), keep);
    if (!d.ok()) return Fail(d);
  }

  // Counters (names are stable, docs/fwd.md), mirrored from the pipeline's stats in one place.
  MetricsRegistry reg;
  pktkit::RunStats run;
  pktkit::PacketSink& sink =
      out->ring != nullptr ? static_cast<pktkit::PacketSink&>(*out->ring) : *out->tunnel;
  auto tunnel_stats = [&out] {
    return out->ring != nullptr ? out->ring->tunnel_stats() : out->tunnel->tunnel_stats();
  };
  pktkit::tools::CounterSync sync;
  sync.Watch(reg.AddCounter("pktkit_fwd_packets_read_total", "packets read from the source"),
             [&] { return run.packets_in; });
  sync.Watch(reg.AddCounter("pktkit_fwd_packets_sent_total", "datagrams sent or written"),
             [&] { return tunnel_stats().packets; });
  sync.Watch(reg.AddCounter("pktkit_fwd_inner_bytes_sent_total", "inner frame bytes sent"),
             [&] { return tunnel_stats().bytes; });
  sync.Watch(reg.AddCounter("pktkit_fwd_synthesized_ethernet_total",
                            "raw-IP packets given an Ethernet header for VXLAN"),
             [&] { return to_ethernet.stats().synthesized; });
  sync.Watch(reg.AddCounter("pktkit_fwd_oversize_packets_total",
                            "datagrams over --mtu (sent and fragmented, or dropped)"),
             [&] { return tunnel_stats().oversize; });
  sync.Watch(reg.AddCounter("pktkit_fwd_send_retries_total", "sends retried after ENOBUFS"),
             [&] { return tunnel_stats().send_retries; });
  if (out->ring != nullptr) {  // the transmit ring's next-hop refreshes
    sync.Watch(reg.AddCounter("pktkit_fwd_next_hop_changes_total",
                              "transmit ring: outer headers rebuilt for a new next-hop address"),
               [&] { return out->ring->detailed_stats().next_hop_changes; });
    sync.Watch(reg.AddCounter("pktkit_fwd_ring_suspensions_total",
                              "transmit ring: moves to sendmmsg because a destination could no "
                              "longer be reached through the ring"),
               [&] { return out->ring->detailed_stats().ring_suspensions; });
  }
  const char* kDropHelp = "packets not forwarded, by cause";
  for (size_t e = 1; e < static_cast<size_t>(pktkit::LinkLayerError::kCount); ++e) {
    sync.Watch(reg.AddCounter(
                   "pktkit_fwd_dropped_packets_total", kDropHelp,
                   {{"cause", pktkit::LinkLayerErrorName(static_cast<pktkit::LinkLayerError>(e))}}),
               [&normalize, &to_ethernet, e] {
                 return normalize.stats().dropped_by[e] + to_ethernet.stats().dropped_by[e];
               });
  }
  for (size_t e = 0; e < static_cast<size_t>(pktkit::TunnelDrop::kCount); ++e) {
    // "unsupported_link_type" is also a normalisation cause: both feed the one series.
    const char* cause = pktkit::TunnelDropName(static_cast<pktkit::TunnelDrop>(e));
    sync.Watch(reg.AddCounter("pktkit_fwd_dropped_packets_total", kDropHelp, {{"cause", cause}}),
               [&tunnel_stats, e] { return tunnel_stats().dropped_by[e]; });
  }
  std::unique_ptr<pktkit::tools::MetricsServer> server;
  if (!absl::GetFlag(FLAGS_metrics).empty()) {
    auto s = pktkit::tools::MetricsServer::Start(&reg, absl::GetFlag(FLAGS_metrics));
    if (!s.ok()) return Fail(s.status());
    server = std::move(*s);
  }
  pktkit::tools::ProgressPrinter progress(&reg, absl::GetFlag(FLAGS_progress), stderr,
                                          "pktkit-fwd");

  pktkit::RunOptions ro;
  ro.on_tick = [&] {
    sync.Sync();
    progress.MaybePrint();
  };
  std::vector<pktkit::PacketTransform*> transforms = {&normalize};
  if (encap == pktkit::EncapMode::kVxlan) transforms.push_back(&to_ethernet);
  const auto start = std::chrono::steady_clock::now();
  absl::Status error = pktkit::RunPipeline(**source, transforms, sink,
                                           pktkit::tools::internal::StopFlag(), ro, &run);
  if (out->pcap != nullptr) {  // keep what was written, also after a damaged input
    absl::Status c = out->pcap->Close(/*commit=*/true);
    if (error.ok()) error = c;
  }
  sync.Sync();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.PrintFinal();
  const pktkit::TunnelSinkStats ts = tunnel_stats();
  std::fprintf(
      stderr,
      "pktkit-fwd: read %llu, sent %llu packets (%llu inner bytes) in %.3f s, %.0f packets/s\n",
      static_cast<unsigned long long>(run.packets_in), static_cast<unsigned long long>(ts.packets),
      static_cast<unsigned long long>(ts.bytes), secs,
      secs > 0 ? static_cast<double>(ts.packets) / secs : 0.0);
  if (!absl::GetFlag(FLAGS_metrics_file).empty()) {
    std::ofstream(absl::GetFlag(FLAGS_metrics_file)) << reg.RenderPrometheus();
  }
  if (!error.ok()) {
    return Fail(absl::Status(error.code(), absl::StrCat(error.message(), " (", run.packets_in,
                                                        " packets read before it)")));
  }
  return 0;
}
