// pktkit-capture: AF_PACKET TPACKET_V3 capture to a nanosecond pcap, with the VLAN tags the
// kernel stripped put back, an in-kernel BPF filter, fanout workers and Prometheus counters.
//
//   pktkit-capture -i eth0 -w out.pcap [-c N] [--fanout hash:23 [--defrag]] [--workers N]
//                  [--metrics 127.0.0.1:9100] [BPF expression...]
//
// -i also takes the interface spec form af_packet::eth0. Counters are printed every
// --stats_interval seconds and at exit; SIGINT/SIGTERM stop cleanly (the pcap is flushed).
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pktkit/io/af_packet.h"
#include "pktkit/io/pcap.h"
#include "pktkit/spec/interface_spec.h"
#include "tools/common/metrics.h"
#include "tools/common/progress.h"
#include "tools/common/signals.h"
#include "tools/common/cli.h"
#include "tools/common/privileges.h"
#include "tools/common/fifo.h"

ABSL_FLAG(std::string, i, "", "interface to capture on (eth0 or af_packet::eth0)");
ABSL_FLAG(std::string, w, "", "pcap file to write (nanosecond); - for stdout; empty: none");
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

namespace {

using pktkit::tools::Counter;
using pktkit::tools::MetricsRegistry;

// Per-worker counters fed from AfPacketSource::Stats() deltas.
struct WorkerCounters {
  Counter* packets;
  Counter* bytes;
  Counter* kernel_packets;
  Counter* kernel_drops;
  Counter* kernel_freezes;
  Counter* vlan_reinserted;
  Counter* seq_gaps;
  Counter* ring_errors;
  Counter* link_down;
  Counter* reopens;
  Counter* filtered;
  pktkit::AfPacketStats last;

  WorkerCounters(MetricsRegistry* r, int worker) {
    const pktkit::tools::Labels l = {{"worker", std::to_string(worker)}};
    packets = r->AddCounter("pktkit_capture_packets_total", "Packets captured", l);
    bytes = r->AddCounter("pktkit_capture_bytes_total", "Bytes captured (tags included)", l);
    kernel_packets = r->AddCounter("pktkit_capture_kernel_packets_total",
                                   "Packets that passed the kernel filter (PACKET_STATISTICS)", l);
    kernel_drops = r->AddCounter("pktkit_capture_kernel_drops_total",
                                 "Packets the kernel dropped because the ring was full", l);
    kernel_freezes = r->AddCounter("pktkit_capture_kernel_freezes_total",
                                   "Times the ring froze (tp_freeze_q_cnt)", l);
    vlan_reinserted = r->AddCounter("pktkit_capture_vlan_reinserted_total",
                                    "Kernel-stripped VLAN tags put back into the bytes", l);
    seq_gaps = r->AddCounter("pktkit_capture_block_seq_gaps_total",
                             "Ring blocks missing by sequence number", l);
    ring_errors = r->AddCounter("pktkit_capture_ring_errors_total",
                                "Corrupt block or packet headers (not read)", l);
    link_down =
        r->AddCounter("pktkit_capture_link_down_total", "Times the interface went down or away", l);
    reopens = r->AddCounter("pktkit_capture_reopens_total", "Re-opens after that", l);
    filtered = r->AddCounter("pktkit_capture_filtered_total",
                             "Packets the in-kernel filter rejected (approximate)", l);
  }

