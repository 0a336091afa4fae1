// pktkit-recv: receive VXLAN/GENEVE (or raw UDP) tunnel traffic and write the inner packets to
// a nanosecond pcap; or decapsulate a capture of tunnel traffic offline (-r). See docs/recv.md.
//
//   pktkit-recv -i udp::0.0.0.0:4789:vxlan -w out.pcap [--workers 2] [--receiver io_uring] [bpf]
//   pktkit-recv -r tunnel.pcap --encap geneve -w - 'tcp port 80'
//
// The pipeline (pktkit/io/run.h):
//   live:    UDP receiver (decapsulates) -> VNI count -> [VNI filter] -> [BPF] -> pcap sink
//   offline: pcap reader -> link normalisation -> decapsulation -> the same tail
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pktkit/io/decap_transform.h"
#include "pktkit/io/filter_transform.h"
#include "pktkit/io/normalize_transform.h"
#include "pktkit/io/pcap.h"
#include "pktkit/io/pcap_sink.h"
#include "pktkit/io/run.h"
#include "pktkit/io/shared_sink.h"
#include "pktkit/io/udp_tunnel_source.h"
#include "pktkit/spec/interface_spec.h"
#include "pktkit/wire/decap.h"
#include "pktkit/wire/link_layer.h"
#include "tools/common/cli.h"
#include "tools/common/metrics.h"
#include "tools/common/privileges.h"
#include "tools/common/progress.h"
#include "tools/common/run_main.h"
#include "tools/common/signals.h"
#include "tools/recv/vni_counters.h"

ABSL_FLAG(std::string, i, "", "tunnel endpoint udp::<addr>:<port>[:<encap>][:dlt=...]");
ABSL_FLAG(std::string, r, "", "read a capture of tunnel traffic instead of a socket");
ABSL_FLAG(std::string, encap, "", "-r: vxlan (default) | geneve | geneve+vxlan | raw | skip=N");
ABSL_FLAG(int, port, -1, "-r: outer UDP destination port (-1: 4789 vxlan, 6081 geneve; 0: any)");
ABSL_FLAG(std::string, dlt, "", "raw/skip=N: inner link type en10mb | raw | ppp");
ABSL_FLAG(std::string, w, "", "capture file to write (nanosecond); - for stdout (required)");
ABSL_FLAG(std::string, format, "pcap", "-w format: pcap | pcapng");
ABSL_FLAG(int64_t, c, 0, "stop after writing this many packets (0: until SIGINT/SIGTERM/EOF)");
ABSL_FLAG(int64_t, vni, -1, "write only packets of this VNI");
ABSL_FLAG(
    std::string, receiver, "recvmmsg",
    "recvmmsg | io_uring (multishot; falls back to recvmmsg) | io_uring-recvmsg (no multishot)");
ABSL_FLAG(int, workers, 1, "SO_REUSEPORT sockets, one thread each (one serialized writer)");
ABSL_FLAG(int, rcvbuf_mb, 16, "socket receive buffer, MiB (0: kernel default)");
ABSL_FLAG(int, max_datagram, 9216, "receive slot size; larger datagrams count as truncated");
ABSL_FLAG(int, max_vni_series, 256,
          "per-VNI counters for the first N VNIs seen; later VNIs are counted as vni=\"other\"");
ABSL_FLAG(std::string, metrics, "", "serve Prometheus counters at addr:port (GET /metrics)");
ABSL_FLAG(double, stats_interval, 5.0, "seconds between counter lines on stderr (0: only at exit)");

