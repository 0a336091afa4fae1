// pktkit-recv: receive VXLAN/GENEVE (or raw UDP) tunnel traffic and write the inner packets to
// a nanosecond pcap; or decapsulate a capture of tunnel traffic offline (-r). See docs/recv.md.
//
//   pktkit-recv -i udp::0.0.0.0:4789:vxlan -w out.pcap [--workers 2] [--receiver io_uring] [bpf]
//   pktkit-recv -r tunnel.pcap --encap geneve -w - 'tcp port 80'
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pktkit/io/bpf.h"
#include "pktkit/io/pcap.h"
#include "pktkit/io/udp_tunnel_source.h"
#include "pktkit/spec/interface_spec.h"
#include "pktkit/wire/decap.h"
#include "tools/common/metrics.h"
#include "tools/common/progress.h"
#include "tools/common/signals.h"
#include "tools/common/cli.h"
#include "tools/common/privileges.h"

ABSL_FLAG(std::string, i, "", "tunnel endpoint udp::<addr>:<port>[:<encap>][:dlt=...]");
ABSL_FLAG(std::string, r, "", "read a capture of tunnel traffic instead of a socket");
ABSL_FLAG(std::string, encap, "", "-r: vxlan (default) | geneve | geneve+vxlan | raw | skip=N");
ABSL_FLAG(int, port, -1, "-r: outer UDP destination port (-1: 4789 vxlan, 6081 geneve; 0: any)");
ABSL_FLAG(std::string, dlt, "", "raw/skip=N: inner link type en10mb | raw | ppp");
ABSL_FLAG(std::string, w, "", "pcap file to write (nanosecond); - for stdout (required)");
ABSL_FLAG(int64_t, c, 0, "stop after writing this many packets (0: until SIGINT/SIGTERM/EOF)");
ABSL_FLAG(int64_t, vni, -1, "write only packets of this VNI");
ABSL_FLAG(
    std::string, receiver, "recvmmsg",
    "recvmmsg | io_uring (multishot; falls back to recvmmsg) | io_uring-recvmsg (no multishot)");
ABSL_FLAG(int, workers, 1, "SO_REUSEPORT sockets, one thread each (one serialized writer)");
ABSL_FLAG(int, rcvbuf_mb, 16, "socket receive buffer, MiB (0: kernel default)");
ABSL_FLAG(int, max_datagram, 9216, "receive slot size; larger datagrams count as truncated");
ABSL_FLAG(std::string, metrics, "", "serve Prometheus counters at addr:port (GET /metrics)");
ABSL_FLAG(double, stats_interval, 5.0, "seconds between counter lines on stderr (0: only at exit)");