  void Update(const pktkit::AfPacketStats& s) {
    auto add = [](Counter* c, uint64_t now, uint64_t before) {
      if (now > before) c->Add(now - before);
    };
    uint64_t errs = 0, last_errs = 0;
    for (size_t k = 0; k < static_cast<size_t>(pktkit::RingError::kCount); ++k) {
      errs += s.ring.errors[k];
      last_errs += last.ring.errors[k];
    }
    add(kernel_packets, s.kernel_packets, last.kernel_packets);
    add(kernel_drops, s.kernel_drops, last.kernel_drops);
    add(kernel_freezes, s.kernel_freezes, last.kernel_freezes);
    add(vlan_reinserted, s.ring.vlan_reinserted, last.ring.vlan_reinserted);
    add(seq_gaps, s.ring.seq_gaps, last.ring.seq_gaps);
    add(ring_errors, errs, last_errs);
    add(link_down, s.link_down, last.link_down);
    add(reopens, s.reopens, last.reopens);
    add(filtered, s.filtered, last.filtered);
    last = s;
  }
};

struct Shared {
  std::mutex write_mu;
  pktkit::PcapWriter* writer = nullptr;
  std::atomic<int64_t> remaining{0};  // -c budget; <= 0 with limit set: stop
  bool limited = false;
  std::atomic<bool> failed{false};
};

void Worker(pktkit::AfPacketSource* src, WorkerCounters* wc, Shared* sh) {
  auto last_stats = std::chrono::steady_clock::now();
  while (!pktkit::tools::StopRequested()) {
    absl::StatusOr<pktkit::PacketBatch> batch = src->NextBatch(100);
    if (!batch.ok()) {
      std::fprintf(stderr, "pktkit-capture: %s\n", batch.status().ToString().c_str());
      sh->failed = true;
      pktkit::tools::RequestStop();
      break;
    }
    size_t n = 0;
    uint64_t bytes = 0;
    if (!batch->empty()) {
      std::lock_guard<std::mutex> lock(sh->write_mu);
      for (const pktkit::PacketView& p : *batch) {
        if (sh->limited && sh->remaining.fetch_sub(1) <= 0) {
          pktkit::tools::RequestStop();
          break;
        }
        if (sh->writer != nullptr) {
          absl::Status s = sh->writer->Write(p);
          if (!s.ok()) {
            std::fprintf(stderr, "pktkit-capture: %s\n", s.ToString().c_str());
            sh->failed = true;
            pktkit::tools::RequestStop();
            break;
          }
        }
        ++n;
        bytes += p.caplen;
        if (sh->limited && sh->remaining.load() <= 0) pktkit::tools::RequestStop();
      }
    }
    src->ReleaseBatch();
    wc->packets->Add(n);
    wc->bytes->Add(bytes);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_stats > std::chrono::milliseconds(250)) {
      wc->Update(src->Stats());
      last_stats = now;
    }
  }
  wc->Update(src->Stats());
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
    if (!spec.ok()) {
      std::fprintf(stderr, "pktkit-capture: %s\n", spec.status().ToString().c_str());
      return 2;
    }
    if (spec->kind != pktkit::InterfaceKind::kAfPacket) {
      std::fprintf(stderr, "pktkit-capture: -i %s: only af_packet::<iface> can be captured\n",
                   iface.c_str());
      return 2;
    }
    iface = spec->iface;
  }
  if (iface.empty()) {
    std::fprintf(stderr, "pktkit-capture: -i <interface> is required\n");
    return 2;
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
    std::fprintf(stderr, "pktkit-capture: --workers must be 1..256\n");
    return 2;
  }
  std::string fanout = absl::GetFlag(FLAGS_fanout);
  if (fanout.empty() && workers > 1) fanout = absl::StrCat("hash:", getpid() & 0xffff);
  if (!fanout.empty()) {
    absl::StatusOr<pktkit::FanoutConfig> f =
        pktkit::ParseFanout(fanout, absl::GetFlag(FLAGS_defrag), absl::GetFlag(FLAGS_rollover));
    if (!f.ok()) {
      std::fprintf(stderr, "pktkit-capture: %s\n", f.status().ToString().c_str());
      return 2;
    }
    if (f->mode == pktkit::FanoutMode::kCbpf || f->mode == pktkit::FanoutMode::kEbpf) {
      std::fprintf(stderr, "pktkit-capture: fanout %s needs a program; use the library API\n",
                   pktkit::FanoutModeName(f->mode));
      return 2;
    }
    cfg.fanout = *f;
  }

  pktkit::tools::InstallStopHandlers();
  MetricsRegistry registry;
  std::vector<std::unique_ptr<pktkit::AfPacketSource>> sources;
  std::vector<std::unique_ptr<WorkerCounters>> counters;
  for (int k = 0; k < workers; ++k) {
    auto src = pktkit::AfPacketSource::Open(
        cfg, [](const std::string& e) { std::fprintf(stderr, "pktkit-capture: %s\n", e.c_str()); });
    if (!src.ok()) {
      std::fprintf(stderr, "pktkit-capture: %s\n", src.status().ToString().c_str());
      return 1;
    }
    sources.push_back(std::move(*src));
    counters.push_back(std::make_unique<WorkerCounters>(&registry, k));
  }
  std::unique_ptr<pktkit::PcapWriter> writer;
  if (!absl::GetFlag(FLAGS_w).empty()) {
    pktkit::tools::AnnounceFifoWait("pktkit-capture", absl::GetFlag(FLAGS_w));
    auto w = pktkit::PcapWriter::Open(absl::GetFlag(FLAGS_w), pktkit::LinkType::kEthernet,
                                      cfg.snaplen + 8);
    if (!w.ok()) {
      std::fprintf(stderr, "pktkit-capture: %s\n", w.status().ToString().c_str());
      return 1;
    }
    writer = std::move(*w);
  }
  std::unique_ptr<pktkit::tools::MetricsServer> server;
  if (!absl::GetFlag(FLAGS_metrics).empty()) {
    auto s = pktkit::tools::MetricsServer::Start(&registry, absl::GetFlag(FLAGS_metrics));
    if (!s.ok()) {
      std::fprintf(stderr, "pktkit-capture: %s\n", s.status().ToString().c_str());
      return 1;
    }
    server = std::move(*s);
    std::fprintf(stderr, "pktkit-capture: metrics on port %u\n", server->port());
  }
  // Rings, output and endpoint open: --user, keeping CAP_NET_RAW to re-open a ring.
  if (absl::Status d = pktkit::tools::DropPrivileges(absl::GetFlag(FLAGS_user), {CAP_NET_RAW});
      !d.ok()) {
    std::fprintf(stderr, "pktkit-capture: %s\n", std::string(d.message()).c_str());
    return 1;
  }
  Shared sh;
  sh.writer = writer.get();
  sh.limited = absl::GetFlag(FLAGS_c) > 0;
  sh.remaining = absl::GetFlag(FLAGS_c);
  std::fprintf(stderr, "pktkit-capture: capturing on %s (%d worker%s, %zu x %zu-byte blocks%s)\n",
               iface.c_str(), workers, workers == 1 ? "" : "s", sources[0]->block_count(),
               sources[0]->block_bytes(), cfg.bpf.empty() ? "" : ", kernel filter");
  std::vector<std::thread> threads;
  for (int k = 0; k < workers; ++k) {
    threads.emplace_back(Worker, sources[k].get(), counters[k].get(), &sh);
  }
  pktkit::tools::ProgressPrinter progress(&registry, absl::GetFlag(FLAGS_stats_interval), stderr,
                                          "pktkit-capture");
  while (!pktkit::tools::StopRequested()) {
    progress.MaybePrint();
    usleep(100 * 1000);
  }
  for (std::thread& t : threads) t.join();
  if (writer != nullptr) {
    absl::Status s = writer->Close();
    if (!s.ok()) {
      std::fprintf(stderr, "pktkit-capture: %s\n", s.ToString().c_str());
      sh.failed = true;
    }
  }
  progress.PrintFinal();
  return sh.failed ? 1 : 0;
}
