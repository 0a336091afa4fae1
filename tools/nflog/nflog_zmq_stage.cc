// nflog-zmq-compress IN OUT / nflog-zmq-decompress IN OUT — rate control as a separate stage.
// Both PULL on IN (bound by default: senders connect) and PUSH to OUT (connected by default).
// compress: every incoming record goes through the rate controller (pass / compress / drop
// by the watermarks, exactly as in nflog-zmq-send). decompress: every incoming message leaves
// as one raw message with the same records. Built twice from this file (NFLOG_STAGE_COMPRESS).
#include <zmq.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "tools/common/metrics.h"
#include "tools/common/progress.h"
#include "tools/common/signals.h"
#include "tools/nflog/codec.h"
#include "tools/nflog/message.h"
#include "tools/nflog/pipe_common.h"
#include "tools/nflog/rate_control.h"
#include "tools/common/cli.h"

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

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "%s: %s\n", kName, std::string(s.message()).c_str());
  return 1;
}

int Run(const std::string& in_ep, const std::string& out_ep) {
  tools::InstallStopHandlers();
  PipeMetrics m(kCompress ? "compress" : "decompress");
  tools::Counter* in_packets = m.Add("in_packets", "records received");
  tools::Counter* in_bytes = m.Add("in_bytes", "message bytes received");
  tools::Counter* out_packets = m.Add("out_packets", "records sent");
  tools::Counter* out_bytes = m.Add("out_bytes", "message bytes sent");
  tools::Counter* compressed = m.Add("compressed_packets", "records sent compressed");
  tools::Counter* rate_dropped = m.Add("dropped_packets", "records dropped", "rate");
  tools::Counter* hwm_dropped = m.Add("dropped_packets", "records dropped", "hwm");
  tools::Counter* bad = m.Add("dropped_messages", "malformed messages dropped", "malformed");

  void* ctx = zmq_ctx_new();
  void* pull = zmq_socket(ctx, ZMQ_PULL);
  void* push = zmq_socket(ctx, ZMQ_PUSH);
  const int hwm = absl::GetFlag(FLAGS_hwm), linger = 2000;
  zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
  absl::Status st = Attach(pull, in_ep, !absl::GetFlag(FLAGS_connect_in));
  if (st.ok()) st = Attach(push, out_ep, absl::GetFlag(FLAGS_bind_out));
  if (!st.ok()) return Fail(st);
  auto exporters = StartExporters(m, absl::GetFlag(FLAGS_metrics), absl::GetFlag(FLAGS_statsd));
  if (!exporters.ok()) return Fail(exporters.status());
  std::unique_ptr<tools::MetricsServer> server = std::move(exporters->prometheus);
  std::unique_ptr<StatsdClient> statsd = std::move(exporters->statsd);
  auto send = [&](const std::vector<uint8_t>& msg, uint32_t n) {
    if (zmq_send(push, msg.data(), msg.size(), 0) >= 0) {
      out_packets->Add(n);
      out_bytes->Add(msg.size());
    } else {
      hwm_dropped->Add(n);
    }
  };
  RateControlConfig cfg;
  const uint64_t low = absl::GetFlag(FLAGS_low_watermark);
  const uint64_t high = absl::GetFlag(FLAGS_high_watermark);
  cfg.low_bps = low == 0 ? kUnlimited : low;
  cfg.high_bps = high == 0 ? kUnlimited : high;
  cfg.codec = absl::GetFlag(FLAGS_codec) == "zlib" ? MessageKind::kZlib : MessageKind::kZstd;
  cfg.max_batch_latency_ns = int64_t{absl::GetFlag(FLAGS_batch_latency_ms)} * 1000000;
  uint8_t flags = 0;
  cfg.flags = HostTlvFlags();
  BatchEncoder enc(cfg, send);
  uint64_t compressed_seen = 0, dropped_seen = 0;

  tools::ProgressPrinter progress(&m.registry(), absl::GetFlag(FLAGS_interval));
  std::fprintf(stderr, "%s: ready, %s -> %s\n", kName, in_ep.c_str(), out_ep.c_str());
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  std::vector<uint8_t> scratch, body, out;
  int64_t last_statsd = MonotonicNs();
  while (!tools::StopRequested()) {
    zmq_pollitem_t item = {pull, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 20) < 0 && errno != EINTR) break;
    for (int i = 0; i < 1024 && (item.revents & ZMQ_POLLIN); ++i) {
      if (zmq_msg_recv(&msg, pull, ZMQ_DONTWAIT) < 0) break;
      in_bytes->Add(zmq_msg_size(&msg));
      const int64_t now = MonotonicNs();
      body.clear();
      uint32_t n = 0;
      const MessageError e = DecodeMessage(
          ByteSpan(static_cast<const uint8_t*>(zmq_msg_data(&msg)), zmq_msg_size(&msg)), &scratch,
          [&](const WireRecord& r, TlvByteOrder order) {
            ++n;
            flags = order == TlvByteOrder::kBig ? kFlagBigEndianTlv : 0;
            if (kCompress) {
              enc.Push(r.ts_ns, r.record, now);
            } else {
              AppendRecord(r.ts_ns, r.record, &body);
            }
          });
      if (e != MessageError::kOk) {
        bad->Add();
        continue;
      }
      in_packets->Add(n);
      if (!kCompress) {
        WriteMessageHeader(MessageKind::kRaw, flags, n, static_cast<uint32_t>(body.size()), &out);
        out.insert(out.end(), body.begin(), body.end());
        send(out, n);
      }
    }
    enc.EndBurst();
    enc.Tick(MonotonicNs());
    compressed->Add(enc.stats().compressed_packets.load() - compressed_seen);
    compressed_seen = enc.stats().compressed_packets.load();
    rate_dropped->Add(enc.stats().dropped_rate.load() - dropped_seen);
    dropped_seen = enc.stats().dropped_rate.load();
    progress.MaybePrint();
    if (statsd && MonotonicNs() - last_statsd > 1'000'000'000) {
      statsd->Push(&m);
      last_statsd = MonotonicNs();
    }
  }
  enc.Flush();
  compressed->Add(enc.stats().compressed_packets.load() - compressed_seen);
  if (statsd) statsd->Push(&m);
  progress.PrintFinal();
  zmq_msg_close(&msg);
  zmq_close(pull);
  zmq_close(push);
  zmq_ctx_term(ctx);
  return 0;
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