namespace pktkit {
namespace {

using tools::Counter;
using tools::MetricsRegistry;

struct Counters {
  explicit Counters(MetricsRegistry* m) : reg(m) {
    received = m->AddCounter("pktkit_recv_datagrams_total", "Datagrams (or frames) received");
    decapsulated = m->AddCounter("pktkit_recv_decapsulated_total", "Inner packets decapsulated");
    truncated = m->AddCounter("pktkit_recv_truncated_total", "Datagrams larger than the slot");
    overflow = m->AddCounter("pktkit_recv_socket_overflow_total",
                             "Datagrams dropped in the socket queue (SO_RXQ_OVFL)");
    filtered = m->AddCounter("pktkit_recv_filtered_total", "Inner packets rejected by BPF/--vni");
    written = m->AddCounter("pktkit_recv_written_total", "Inner packets written to the pcap");
    link_mismatch = m->AddCounter("pktkit_recv_link_type_mismatch_total",
                                  "Inner packets whose link type differs from the pcap's");
    no_timestamp = m->AddCounter("pktkit_recv_no_timestamp_total", "User-space timestamps used");
    no_buffers = m->AddCounter("pktkit_recv_no_buffers_total", "io_uring ENOBUFS completions");
    for (size_t e = 1; e < static_cast<size_t>(DecapError::kCount); ++e) {
      malformed[e] = m->AddCounter("pktkit_recv_malformed_total", "Datagrams that failed decap",
                                   {{"reason", DecapErrorName(static_cast<DecapError>(e))}});
    }
  }
  Counter* Vni(uint32_t vni) {
    return reg->AddCounter("pktkit_recv_vni_packets_total", "Inner packets by VNI",
                           {{"vni", std::to_string(vni)}});
  }
  MetricsRegistry* reg;
  Counter *received, *decapsulated, *truncated, *overflow, *filtered, *written, *link_mismatch,
      *no_timestamp, *no_buffers;
  Counter* malformed[static_cast<size_t>(DecapError::kCount)] = {};
};

// The serialized output: VNI filter, BPF on the inner packet, the pcap, -c.
class Output {
 public:
  // With `follow_first` the pcap's link type is the first written packet's (GENEVE carries
  // Ethernet or raw IP); the file is opened then (or at Finish with `lt`).
  Output(std::string path, LinkType lt, bool follow_first, std::string bpf, int64_t vni,
         int64_t limit, Counters* c)
      : path_(std::move(path)),
        lt_(lt),
        follow_first_(follow_first),
        bpf_expr_(std::move(bpf)),
        vni_(vni),
        limit_(limit),
        c_(c) {}

  absl::Status OpenNow() {
    auto w = PcapWriter::Open(path_, lt_);
    if (!w.ok()) return w.status();
    writer_ = std::move(*w);
    if (!bpf_expr_.empty()) {
      absl::StatusOr<BpfFilter> f = BpfFilter::Compile(bpf_expr_, lt_);
      if (!f.ok()) return f.status();
      bpf_ = std::make_unique<BpfFilter>(std::move(*f));
    }
    return absl::OkStatus();
  }

  // Per worker: the per-VNI counter cache (lookups in the registry only on a miss).
  using VniCache = std::unordered_map<uint32_t, Counter*>;

  void WriteBatch(const PacketBatch& batch, VniCache* cache) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const PacketView& p : batch) {
      if (done_.load(std::memory_order_relaxed)) return;
      if (p.tunnel.vni.has_value()) {
        const uint32_t v = p.tunnel.vni.value().value();
        Counter*& vc = (*cache)[v];
        if (vc == nullptr) vc = c_->Vni(v);
        vc->Add();
        if (vni_ >= 0 && v != static_cast<uint32_t>(vni_)) {
          c_->filtered->Add();
          continue;
        }
      } else if (vni_ >= 0) {
        c_->filtered->Add();
        continue;
      }
      if (writer_ == nullptr) {
        if (follow_first_) lt_ = p.link_type;
        absl::Status os = OpenNow();
        if (!os.ok()) {
          error_ = os;
          done_ = true;
          return;
        }
      }
      if (p.link_type != lt_) {
        c_->link_mismatch->Add();
        continue;
      }
      if (bpf_ != nullptr && !bpf_->Matches(p.bytes(), p.wire_len)) {
        c_->filtered->Add();
        continue;
      }
      absl::Status s = writer_->Write(p.bytes(), p.wire_len, p.timestamp_ns);
      if (!s.ok()) {
        if (error_.ok()) error_ = s;
        done_ = true;
        return;
      }
      c_->written->Add();
      if (limit_ > 0 && ++count_ >= limit_) done_ = true;
    }
  }
  bool done() const { return done_.load(std::memory_order_relaxed); }
  absl::Status Finish() {
    std::lock_guard<std::mutex> lock(mu_);
    if (writer_ == nullptr && error_.ok()) error_ = OpenNow();
    if (writer_ == nullptr) return error_;
    absl::Status s = writer_->Close();
    return error_.ok() ? s : error_;
  }
  void Flush() {
    std::lock_guard<std::mutex> lock(mu_);
    if (writer_ != nullptr) writer_->Flush().IgnoreError();
  }

