// nflog-pcap-recv ENDPOINT DEST — receives NFLOG pipe messages from any number of senders
// (PULL, bound by default) and writes a pcap stream to DEST: a file, a FIFO or "-" (stdout).
// Keeps an optional window of recent traffic for nflog-pcap-query. See docs/nflog.md.
// Wiring: ZmqPullSource (zmq_source.h) -> [NormalizeTransform to raw IP] -> the core's PcapSink
// (FIFO keep-alive mode) [tee'd with the RecentWindowSink of window_sink.h] -> RunPipeline.
#include <zmq.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "pktkit/io/normalize_transform.h"
#include "pktkit/io/pcap_sink.h"
#include "pktkit/io/run.h"
#include "pktkit/io/sink.h"
#include "pktkit/wire/link_layer.h"
#include "tools/common/cli.h"
#include "tools/common/metrics.h"
#include "tools/common/privileges.h"
#include "tools/common/progress.h"
#include "tools/common/run_main.h"
#include "tools/common/signals.h"
#include "tools/nflog/message.h"
#include "tools/nflog/pipe_common.h"
#include "tools/nflog/pipe_counters.h"
#include "tools/nflog/window_sink.h"
#include "tools/nflog/zmq_source.h"

ABSL_FLAG(bool, connect, false, "connect the PULL socket instead of binding");
ABSL_FLAG(std::string, linktype, "nflog",
          "pcap link type: nflog (LINKTYPE_NFLOG 239, metadata kept) or raw (LINKTYPE_RAW 101)");
ABSL_FLAG(int, rcvhwm, 10000, "ZeroMQ receive high-water mark (messages)");
ABSL_FLAG(uint32_t, snaplen, 262144, "pcap snap length");
ABSL_FLAG(int64_t, fifo_stall_ms, 2000,
          "FIFO output: a reader that takes nothing this long while the pipe is full is left "
          "behind (its stream ends; records are dropped until it goes and the next one comes); "
          "0: wait for it as long as it takes");
ABSL_FLAG(uint64_t, buffer_window, 0, "keep this many bytes of recent traffic for queries");
ABSL_FLAG(std::string, query, "tcp://127.0.0.1:5557",
          "query endpoint (REP) when --buffer_window is set; loopback unless told otherwise");
ABSL_FLAG(std::string, metrics, "", "serve Prometheus metrics on this address");
ABSL_FLAG(std::string, statsd, "", "send counters to statsd at host:port");
ABSL_FLAG(double, interval, 10, "seconds between counter lines on stderr (0 = only at exit)");
ABSL_FLAG(std::string, curve_secret_key, "",
          "CURVE: this server's secret key file (enables CURVE on the data and query sockets)");

