// pktkit-capture: AF_PACKET TPACKET_V3 capture to a nanosecond pcap, with the VLAN tags the
// kernel stripped put back, an in-kernel BPF filter, fanout workers and Prometheus counters.
//
//   pktkit-capture -i eth0 -w out.pcap [-c N] [--fanout hash:23 [--defrag]] [--workers N]
//                  [--metrics 127.0.0.1:9100] [BPF expression...]
//
// -i also takes the interface spec form af_packet::eth0. Counters are printed every
// --stats_interval seconds and at exit; SIGINT/SIGTERM stop cleanly (the pcap is flushed).
// The pipeline (pktkit/io/run.h), one per worker thread:
//   AF_PACKET ring (fanout member) -> packet count -> SharedSink(PcapSink | NullSink)
// Batches of large packets (mean >= 1 KiB) are not copied in user space: PcapSink writes them
// with writev (record headers + the packet bytes where they lie in the ring) and the ring block
// goes back to the kernel only after that write returned; batches of small packets are copied
// into a write buffer, which measured cheaper at 64 B flat out (docs/bench/capture.md).
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pktkit/io/af_packet.h"
#include "pktkit/io/pcap_sink.h"
#include "pktkit/io/run.h"
#include "pktkit/io/shared_sink.h"
#include "pktkit/io/sink.h"
#include "pktkit/io/transform.h"
#include "pktkit/spec/interface_spec.h"
#include "tools/common/cli.h"
#include "tools/common/metrics.h"
#include "tools/common/privileges.h"
#include "tools/common/progress.h"
#include "tools/common/run_main.h"
#include "tools/common/signals.h"

ABSL_FLAG(std::string, i, "", "interface to capture on (eth0 or af_packet::eth0)");
ABSL_FLAG(std::string, w, "", "capture file to write (nanosecond); - for stdout; empty: none");
ABSL_FLAG(std::string, format, "pcap",
          "-w format: pcap | pcapng (pcapng: the interface name, and the kernel's received "
          "and dropped counts in an Interface Statistics Block at the end)");
ABSL_FLAG(int64_t, c, 0, "stop after this many packets (0: run until SIGINT/SIGTERM)");
ABSL_FLAG(std::string, fanout, "", "fanout group <mode>:<id>: hash lb cpu rollover random qm");
ABSL_FLAG(bool, defrag, false, "fanout flag: reassemble IP fragments before hashing");
ABSL_FLAG(bool, rollover, false, "fanout flag: spill to another member when a ring is full");
ABSL_FLAG(int, workers, 1, "fanout members (threads); >1 without --fanout uses hash:<pid>");
ABSL_FLAG(std::string, metrics, "", "serve Prometheus counters at addr:port (GET /metrics)");
ABSL_FLAG(double, stats_interval, 5.0, "seconds between counter lines on stderr (0: only at exit)");
ABSL_FLAG(int, snaplen, 262144, "bytes kept per frame");
ABSL_FLAG(int, buffer_mb, 128, "ring size per worker, MiB");
ABSL_FLAG(int, block_kb, 0, "ring block size, KiB (0: fits the largest frame, >= 1 MiB)");
ABSL_FLAG(int, block_timeout_ms, 10, "hand over a partly filled block after this long");
ABSL_FLAG(bool, promisc, true, "promiscuous mode");
ABSL_FLAG(bool, ignore_outgoing, false, "do not capture packets this host sends");
ABSL_FLAG(bool, hw_timestamps, false, "NIC hardware timestamps (fails where the NIC cannot)");
ABSL_FLAG(std::string, write_method, "auto",
          "how records reach the file: writev (record headers + packet bytes straight from the "
          "ring, which is handed back after the write), buffered (copied into a write buffer "
          "first), auto (writev for batches whose mean packet is >= 1 KiB, else buffered)");