 private:
  std::mutex mu_;
  std::string path_;
  std::unique_ptr<PcapWriter> writer_;
  LinkType lt_;
  bool follow_first_;
  std::string bpf_expr_;
  std::unique_ptr<BpfFilter> bpf_;
  int64_t vni_;
  int64_t limit_;
  int64_t count_ = 0;
  Counters* c_;
  std::atomic<bool> done_{false};
  absl::Status error_;
};

LinkType OutputLinkType(const DecapConfig& cfg) {
  return cfg.mode == EncapMode::kRaw || cfg.mode == EncapMode::kSkip ? cfg.raw_link_type
                                                                     : LinkType::kEthernet;
}

// Adds the growth of a receiver's counters since the last call.
void Publish(const UdpReceiverStats& s, UdpReceiverStats* last, Counters* c) {
  c->received->Add(s.datagrams - last->datagrams);
  c->decapsulated->Add(s.decapsulated - last->decapsulated);
  c->truncated->Add(s.truncated - last->truncated);
  c->overflow->Add(s.socket_overflow - last->socket_overflow);
  c->no_timestamp->Add(s.no_timestamp - last->no_timestamp);
  c->no_buffers->Add(s.no_buffers - last->no_buffers);
  for (size_t e = 1; e < static_cast<size_t>(DecapError::kCount); ++e) {
    c->malformed[e]->Add(s.malformed_by[e] - last->malformed_by[e]);
  }
  *last = s;
}

absl::Status RunLive(const InterfaceSpec& spec, Output* out, Counters* c,
                     tools::ProgressPrinter* progress) {
  const std::string kind_name = absl::GetFlag(FLAGS_receiver);
  UdpReceiverKind kind;
  if (kind_name == "recvmmsg") {
    kind = UdpReceiverKind::kRecvmmsg;
  } else if (kind_name == "io_uring" || kind_name == "io_uring-recvmsg") {
    kind = UdpReceiverKind::kIoUring;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("bad --receiver '", kind_name, "'"));
  }
  const int workers = absl::GetFlag(FLAGS_workers);
  if (workers < 1 || workers > 64) return absl::InvalidArgumentError("--workers must be 1..64");
  UdpSocketOptions so;
  so.receive_buffer_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_rcvbuf_mb)) << 20;
  so.reuse_port = workers > 1;
  UdpReceiverOptions ro;
  ro.decap = spec.decap;
  ro.max_datagram = static_cast<size_t>(absl::GetFlag(FLAGS_max_datagram));
  ro.uring_multishot = kind_name != "io_uring-recvmsg";
  std::vector<std::unique_ptr<UdpReceiver>> receivers;
  SocketAddress addr = spec.address;
  for (int w = 0; w < workers; ++w) {
    std::string note;
    auto r = OpenUdpReceiver(addr, kind, so, ro, &note);
    if (!r.ok()) return r.status();
    if (!note.empty() && w == 0) std::fprintf(stderr, "pktkit-recv: %s\n", note.c_str());
    receivers.push_back(std::move(*r));
  }
  // Sockets open: no root from here on (--user); a UDP receiver needs no capability.
  if (absl::Status d = tools::DropPrivileges(absl::GetFlag(FLAGS_user)); !d.ok()) return d;
  std::fprintf(stderr, "pktkit-recv: listening on %s (%s, %s, %d worker%s)\n",
               addr.ToString().c_str(), spec.encap_name.c_str(), receivers[0]->backend(), workers,
               workers == 1 ? "" : "s");
  std::atomic<bool> failed{false};
  absl::Status first_error;
  std::mutex err_mu;
  std::vector<std::thread> threads;
  for (auto& rp : receivers) {
    UdpReceiver* r = rp.get();
    threads.emplace_back([r, out, c, &failed, &first_error, &err_mu] {
      Output::VniCache cache;
      UdpReceiverStats last;
      while (!tools::StopRequested() && !out->done() && !failed) {
        absl::StatusOr<PacketBatch> b = r->NextBatch(100);
        if (!b.ok()) {
          std::lock_guard<std::mutex> lock(err_mu);
          if (first_error.ok()) first_error = b.status();
          failed = true;
          break;
        }
        if (!b->empty()) out->WriteBatch(*b, &cache);
        r->ReleaseBatch();
        Publish(r->stats(), &last, c);
      }
      Publish(r->stats(), &last, c);
    });
  }
  while (!tools::StopRequested() && !out->done() && !failed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    progress->MaybePrint();
    out->Flush();
  }
  for (auto& t : threads) t.join();
  return first_error;
}