namespace pktkit {
namespace {

constexpr char kProgram[] = "pktkit-recv";

using tools::Counter;
using tools::CounterSync;
using tools::MetricsRegistry;
using recv::BoundedVniCounters;
using recv::VniCountTransform;

struct Counters {
  explicit Counters(MetricsRegistry* m) {
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
    submit_retries = m->AddCounter("pktkit_recv_submit_retries_total",
                                   "io_uring re-arm submits that failed transiently (retried)");
    bad_completions = m->AddCounter("pktkit_recv_bad_completions_total",
                                    "io_uring datagrams whose completion could not be read (lost)");
    for (size_t e = 1; e < static_cast<size_t>(DecapError::kCount); ++e) {
      malformed[e] = m->AddCounter("pktkit_recv_malformed_total", "Datagrams that failed decap",
                                   {{"reason", DecapErrorName(static_cast<DecapError>(e))}});
    }
  }
  // Offline (-r) only: frames cut by the capture's snap length, and link-layer drops.
  void AddOfflineCounters(MetricsRegistry* m) {
    snapped = m->AddCounter("pktkit_recv_snapped_total",
                            "Inner packets cut short by the capture (written with their length)");
    for (size_t e = 1; e < static_cast<size_t>(LinkLayerError::kCount); ++e) {
      link_dropped[e] =
          m->AddCounter("pktkit_recv_link_dropped_total", "Frames whose link layer is unusable",
                        {{"reason", LinkLayerErrorName(static_cast<LinkLayerError>(e))}});
    }
  }
  Counter *received, *decapsulated, *truncated, *overflow, *filtered, *written, *link_mismatch,
      *no_timestamp, *no_buffers, *submit_retries, *bad_completions, *snapped = nullptr;
  Counter* malformed[static_cast<size_t>(DecapError::kCount)] = {};
  Counter* link_dropped[static_cast<size_t>(LinkLayerError::kCount)] = {};
};

// The tail every packet goes through: per-VNI counts, the --vni filter, the BPF expression.
// One per thread (transforms keep per-thread scratch).
struct Tail {
  Tail(BoundedVniCounters* vnis, int64_t vni, const std::string& bpf) : count(vnis) {
    if (vni >= 0) vni_filter = std::make_unique<VniFilterTransform>(Vni::FromMasked(vni));
    if (!bpf.empty()) {
      absl::StatusOr<std::unique_ptr<BpfTransform>> b = BpfTransform::Create(bpf);
      if (b.ok()) bpf_filter = std::move(*b);  // syntax checked in Main
    }
  }
  void AppendTo(std::vector<PacketTransform*>* t) {
    t->push_back(&count);
    if (vni_filter) t->push_back(vni_filter.get());
    if (bpf_filter) t->push_back(bpf_filter.get());
  }
  uint64_t filtered() const {
    return (vni_filter ? vni_filter->filtered() : 0) + (bpf_filter ? bpf_filter->filtered() : 0);
  }
  VniCountTransform count;
  std::unique_ptr<VniFilterTransform> vni_filter;
  std::unique_ptr<BpfTransform> bpf_filter;
};

struct Common {
  MetricsRegistry* registry;
  Counters* counters;
  BoundedVniCounters* vnis;
  int64_t vni;
  std::string bpf;
  PcapSinkOptions sink_options;
  std::string out_path;
  uint64_t max_packets;
  tools::ProgressPrinter* progress;
  bool* started;  // set once input and output are open (no "final" line before that)
};

absl::StatusOr<std::unique_ptr<PcapSink>> OpenSink(const Common& c) {
  PcapSinkOptions o = c.sink_options;
  o.on_fifo_wait = [](const std::string& p) {
    std::fprintf(stderr, "%s: waiting for a reader on FIFO %s\n", kProgram, p.c_str());
  };
  return PcapSink::Open(c.out_path, o);
}

void WatchSink(const PcapSink* sink, const Common& c, CounterSync* sync) {
  sync->Watch(c.counters->written, [sink] { return sink->pcap_stats().packets; });
  sync->Watch(c.counters->link_mismatch,
              [sink] { return sink->pcap_stats().link_type_mismatch; });
}

absl::Status RunLive(const InterfaceSpec& spec, const Common& c) {
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
  SocketAddress bind_to = spec.address;
  for (int w = 0; w < workers; ++w) {
    std::string note;
    auto r = OpenUdpReceiver(bind_to, kind, so, ro, &note);
    if (!r.ok()) return r.status();
    if (!note.empty() && w == 0) std::fprintf(stderr, "%s: %s\n", kProgram, note.c_str());
    // Port 0: the kernel chose one; the other SO_REUSEPORT workers join that port.
    if (w == 0) bind_to = (*r)->local_address();
    receivers.push_back(std::move(*r));
  }
  // The input is open: now the output (never truncate a file for a run that cannot start).
  absl::StatusOr<std::unique_ptr<PcapSink>> sink = OpenSink(c);
  if (!sink.ok()) return sink.status();
  // Sockets and output open: no root from here on (--user); a UDP receiver needs no capability.
  if (absl::Status d = tools::DropPrivileges(absl::GetFlag(FLAGS_user)); !d.ok()) return d;
  *c.started = true;
  SharedSink shared(sink->get(), c.max_packets, [] { tools::RequestStop(); });
  std::fprintf(stderr, "%s: listening on %s (%s, %s, %d worker%s)\n", kProgram,
               bind_to.ToString().c_str(), spec.encap_name.c_str(), receivers[0]->backend(),
               workers, workers == 1 ? "" : "s");
  std::vector<absl::Status> results(receivers.size());
  std::vector<std::thread> threads;
  std::atomic<bool>& stop = tools::internal::StopFlag();
  std::atomic<int> running{workers};
  for (size_t k = 0; k < receivers.size(); ++k) {
    threads.emplace_back([&, k] {
      UdpReceiver* r = receivers[k].get();
      Tail tail(c.vnis, c.vni, c.bpf);
      std::vector<PacketTransform*> transforms;
      tail.AppendTo(&transforms);
      CounterSync sync;  // this worker's stats, synced from this thread
      Counters* n = c.counters;
      sync.Watch(n->received, [r] { return r->stats().datagrams; });
      sync.Watch(n->decapsulated, [r] { return r->stats().decapsulated; });
      sync.Watch(n->truncated, [r] { return r->stats().truncated; });
      sync.Watch(n->overflow, [r] { return r->stats().socket_overflow; });
      sync.Watch(n->no_timestamp, [r] { return r->stats().no_timestamp; });
      sync.Watch(n->no_buffers, [r] { return r->stats().no_buffers; });
      sync.Watch(n->submit_retries, [r] { return r->stats().submit_retries; });
      sync.Watch(n->bad_completions, [r] { return r->stats().bad_completions; });
      for (size_t e = 1; e < static_cast<size_t>(DecapError::kCount); ++e) {
        sync.Watch(n->malformed[e], [r, e] { return r->stats().malformed_by[e]; });
      }
      sync.Watch(n->filtered, [&tail] { return tail.filtered(); });
      RunOptions options;
      options.flush_on_tick = true;
      options.on_tick = [&sync] { sync.Sync(); };
      results[k] = RunPipeline(*r, transforms, shared, stop, options, nullptr);
      sync.Sync();
      if (!results[k].ok()) tools::RequestStop();  // one failing worker ends the run
      --running;
    });
  }
  CounterSync sink_sync;  // the sink is shared: synced from here
  WatchSink(sink->get(), c, &sink_sync);
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    shared.WithLock([&] { sink_sync.Sync(); });  // the workers write the sink under that lock
    c.progress->MaybePrint();
  }
  for (auto& t : threads) t.join();
  absl::Status st;
  for (const absl::Status& s : results) {
    if (st.ok() && !s.ok()) st = s;
  }
  // Live captures cannot be taken again: what reached the file is kept even after an error.
  absl::Status closed = (*sink)->Close(/*commit=*/true);
  sink_sync.Sync();
  return st.ok() ? closed : st;
}

// The most frequent reason frames were dropped at the link layer.
LinkLayerError FirstCause(const NormalizeStats& s) {
  size_t best = 1;
  for (size_t e = 1; e < static_cast<size_t>(LinkLayerError::kCount); ++e) {
    if (s.dropped_by[e] > s.dropped_by[best]) best = e;
  }
  return static_cast<LinkLayerError>(best);
}

absl::Status RunOffline(const std::string& path, const DecapConfig& cfg, int port,
                        const Common& c) {
  absl::StatusOr<std::unique_ptr<PcapReader>> reader = PcapReader::Open(path);
  if (!reader.ok()) return reader.status();
  const LinkType outer = (*reader)->link_type();
  if (!IsKnownLinkType(outer)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": link type ", static_cast<int>(outer),
        " is not one pktkit-recv reads (Ethernet, raw IP, Linux SLL, Linux SLL2, NFLOG)"));
  }
  if (IsSameFile(path, c.out_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "-r and -w name the same file (", path, "): refusing to overwrite the input"));
  }
  // The input is readable and of a known link type: now the output.
  absl::StatusOr<std::unique_ptr<PcapSink>> sink = OpenSink(c);
  if (!sink.ok()) return sink.status();
  *c.started = true;
  Counters* n = c.counters;
  n->AddOfflineCounters(c.registry);
  NormalizeTransform normalize(NormalizeTarget::kEthernetOrRaw);
  DecapTransform decap(cfg, static_cast<uint16_t>(port));
  Tail tail(c.vnis, c.vni, c.bpf);
  std::vector<PacketTransform*> transforms = {&normalize, &decap};
  tail.AppendTo(&transforms);
  CounterSync sync;
  PcapReader* r = reader->get();
  PcapSink* s = sink->get();
  sync.Watch(n->received, [r] { return r->packets_read(); });
  sync.Watch(n->decapsulated, [&decap] { return decap.stats().decapsulated; });
  sync.Watch(n->snapped, [&decap] { return decap.stats().snapped; });
  for (size_t e = 1; e < static_cast<size_t>(DecapError::kCount); ++e) {
    sync.Watch(n->malformed[e], [&decap, e] { return decap.stats().malformed_by[e]; });
  }
  for (size_t e = 1; e < static_cast<size_t>(LinkLayerError::kCount); ++e) {
    sync.Watch(n->link_dropped[e], [&normalize, e] { return normalize.stats().dropped_by[e]; });
  }
  sync.Watch(n->filtered, [&tail] { return tail.filtered(); });
  WatchSink(s, c, &sync);
  RunOptions options;
  options.max_packets = c.max_packets;
  options.on_tick = [&] {
    sync.Sync();
    c.progress->MaybePrint();
  };
  absl::Status st = RunPipeline(*r, transforms, *s, tools::internal::StopFlag(), options, nullptr);
  // A file run is repeatable: its output appears only when the whole run succeeded.
  absl::Status closed = s->Close(/*commit=*/st.ok());
  sync.Sync();
  if (!st.ok()) return st;
  if (!closed.ok()) return closed;
  const uint64_t read = r->packets_read();
  const uint64_t link_dropped = normalize.stats().dropped;
  if (read > 0 && link_dropped == read) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": none of the ", read, " frames has a usable link layer (",
        LinkLayerErrorName(FirstCause(normalize.stats())), ")"));
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
    return tools::UsageExit(kProgram, "need exactly one of -i / -r, and -w (see --help)");
  }
  InterfaceSpec spec;
  if (!in.empty()) {
    absl::StatusOr<InterfaceSpec> s = ParseInterfaceSpec(in);
    if (!s.ok() || s->kind != InterfaceKind::kUdp) {
      return tools::UsageExit(kProgram, s.ok() ? "-i needs a udp:: interface"
                                               : std::string(s.status().message()));
    }
    spec = *s;
  } else {
    const std::string e = absl::GetFlag(FLAGS_encap).empty() ? "vxlan" : absl::GetFlag(FLAGS_encap);
    if (!ParseEncapMode(e.c_str(), &spec.decap)) {
      return tools::UsageExit(kProgram, absl::StrCat("bad --encap '", e, "'"));
    }
    spec.encap_name = e;
  }
  const std::string dlt = absl::GetFlag(FLAGS_dlt);
  if (!dlt.empty() && !ParseDltName(dlt, &spec.decap.raw_link_type)) {
    return tools::UsageExit(kProgram, absl::StrCat("bad --dlt '", dlt, "'"));
  }
  const int64_t vni = absl::GetFlag(FLAGS_vni);
  if (vni >= 0 && !Vni::IsValid(static_cast<uint64_t>(vni))) {
    return tools::UsageExit(kProgram, absl::StrCat("--vni ", vni, " out of range"));
  }
  if (absl::GetFlag(FLAGS_max_vni_series) < 0) {
    return tools::UsageExit(kProgram, "--max_vni_series must be >= 0");
  }
  PcapSinkOptions::Format format;
  if (!ParsePcapFormat(absl::GetFlag(FLAGS_format), &format)) {
    return tools::UsageExit(kProgram, "--format must be pcap or pcapng");
  }
  // The output's link type: raw/skip=N say it; VXLAN and geneve+vxlan carry Ethernet; GENEVE's
  // follows its Protocol Type, so unless dlt= says, the first packet picks it.
  const bool raw_like = spec.decap.mode == EncapMode::kRaw || spec.decap.mode == EncapMode::kSkip;
  const bool follow_first =
      spec.decap.mode == EncapMode::kGeneve && dlt.empty() && in.find("dlt=") == std::string::npos;
  const LinkType out_lt = raw_like || (spec.decap.mode == EncapMode::kGeneve && !follow_first)
                              ? spec.decap.raw_link_type
                              : LinkType::kEthernet;
  if (!bpf_expr.empty()) {
    absl::StatusOr<std::unique_ptr<BpfTransform>> f = BpfTransform::Create(bpf_expr, out_lt);
    if (!f.ok()) return tools::UsageExit(kProgram, std::string(f.status().message()));
  }
  tools::InstallStopHandlers();
  MetricsRegistry registry;
  Counters counters(&registry);
  BoundedVniCounters vnis(&registry, static_cast<size_t>(absl::GetFlag(FLAGS_max_vni_series)));
  std::unique_ptr<tools::MetricsServer> server;
  if (!absl::GetFlag(FLAGS_metrics).empty()) {
    auto s = tools::MetricsServer::Start(&registry, absl::GetFlag(FLAGS_metrics));
    if (!s.ok()) return tools::FatalExit(kProgram, s.status());
    server = std::move(*s);
    std::fprintf(stderr, "%s: metrics on port %u\n", kProgram, server->port());
  }
  tools::ProgressPrinter progress(&registry, absl::GetFlag(FLAGS_stats_interval), stderr,
                                  kProgram);
  Common c;
  c.registry = &registry;
  c.counters = &counters;
  c.vnis = &vnis;
  c.vni = vni;
  c.bpf = bpf_expr;
  c.sink_options.link_type = out_lt;
  c.sink_options.link_type_from_first_packet = follow_first;
  c.sink_options.format = format;
  c.out_path = wpath;
  c.max_packets = static_cast<uint64_t>(absl::GetFlag(FLAGS_c) > 0 ? absl::GetFlag(FLAGS_c) : 0);
  c.progress = &progress;
  bool started = false;
  c.started = &started;
  absl::Status st;
  if (!in.empty()) {
    st = RunLive(spec, c);
  } else {
    int port = absl::GetFlag(FLAGS_port);
    if (port < 0) {
      port = spec.decap.mode == EncapMode::kVxlan ? 4789
             : (spec.decap.mode == EncapMode::kGeneve || spec.decap.mode == EncapMode::kGeneveVxlan)
                 ? 6081
                 : 0;
    }
    st = RunOffline(rd, spec.decap, port, c);
  }
  if (started) progress.PrintFinal();
  if (!st.ok()) return tools::FatalExit(kProgram, st);
  return 0;
}

}  // namespace
}  // namespace pktkit

int main(int argc, char** argv) { return pktkit::Main(argc, argv); }