namespace pktkit::nflog {
namespace {

constexpr char kProgram[] = "nflog-pcap-recv";

int Run(const std::string& endpoint, const std::string& dest) {
  tools::InstallStopHandlers();
  const std::string lt_name = absl::GetFlag(FLAGS_linktype);
  if (lt_name != "nflog" && lt_name != "raw") {
    return tools::FatalExit(kProgram, absl::InvalidArgumentError("--linktype must be nflog or raw"));
  }
  const LinkType lt = lt_name == "raw" ? LinkType::kRaw : LinkType::kNflog;
  const uint32_t snaplen = absl::GetFlag(FLAGS_snaplen);

  void* ctx = zmq_ctx_new();
  ZmqPullOptions po;
  po.endpoint = endpoint;
  po.bind = !absl::GetFlag(FLAGS_connect);
  po.rcvhwm = absl::GetFlag(FLAGS_rcvhwm);
  po.curve = {absl::GetFlag(FLAGS_curve_secret_key), "", ""};
  auto source = ZmqPullSource::Open(ctx, po);
  if (!source.ok()) return tools::FatalExit(kProgram, source.status());
  void* rep = nullptr;  // the query socket, with --buffer_window
  const uint64_t window_bytes = absl::GetFlag(FLAGS_buffer_window);
  if (window_bytes > 0) {
    rep = zmq_socket(ctx, ZMQ_REP);
    const int linger = 0;
    zmq_setsockopt(rep, ZMQ_LINGER, &linger, sizeof linger);
    absl::Status st = ApplyCurve(rep, po.curve, /*server=*/true);
    if (st.ok()) st = Attach(rep, absl::GetFlag(FLAGS_query), /*bind=*/true);
    if (!st.ok()) return tools::FatalExit(kProgram, st);
  }
  // The stream: the core's pcap writer. A FIFO survives its readers coming and going (records
  // without one are dropped and counted); a file is written in place, readable while it grows.
  PcapSinkOptions so;
  so.link_type = lt;
  so.snaplen = snaplen;
  so.atomic_rename = false;
  so.fifo_mode = PcapSinkOptions::FifoMode::kKeepAlive;
  so.fifo_stall_ms = absl::GetFlag(FLAGS_fifo_stall_ms);
  bool said_waiting = false;
  so.on_fifo_reader = [&said_waiting](const std::string& path, bool reader) {
    if (!reader) {
      std::fprintf(stderr,
                   "%s: waiting for a reader on FIFO %s (records are dropped and counted as "
                   "no_reader until one opens it)\n",
                   kProgram, path.c_str());
    } else if (said_waiting) {
      std::fprintf(stderr, "%s: a reader opened FIFO %s: writing\n", kProgram, path.c_str());
    }
    said_waiting = !reader;
  };
  auto pcap = PcapSink::Open(dest, so);
  if (!pcap.ok()) return tools::FatalExit(kProgram, pcap.status());
  RecentWindowSink window(window_bytes, lt, snaplen);
  TeeSink stream_and_window(**pcap, window);
  PacketSink& sink = window_bytes > 0 ? static_cast<PacketSink&>(stream_and_window) : **pcap;
  // --linktype=raw: the IPv4/IPv6 packet out of each NFLOG record (the core's link-layer walk).
  NormalizeTransform to_raw(NormalizeTarget::kRawIp);
  std::vector<PacketTransform*> transforms;
  if (lt == LinkType::kRaw) transforms.push_back(&to_raw);

  // The sink's, the transform's and the source's totals, mirrored in one place; what left is
  // synced before what came in, so a scrape never sees more written than received.
  PipeMetrics m("recv");
  tools::CounterSync sync;
  const PcapSinkStats& ps = (*pcap)->pcap_stats();
  sync.Watch(m.Add("out_packets", "packets written to the pcap stream"),
             [&ps] { return ps.packets; });
  sync.Watch(m.Add("out_bytes", "packet bytes written"), [&ps] { return ps.bytes; });
  sync.Watch(m.Add("dropped_packets", "packets dropped", "no_reader"),
             [&ps] { return ps.dropped_no_reader; });
  sync.Watch(m.Add("dropped_packets", "packets dropped", "write_error"),
             [&ps] { return ps.write_errors; });
  sync.Watch(m.Add("fifo_reader_gone", "FIFO readers that went away"),
             [&ps] { return ps.reader_gone; });
  sync.Watch(m.Add("fifo_reader_stalled", "FIFO readers left behind: nothing read for --fifo_stall_ms"),
             [&ps] { return ps.reader_stalled; });
  // The first reader gets the stream's first header; every later one is a reopen.
  sync.Watch(m.Add("fifo_reopens", "FIFO reopened with a fresh pcap header"),
             [&ps] { return ps.reader_opens > 0 ? ps.reader_opens - 1 : 0; });
  for (size_t e = 1; e < static_cast<size_t>(LinkLayerError::kCount); ++e) {
    sync.Watch(m.Add("dropped_packets", "packets dropped (no IP packet in the NFLOG record)",
                     LinkLayerErrorName(static_cast<LinkLayerError>(e))),
               [&to_raw, e] { return to_raw.stats().dropped_by[e]; });
  }
  const ZmqSourceStats& zs = (*source)->stats();
  sync.Watch(m.Add("compressed_packets", "packets that came compressed"),
             [&zs] { return zs.compressed_packets; });
  WatchZmqSource(**source, &m, &sync);
  tools::Counter* queries = m.Add("queries", "buffer-window queries answered");
  auto exporters = StartExporters(m, absl::GetFlag(FLAGS_metrics), absl::GetFlag(FLAGS_statsd));
  if (!exporters.ok()) return tools::FatalExit(kProgram, exporters.status());
  if (absl::Status d = tools::DropPrivileges(absl::GetFlag(FLAGS_user)); !d.ok()) {
    return tools::FatalExit(kProgram, d);
  }

  tools::ProgressPrinter progress(&m.registry(), absl::GetFlag(FLAGS_interval));
  zmq_msg_t query;
  zmq_msg_init(&query);
  RunOptions ro;
  ro.poll_timeout_ms = 20;
  ro.flush_on_tick = true;  // a FIFO or pipe reader sees packets within a tick (20 ms)
  ro.on_tick = [&] {
    // Queries are answered between bursts, so the stream is not stalled.
    if (rep != nullptr && zmq_msg_recv(&query, rep, ZMQ_DONTWAIT) >= 0) {
      const std::string dump = window.Dump();
      zmq_send(rep, dump.data(), dump.size(), 0);
      queries->Add();
    }
    sync.Sync();
    progress.MaybePrint();
    if (exporters->statsd) exporters->statsd->MaybePush(&m);
  };
  std::fprintf(stderr, "%s: ready, receiving on %s, writing %s\n", kProgram, endpoint.c_str(),
               dest.c_str());
  absl::Status st = RunPipeline(**source, transforms, sink, tools::internal::StopFlag(), ro,
                                nullptr);
  absl::Status closed = (*pcap)->Close();
  if (st.ok()) st = closed;
  sync.Sync();
  if (exporters->statsd) exporters->statsd->Push(&m);
  progress.PrintFinal();
  zmq_msg_close(&query);
  if (rep != nullptr) zmq_close(rep);
  source->reset();
  zmq_ctx_term(ctx);
  return st.ok() ? 0 : tools::FatalExit(kProgram, st);
}

}  // namespace
}  // namespace pktkit::nflog

int main(int argc, char** argv) {
  const std::string usage_text = "nflog-pcap-recv ENDPOINT DEST  (DEST: file, FIFO or -)";
  std::vector<char*> args = pktkit::tools::ParseCommandLine(argc, argv, usage_text);
  if (args.size() != 3) {
    std::fprintf(stderr, "usage: nflog-pcap-recv [flags] ENDPOINT DEST\n");
    return 2;
  }
  return pktkit::nflog::Run(args[1], args[2]);
}