absl::Status RunOffline(const std::string& path, const DecapConfig& cfg, int port, Output* out,
                        Counters* c, tools::ProgressPrinter* progress) {
  auto reader = PcapReader::Open(path);
  if (!reader.ok()) return reader.status();
  Output::VniCache cache;
  std::vector<PacketView> views(PcapReader::kMaxBatch);
  while (!tools::StopRequested() && !out->done()) {
    absl::StatusOr<PacketBatch> b = (*reader)->NextBatch(0);
    if (absl::IsOutOfRange(b.status())) break;
    if (!b.ok()) return b.status();
    size_t n = 0;
    for (const PacketView& f : *b) {
      c->received->Add();
      DecapResult r = DecapsulateFrame(f.bytes(), f.link_type, static_cast<uint16_t>(port), cfg);
      if (r.error != DecapError::kOk) {
        c->malformed[static_cast<size_t>(r.error)]->Add();
        continue;
      }
      c->decapsulated->Add();
      PacketView& v = views[n++];
      v = f;
      v.data = r.inner.data;
      v.caplen = static_cast<uint32_t>(r.inner.size);
      // A frame cut short by the capture's snaplen keeps its missing tail in wire_len.
      v.wire_len = v.caplen + (f.wire_len > f.caplen ? f.wire_len - f.caplen : 0);
      v.link_type = r.link_type;
      v.tunnel = r.meta;
    }
    out->WriteBatch(PacketBatch{views.data(), n}, &cache);
    (*reader)->ReleaseBatch();
    progress->MaybePrint();
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  const std::string usage_text =
      "pktkit-recv -i udp::<addr>:<port>[:<encap>][:dlt=..] | -r <capture> [--encap E] "
      "-w <out.pcap|-> [-c N] [--vni N] [bpf expression on the inner packets]";
  // "-w -" is meant (abseil would warn that "-" looks like a flag): glue it as "-w=-".
  std::vector<std::string> args(argv, argv + argc);
  for (size_t k = 0; k + 1 < args.size(); ++k) {
    if ((args[k] == "-w" || args[k] == "--w") && args[k + 1] == "-") {
      args[k] += "=-";
      args.erase(args.begin() + static_cast<long>(k) + 1);
    }
  }
  std::vector<char*> cargv;
  for (std::string& a : args) cargv.push_back(a.data());
  std::vector<char*> rest = pktkit::tools::ParseCommandLine(static_cast<int>(cargv.size()),
                                                            cargv.data(), usage_text);
  std::vector<std::string> words(rest.begin() + 1, rest.end());
  const std::string bpf_expr = absl::StrJoin(words, " ");
  const std::string in = absl::GetFlag(FLAGS_i), rd = absl::GetFlag(FLAGS_r);
  const std::string wpath = absl::GetFlag(FLAGS_w);
  if ((in.empty() == rd.empty()) || wpath.empty()) {
    std::fprintf(stderr, "pktkit-recv: need exactly one of -i / -r, and -w (see --help)\n");
    return 2;
  }
  InterfaceSpec spec;
  if (!in.empty()) {
    absl::StatusOr<InterfaceSpec> s = ParseInterfaceSpec(in);
    if (!s.ok() || s->kind != InterfaceKind::kUdp) {
      std::fprintf(
          stderr, "pktkit-recv: %s\n",
          s.ok() ? "-i needs a udp:: interface" : std::string(s.status().message()).c_str());
      return 2;
    }
    spec = *s;
  } else {
    const std::string e = absl::GetFlag(FLAGS_encap).empty() ? "vxlan" : absl::GetFlag(FLAGS_encap);
    if (!ParseEncapMode(e.c_str(), &spec.decap)) {
      std::fprintf(stderr, "pktkit-recv: bad --encap '%s'\n", e.c_str());
      return 2;
    }
    spec.encap_name = e;
  }
  const std::string dlt = absl::GetFlag(FLAGS_dlt);
  if (!dlt.empty() && !ParseDltName(dlt, &spec.decap.raw_link_type)) {
    std::fprintf(stderr, "pktkit-recv: bad --dlt '%s'\n", dlt.c_str());
    return 2;
  }
  const int64_t vni = absl::GetFlag(FLAGS_vni);
  if (vni >= 0 && !Vni::IsValid(static_cast<uint64_t>(vni))) {
    std::fprintf(stderr, "pktkit-recv: --vni %lld out of range\n", static_cast<long long>(vni));
    return 2;
  }
  const LinkType lt = OutputLinkType(spec.decap);
  // GENEVE's inner link type follows its Protocol Type: unless dlt= says, the first packet picks.
  const bool follow_first =
      spec.decap.mode == EncapMode::kGeneve && dlt.empty() && in.find("dlt=") == std::string::npos;
  const LinkType fixed_lt =
      spec.decap.mode == EncapMode::kGeneve && !follow_first ? spec.decap.raw_link_type : lt;
  if (!bpf_expr.empty()) {
    absl::StatusOr<BpfFilter> f = BpfFilter::Compile(bpf_expr, fixed_lt);  // syntax check now
    if (!f.ok()) {
      std::fprintf(stderr, "pktkit-recv: %s\n", std::string(f.status().message()).c_str());
      return 2;
    }
  }
  tools::InstallStopHandlers();
  MetricsRegistry registry;
  Counters counters(&registry);
  std::unique_ptr<tools::MetricsServer> server;
  if (!absl::GetFlag(FLAGS_metrics).empty()) {
    auto s = tools::MetricsServer::Start(&registry, absl::GetFlag(FLAGS_metrics));
    if (!s.ok()) {
      std::fprintf(stderr, "pktkit-recv: %s\n", std::string(s.status().message()).c_str());
      return 1;
    }
    server = std::move(*s);
    std::fprintf(stderr, "pktkit-recv: metrics on port %u\n", server->port());
  }
  tools::ProgressPrinter progress(&registry, absl::GetFlag(FLAGS_stats_interval), stderr,
                                  "pktkit-recv");
  Output out(wpath, fixed_lt, follow_first, bpf_expr, vni, absl::GetFlag(FLAGS_c), &counters);
  if (!follow_first) {
    if (absl::Status os = out.OpenNow(); !os.ok()) {
      std::fprintf(stderr, "pktkit-recv: %s\n", std::string(os.message()).c_str());
      return 1;
    }
  }
  absl::Status st;
  if (!in.empty()) {
    st = RunLive(spec, &out, &counters, &progress);
  } else {
    int port = absl::GetFlag(FLAGS_port);
    if (port < 0)
      port = spec.decap.mode == EncapMode::kVxlan ? 4789
             : (spec.decap.mode == EncapMode::kGeneve || spec.decap.mode == EncapMode::kGeneveVxlan)
                 ? 6081
                 : 0;
    st = RunOffline(rd, spec.decap, port, &out, &counters, &progress);
  }
  absl::Status fin = out.Finish();
  progress.PrintFinal();
  if (!st.ok()) {
    std::fprintf(stderr, "pktkit-recv: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  if (!fin.ok()) {
    std::fprintf(stderr, "pktkit-recv: %s\n", std::string(fin.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace pktkit

int main(int argc, char** argv) { return pktkit::Main(argc, argv); }
