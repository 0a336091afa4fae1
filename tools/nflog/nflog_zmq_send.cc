// nflog-zmq-send GROUPS ENDPOINT — reads NFLOG groups (comma-separated, e.g. "5,6") and sends
// every packet over ZeroMQ (PUSH, connect by default), under rate control. See docs/nflog.md.
// Wiring: NflogSocket (pktkit/io/nflog_socket.h) -> RunPipeline -> ZmqBatchSink (zmq_sink.h);
// at SIGINT/SIGTERM, DrainNflog (drain_source.h) sends what the kernel had queued.
#include <zmq.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "pktkit/io/nflog_socket.h"
#include "tools/common/cli.h"
#include "tools/common/metrics.h"
#include "tools/common/privileges.h"
#include "tools/common/progress.h"
#include "tools/common/run_main.h"
#include "tools/common/signals.h"
#include "pktkit/io/run.h"
#include "tools/nflog/drain_source.h"
#include "tools/nflog/pipe_common.h"
#include "tools/nflog/pipe_counters.h"
#include "tools/nflog/rate_control.h"
#include "tools/nflog/zmq_sink.h"

ABSL_FLAG(bool, bind, false, "bind the PUSH socket instead of connecting");
ABSL_FLAG(int, sndhwm, 10000, "ZeroMQ send high-water mark (messages)");
ABSL_FLAG(uint32_t, rcvbuf, 64u << 20,
          "netlink socket receive buffer (bytes; SO_RCVBUFFORCE): absorbs bursts");
ABSL_FLAG(uint32_t, nlbufsiz, 0, "NFULA_CFG_NLBUFSIZ: kernel message buffer (bytes, 0 = default)");
ABSL_FLAG(uint32_t, qthresh, 0, "NFULA_CFG_QTHRESH: packets per netlink message (0 = default)");
ABSL_FLAG(uint32_t, flush_timeout_cs, 0, "NFULA_CFG_TIMEOUT: kernel flush timeout, 1/100 s");
ABSL_FLAG(uint32_t, copy_range, 0xffff, "bytes of each packet to copy");
ABSL_FLAG(uint64_t, low_watermark, 0, "bytes/s above which packets are compressed (0 = never)");
ABSL_FLAG(uint64_t, high_watermark, 0, "bytes/s above which packets are dropped (0 = never)");
ABSL_FLAG(std::string, codec, "zstd", "batch compression: zstd or zlib");
ABSL_FLAG(int, batch_latency_ms, 50, "longest time a record waits in a batch");
ABSL_FLAG(bool, block, false, "block when the high-water mark is reached instead of dropping");
ABSL_FLAG(int, drain_ms, 300,
          "on SIGINT/SIGTERM: unbind the groups and send what the kernel had queued, for at "
          "most this long (0 = no drain: what the kernel holds is lost)");
ABSL_FLAG(int, linger_ms, 2000, "at exit: longest wait for unsent messages (ZMQ_LINGER)");
ABSL_FLAG(std::string, metrics, "",
          "serve Prometheus metrics on this address (e.g. 127.0.0.1:9110)");
ABSL_FLAG(std::string, statsd, "", "send counters to statsd at host:port (e.g. 127.0.0.1:8125)");
ABSL_FLAG(double, interval, 10, "seconds between counter lines on stderr (0 = only at exit)");
ABSL_FLAG(std::string, curve_secret_key, "",
          "CURVE: this client's secret key file (enables CURVE)");
ABSL_FLAG(std::string, curve_public_key, "", "CURVE: this client's public key file");
ABSL_FLAG(std::string, curve_server_key, "", "CURVE: the receiver's public key file");

