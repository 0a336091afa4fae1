// nflog-zmq-compress IN OUT / nflog-zmq-decompress IN OUT — rate control as a separate stage.
// Both PULL on IN (bound by default: senders connect) and PUSH to OUT (connected by default).
// compress: every incoming record goes through the rate controller (pass / compress / drop
// by the watermarks, exactly as in nflog-zmq-send). decompress: every record leaves raw (the
// records of one read leave together). Built twice from this file (NFLOG_STAGE_COMPRESS).
// Wiring: ZmqPullSource (zmq_source.h) -> RunPipeline -> ZmqBatchSink (zmq_sink.h).
#include <zmq.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "pktkit/io/run.h"
#include "tools/common/cli.h"
#include "tools/common/metrics.h"
#include "tools/common/progress.h"
#include "tools/common/run_main.h"
#include "tools/common/signals.h"
#include "tools/nflog/message.h"
#include "tools/nflog/pipe_common.h"
#include "tools/nflog/pipe_counters.h"
#include "tools/nflog/rate_control.h"
#include "tools/nflog/zmq_sink.h"
#include "tools/nflog/zmq_source.h"

#ifdef NFLOG_STAGE_COMPRESS
constexpr bool kCompress = true;
constexpr char kName[] = "nflog-zmq-compress";
#else
constexpr bool kCompress = false;
constexpr char kName[] = "nflog-zmq-decompress";
#endif

ABSL_FLAG(bool, connect_in, false, "connect the PULL socket instead of binding");
ABSL_FLAG(bool, bind_out, false, "bind the PUSH socket instead of connecting");
ABSL_FLAG(int, hwm, 10000, "ZeroMQ high-water marks (messages)");
ABSL_FLAG(uint64_t, low_watermark, 0, "compress: bytes/s above which records are compressed");
ABSL_FLAG(uint64_t, high_watermark, 0, "compress: bytes/s above which records are dropped");
ABSL_FLAG(std::string, codec, "zstd", "compress: zstd or zlib");
ABSL_FLAG(int, batch_latency_ms, 50, "compress: longest time a record waits in a batch");
ABSL_FLAG(std::string, metrics, "", "serve Prometheus metrics on this address");
ABSL_FLAG(std::string, statsd, "", "send counters to statsd at host:port");
ABSL_FLAG(double, interval, 10, "seconds between counter lines on stderr (0 = only at exit)");

namespace pktkit::nflog {
namespace {

int Run(const std::string& in_ep, const std::string& out_ep) {
  tools::InstallStopHandlers();
  std::atomic<bool>& stop = tools::internal::StopFlag();
  void* ctx = zmq_ctx_new();
  ZmqPullOptions in;
  in.endpoint = in_ep;
  in.bind = !absl::GetFlag(FLAGS_connect_in);
  in.rcvhwm = absl::GetFlag(FLAGS_hwm);
  auto source = ZmqPullSource::Open(ctx, in);
  if (!source.ok()) return tools::FatalExit(kName, source.status());
  ZmqPushOptions out;
  out.endpoint = out_ep;
  out.bind = absl::GetFlag(FLAGS_bind_out);
  out.sndhwm = absl::GetFlag(FLAGS_hwm);
  out.block = true;  // a stage passes its back-pressure on (bounded once stopping)
  if (kCompress) {
    const uint64_t low = absl::GetFlag(FLAGS_low_watermark);
    const uint64_t high = absl::GetFlag(FLAGS_high_watermark);
    out.rate.low_bps = low == 0 ? kUnlimited : low;
    out.rate.high_bps = high == 0 ? kUnlimited : high;
    out.rate.codec = absl::GetFlag(FLAGS_codec) == "zlib" ? MessageKind::kZlib : MessageKind::kZstd;
    out.rate.max_batch_latency_ns = int64_t{absl::GetFlag(FLAGS_batch_latency_ms)} * 1000000;
  }  // decompress: no watermarks, so every record passes raw
  out.rate.flags = HostTlvFlags();
  auto sink = ZmqBatchSink::Open(ctx, out, &stop);
  if (!sink.ok()) return tools::FatalExit(kName, sink.status());

  // The sink's and the source's totals, mirrored in one place (what left first).
  PipeMetrics m(kCompress ? "compress" : "decompress");
  tools::CounterSync sync;
  WatchZmqSink(**sink, &m, &sync);
  WatchZmqSource(**source, &m, &sync);
  auto exporters = StartExporters(m, absl::GetFlag(FLAGS_metrics), absl::GetFlag(FLAGS_statsd));
  if (!exporters.ok()) return tools::FatalExit(kName, exporters.status());

  tools::ProgressPrinter progress(&m.registry(), absl::GetFlag(FLAGS_interval));
  RunOptions ro;
  ro.poll_timeout_ms = 20;
  ro.on_tick = [&] {
    (*sink)->Tick();  // the batch latency bound, also while nothing comes
    sync.Sync();
    progress.MaybePrint();
    if (exporters->statsd) exporters->statsd->MaybePush(&m);
  };
  std::fprintf(stderr, "%s: ready, %s -> %s\n", kName, in_ep.c_str(), out_ep.c_str());
  const absl::Status st = RunPipeline(**source, {}, **sink, stop, ro, nullptr);
  (*sink)->Close();
  sync.Sync();
  if (exporters->statsd) exporters->statsd->Push(&m);
  progress.PrintFinal();
  source->reset();
  zmq_ctx_term(ctx);  // waits at most ZMQ_LINGER (2 s) for unsent messages
  return st.ok() ? 0 : tools::FatalExit(kName, st);
}

}  // namespace
}  // namespace pktkit::nflog

int main(int argc, char** argv) {
  const std::string usage_text = std::string(kName) + " IN_ENDPOINT OUT_ENDPOINT";
  std::vector<char*> args = pktkit::tools::ParseCommandLine(argc, argv, usage_text);
  if (args.size() != 3) {
    std::fprintf(stderr, "usage: %s [flags] IN_ENDPOINT OUT_ENDPOINT\n", kName);
    return 2;
  }
  return pktkit::nflog::Run(args[1], args[2]);
}