namespace {

constexpr char kProgram[] = "pktkit-capture";

using pktkit::tools::Counter;
using pktkit::tools::CounterSync;
using pktkit::tools::MetricsRegistry;

// Counts what a worker hands to the sink, and passes the batch on.
class CountTransform : public pktkit::PacketTransform {
 public:
  pktkit::PacketBatch Apply(const pktkit::PacketBatch& in) override {
    packets += in.size;
    for (const pktkit::PacketView& p : in) bytes += p.caplen;
    return in;
  }
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// One worker's counters, mirrored from its source's stats in its own thread.
void WatchWorker(MetricsRegistry* r, int worker, const CountTransform* count, const pktkit::AfPacketStats* last,
                 CounterSync* sync) {
  const pktkit::tools::Labels l = {{"worker", std::to_string(worker)}};
  auto add = [&](const char* name, const char* help, std::function<uint64_t()> read) {
    sync->Watch(r->AddCounter(name, help, l), std::move(read));
  };
  add("pktkit_capture_packets_total", "Packets captured", [count] { return count->packets; });
  add("pktkit_capture_bytes_total", "Bytes captured (tags included)",
      [count] { return count->bytes; });
  add("pktkit_capture_kernel_packets_total",
      "Packets that passed the kernel filter (PACKET_STATISTICS)",
      [last] { return last->kernel_packets; });
  add("pktkit_capture_kernel_drops_total", "Packets the kernel dropped because the ring was full",
      [last] { return last->kernel_drops; });
  add("pktkit_capture_kernel_freezes_total", "Times the ring froze (tp_freeze_q_cnt)",
      [last] { return last->kernel_freezes; });
  add("pktkit_capture_vlan_reinserted_total", "Kernel-stripped VLAN tags put back into the bytes",
      [last] { return last->ring.vlan_reinserted; });
  add("pktkit_capture_block_seq_gaps_total", "Ring blocks missing by sequence number",
      [last] { return last->ring.seq_gaps; });
  add("pktkit_capture_ring_errors_total", "Corrupt block or packet headers (not read)", [last] {
    uint64_t errs = 0;
    for (size_t k = 0; k < static_cast<size_t>(pktkit::RingError::kCount); ++k) {
      errs += last->ring.errors[k];
    }
    return errs;
  });
  add("pktkit_capture_link_down_total", "Times the interface went down or away",
      [last] { return last->link_down; });
  add("pktkit_capture_reopens_total", "Re-opens after that", [last] { return last->reopens; });
  add("pktkit_capture_filtered_total", "Packets the in-kernel filter rejected (approximate)",
      [last] { return last->filtered; });
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage_text =
      "pktkit-capture -i eth0 -w out.pcap [-c N] [--fanout hash:23 [--defrag]] [--workers N] "
      "[--metrics addr:port] [BPF...]";
  std::vector<char*> rest = pktkit::tools::ParseCommandLine(argc, argv, usage_text);
  std::string iface = absl::GetFlag(FLAGS_i);
  if (iface.find(':') != std::string::npos) {  // the shared interface grammar (pktkit/spec)
    absl::StatusOr<pktkit::InterfaceSpec> spec = pktkit::ParseInterfaceSpec(iface);
    if (!spec.ok()) return pktkit::tools::UsageExit(kProgram, std::string(spec.status().message()));
    if (spec->kind != pktkit::InterfaceKind::kAfPacket) {
      return pktkit::tools::UsageExit(
          kProgram, absl::StrCat("-i ", iface, ": only af_packet::<iface> can be captured"));
    }
    iface = spec->iface;
  }
  if (iface.empty()) return pktkit::tools::UsageExit(kProgram, "-i <interface> is required");
  pktkit::PcapSinkOptions::Format format;
  if (!pktkit::ParsePcapFormat(absl::GetFlag(FLAGS_format), &format)) {
    return pktkit::tools::UsageExit(kProgram, "--format must be pcap or pcapng");
  }
  pktkit::AfPacketConfig cfg;
  cfg.interface = iface;
  cfg.bpf = absl::StrJoin(rest.begin() + 1, rest.end(), " ");
  cfg.snaplen = static_cast<uint32_t>(absl::GetFlag(FLAGS_snaplen));
  cfg.buffer_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_buffer_mb)) << 20;
  cfg.block_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_block_kb)) << 10;
  cfg.block_timeout_ms = static_cast<uint32_t>(absl::GetFlag(FLAGS_block_timeout_ms));
  cfg.promiscuous = absl::GetFlag(FLAGS_promisc);
  cfg.ignore_outgoing = absl::GetFlag(FLAGS_ignore_outgoing);
  cfg.hardware_timestamps = absl::GetFlag(FLAGS_hw_timestamps);
  const int workers = absl::GetFlag(FLAGS_workers);
  if (workers < 1 || workers > 256) {
    return pktkit::tools::UsageExit(kProgram, "--workers must be 1..256");
  }
  std::string fanout = absl::GetFlag(FLAGS_fanout);
  if (fanout.empty() && workers > 1) fanout = absl::StrCat("hash:", getpid() & 0xffff);
  if (!fanout.empty()) {
    absl::StatusOr<pktkit::FanoutConfig> f =
        pktkit::ParseFanout(fanout, absl::GetFlag(FLAGS_defrag), absl::GetFlag(FLAGS_rollover));
    if (!f.ok()) return pktkit::tools::UsageExit(kProgram, std::string(f.status().message()));
    if (f->mode == pktkit::FanoutMode::kCbpf || f->mode == pktkit::FanoutMode::kEbpf) {
      return pktkit::tools::UsageExit(
          kProgram, absl::StrCat("fanout ", pktkit::FanoutModeName(f->mode),
                                 " needs a program; use the library API"));
    }
    cfg.fanout = *f;
  }

  pktkit::tools::InstallStopHandlers();
  MetricsRegistry registry;
  // Input first: the rings. Only then the output (never truncate a file for a capture that
  // cannot start).
  std::vector<std::unique_ptr<pktkit::AfPacketSource>> sources;
  for (int k = 0; k < workers; ++k) {
    auto src = pktkit::AfPacketSource::Open(
        cfg, [](const std::string& e) { std::fprintf(stderr, "%s: %s\n", kProgram, e.c_str()); });
    if (!src.ok()) return pktkit::tools::FatalExit(kProgram, src.status());
    sources.push_back(std::move(*src));
  }
  std::unique_ptr<pktkit::PacketSink> sink;
  pktkit::PcapSink* pcap = nullptr;
  if (!absl::GetFlag(FLAGS_w).empty()) {
    pktkit::PcapSinkOptions o;
    o.link_type = pktkit::LinkType::kEthernet;
    o.snaplen = cfg.snaplen + 8;  // room for two reinserted VLAN tags
    o.format = format;
    o.if_name = iface;
    // Measured in the tool (docs/bench/capture.md): writev from the ring costs 0.88-0.98x the
    // copy per packet at 1500 B, but 1.12-1.56x at 64 B flat out (two iovecs per record).
    o.auto_writev_bytes = 1024;
    const std::string method = absl::GetFlag(FLAGS_write_method);
    if (method == "writev") {
      o.method = pktkit::PcapSinkOptions::Method::kWritev;
    } else if (method == "buffered") {
      o.method = pktkit::PcapSinkOptions::Method::kBuffered;
    } else if (method != "auto") {
      return pktkit::tools::UsageExit(kProgram, "--write_method must be writev, buffered or auto");
    }
    o.on_fifo_wait = [](const std::string& p) {
      std::fprintf(stderr, "%s: waiting for a reader on FIFO %s\n", kProgram, p.c_str());
    };
    auto w = pktkit::PcapSink::Open(absl::GetFlag(FLAGS_w), o);
    if (!w.ok()) return pktkit::tools::FatalExit(kProgram, w.status());
    pcap = w->get();
    sink = std::move(*w);
  } else {
    sink = std::make_unique<pktkit::NullSink>();
  }
  std::unique_ptr<pktkit::tools::MetricsServer> server;
  if (!absl::GetFlag(FLAGS_metrics).empty()) {
    auto s = pktkit::tools::MetricsServer::Start(&registry, absl::GetFlag(FLAGS_metrics));
    if (!s.ok()) return pktkit::tools::FatalExit(kProgram, s.status());
    server = std::move(*s);
    std::fprintf(stderr, "%s: metrics on port %u\n", kProgram, server->port());
  }
  // Rings, output and endpoint open: --user, keeping CAP_NET_RAW to re-open a ring.
  if (absl::Status d = pktkit::tools::DropPrivileges(absl::GetFlag(FLAGS_user), {CAP_NET_RAW});
      !d.ok()) {
    return pktkit::tools::FatalExit(kProgram, d);
  }
  const int64_t limit = absl::GetFlag(FLAGS_c);
  pktkit::SharedSink shared(sink.get(), limit > 0 ? static_cast<uint64_t>(limit) : 0,
                            [] { pktkit::tools::RequestStop(); });
  std::fprintf(stderr, "%s: capturing on %s (%d worker%s, %zu x %zu-byte blocks%s)\n", kProgram,
               iface.c_str(), workers, workers == 1 ? "" : "s", sources[0]->block_count(),
               sources[0]->block_bytes(), cfg.bpf.empty() ? "" : ", kernel filter");
  // Register every worker's series before any thread runs (the registry's order is stable).
  std::vector<CountTransform> counts(static_cast<size_t>(workers));
  std::vector<pktkit::AfPacketStats> last(static_cast<size_t>(workers));
  std::vector<CounterSync> syncs(static_cast<size_t>(workers));
  for (int k = 0; k < workers; ++k) {
    WatchWorker(&registry, k, &counts[k], &last[k], &syncs[k]);
  }
  std::vector<absl::Status> results(static_cast<size_t>(workers));
  std::atomic<int> running{workers};
  std::vector<std::thread> threads;
  for (int k = 0; k < workers; ++k) {
    threads.emplace_back([&, k] {
      pktkit::AfPacketSource* src = sources[k].get();
      pktkit::PacketTransform* transforms[] = {&counts[k]};
      pktkit::RunOptions options;
      options.flush_on_tick = true;
      options.on_tick = [&, k, src] {
        last[k] = src->Stats();
        syncs[k].Sync();
      };
      results[k] = pktkit::RunPipeline(*src, transforms, shared,
                                       pktkit::tools::internal::StopFlag(), options, nullptr);
      if (!results[k].ok()) pktkit::tools::RequestStop();  // one failing worker ends the run
      --running;
    });
  }
  pktkit::tools::ProgressPrinter progress(&registry, absl::GetFlag(FLAGS_stats_interval), stderr,
                                          kProgram);
  while (running.load() > 0) {
    progress.MaybePrint();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (std::thread& t : threads) t.join();
  absl::Status st;
  for (const absl::Status& s : results) {
    if (st.ok() && !s.ok()) st = s;
  }
  // A live capture cannot be taken again: what reached the file is kept even after an error.
  if (pcap != nullptr) {
    pktkit::PcapngInterfaceStats isb;  // pcapng only: the kernel's counts end the file
    isb.timestamp_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    isb.received = 0;
    isb.if_dropped = 0;
    for (auto& src : sources) {
      const pktkit::AfPacketStats s = src->Stats();
      *isb.received += s.kernel_packets;
      *isb.if_dropped += s.kernel_drops;
    }
    pcap->SetInterfaceStats(isb);
    absl::Status closed = pcap->Close(/*commit=*/true);
    if (st.ok()) st = closed;
  }
  progress.PrintFinal();
  if (!st.ok()) return pktkit::tools::FatalExit(kProgram, st);
  return 0;
}