namespace pktkit::nflog {
namespace {

constexpr char kProgram[] = "nflog-zmq-send";

int Run(const std::vector<uint16_t>& groups, const std::string& endpoint) {
  tools::InstallStopHandlers();
  std::atomic<bool>& stop = tools::internal::StopFlag();
  NflogSocketOptions o;
  o.groups = groups;
  o.rcvbuf_bytes = absl::GetFlag(FLAGS_rcvbuf);
  o.nlbufsiz_bytes = absl::GetFlag(FLAGS_nlbufsiz);
  o.qthresh = absl::GetFlag(FLAGS_qthresh);
  o.timeout_cs = absl::GetFlag(FLAGS_flush_timeout_cs);
  o.copy_range = absl::GetFlag(FLAGS_copy_range);
  auto sock = NflogSocket::Open(o);
  if (!sock.ok()) return tools::FatalExit(kProgram, sock.status());

  ZmqPushOptions zo;
  zo.endpoint = endpoint;
  zo.bind = absl::GetFlag(FLAGS_bind);
  zo.sndhwm = absl::GetFlag(FLAGS_sndhwm);
  zo.linger_ms = absl::GetFlag(FLAGS_linger_ms);
  zo.block = absl::GetFlag(FLAGS_block);
  zo.curve = {absl::GetFlag(FLAGS_curve_secret_key), absl::GetFlag(FLAGS_curve_public_key),
              absl::GetFlag(FLAGS_curve_server_key)};
  const uint64_t low = absl::GetFlag(FLAGS_low_watermark),
                 high = absl::GetFlag(FLAGS_high_watermark);
  zo.rate.low_bps = low == 0 ? kUnlimited : low;
  zo.rate.high_bps = high == 0 ? kUnlimited : high;
  zo.rate.codec = absl::GetFlag(FLAGS_codec) == "zlib" ? MessageKind::kZlib : MessageKind::kZstd;
  zo.rate.max_batch_latency_ns = int64_t{absl::GetFlag(FLAGS_batch_latency_ms)} * 1000000;
  zo.rate.flags = HostTlvFlags();
  void* ctx = zmq_ctx_new();
  auto sink = ZmqBatchSink::Open(ctx, zo, &stop);
  if (!sink.ok()) return tools::FatalExit(kProgram, sink.status());
  if (absl::Status d = tools::DropPrivileges(absl::GetFlag(FLAGS_user)); !d.ok()) {
    return tools::FatalExit(kProgram, d);
  }

  // The sink's and the socket's totals, mirrored into the registry in one place (what left
  // first, so a scrape never sees more sent than read).
  PipeMetrics m("send");
  tools::CounterSync sync;
  WatchZmqSink(**sink, &m, &sync);
  const NflogSocketStats& ss = (*sock)->stats();
  sync.Watch(m.Add("in_packets", "NFLOG packets read from the kernel"),
             [&ss] { return ss.packets; });
  sync.Watch(m.Add("in_bytes", "NFLOG record bytes read"), [&ss] { return ss.bytes; });
  sync.Watch(m.Add("dropped_packets", "packets dropped", "kernel_overrun"),
             [&ss] { return ss.kernel_lost_packets; });
  sync.Watch(m.Add("kernel_overruns", "ENOBUFS events on the netlink socket"),
             [&ss] { return ss.kernel_overruns; });
  sync.Watch(m.Add("dropped_packets", "packets dropped", "parse_error"), [&ss] {
    uint64_t pe = 0;
    for (uint64_t v : ss.parse_errors) pe += v;
    return pe;
  });
  const EncoderStats& es = (*sink)->encoder_stats();
  auto gauge = [&m](const char* name, const char* help, const std::atomic<uint64_t>* v) {
    m.registry().AddGauge(name, help, [v] { return static_cast<double>(v->load()); });
  };
  gauge("pktkit_nflog_send_batches", "compressed batches sent", &es.batches);
  gauge("pktkit_nflog_send_batch_bytes_in", "bytes before compression", &es.batch_bytes_in);
  gauge("pktkit_nflog_send_batch_bytes_out", "bytes after compression", &es.batch_bytes_out);
  auto exporters = StartExporters(m, absl::GetFlag(FLAGS_metrics), absl::GetFlag(FLAGS_statsd));
  if (!exporters.ok()) return tools::FatalExit(kProgram, exporters.status());

  tools::ProgressPrinter progress(&m.registry(), absl::GetFlag(FLAGS_interval));
  RunOptions ro;
  ro.poll_timeout_ms = 20;
  ro.on_tick = [&] {
    (*sink)->Tick();  // the batch latency bound, also while no packet comes
    sync.Sync();
    progress.MaybePrint();
    if (exporters->statsd) exporters->statsd->MaybePush(&m);
  };
  std::fprintf(stderr, "%s: ready, reading %zu NFLOG group(s), sending to %s\n", kProgram,
               groups.size(), endpoint.c_str());
  absl::Status st = RunPipeline(**sock, {}, **sink, stop, ro, nullptr);
  if (st.ok()) {  // stopped by a signal: take what the kernel already queued, bounded
    const int drain_ms = absl::GetFlag(FLAGS_drain_ms);
    DrainResult dr;
    st = DrainNflog(**sock, **sink, ro, drain_ms, o.timeout_cs, &dr);
    if (st.ok() && dr.deadline_hit) {
      std::fprintf(stderr,
                   "%s: the drain stopped at --drain_ms=%d with packets still arriving; what "
                   "was left in the socket is not sent\n",
                   kProgram, drain_ms);
    }
  }
  (*sink)->Close();
  sync.Sync();
  if (exporters->statsd) exporters->statsd->Push(&m);
  progress.PrintFinal();
  zmq_ctx_term(ctx);  // waits at most --linger_ms for unsent messages
  return st.ok() ? 0 : tools::FatalExit(kProgram, st);
}

}  // namespace
}  // namespace pktkit::nflog

int main(int argc, char** argv) {
  const std::string usage_text = "nflog-zmq-send GROUPS ENDPOINT  (e.g. 5,6 tcp://10.0.0.2:5555)";
  std::vector<char*> args = pktkit::tools::ParseCommandLine(argc, argv, usage_text);
  if (args.size() != 3) {
    std::fprintf(stderr, "usage: nflog-zmq-send [flags] GROUPS ENDPOINT\n");
    return 2;
  }
  std::vector<uint16_t> groups;
  for (absl::string_view g : absl::StrSplit(args[1], ',')) {
    uint32_t v = 0;
    if (!absl::SimpleAtoi(g, &v) || v > 65535) {
      std::fprintf(stderr, "nflog-zmq-send: bad group '%s'\n", std::string(g).c_str());
      return 2;
    }
    groups.push_back(static_cast<uint16_t>(v));
  }
  return pktkit::nflog::Run(groups, args[2]);
}
