// nflog-zmq-send GROUPS ENDPOINT — reads NFLOG groups (comma-separated, e.g. "5,6") and sends
// every packet over ZeroMQ (PUSH, connect by default), under rate control. See docs/nflog.md.
#include <zmq.h>

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
#include "tools/nflog/pipe_common.h"
#include "tools/nflog/rate_control.h"

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

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "nflog-zmq-send: %s\n", std::string(s.message()).c_str());
  return 1;
}

int Run(const std::vector<uint16_t>& groups, const std::string& endpoint) {
  tools::InstallStopHandlers();
  PipeMetrics m("send");
  tools::Counter* in_packets = m.Add("in_packets", "NFLOG packets read from the kernel");
  tools::Counter* in_bytes = m.Add("in_bytes", "NFLOG record bytes read");
  tools::Counter* out_messages = m.Add("out_messages", "ZeroMQ messages sent");
  tools::Counter* out_packets = m.Add("out_packets", "packets sent (raw or in batches)");
  tools::Counter* out_bytes = m.Add("out_bytes", "message bytes sent");
  tools::Counter* hwm_dropped = m.Add("dropped_packets", "packets dropped", "hwm");
  tools::Counter* hwm_dropped_msgs = m.Add("dropped_messages", "messages dropped", "hwm");
  tools::Counter* kernel_lost = m.Add("dropped_packets", "packets dropped", "kernel_overrun");
  tools::Counter* kernel_overruns =
      m.Add("kernel_overruns", "ENOBUFS events on the netlink socket");
  tools::Counter* parse_errors = m.Add("dropped_packets", "packets dropped", "parse_error");

  NflogSocketOptions o;
  o.groups = groups;
  o.rcvbuf_bytes = absl::GetFlag(FLAGS_rcvbuf);
  o.nlbufsiz_bytes = absl::GetFlag(FLAGS_nlbufsiz);
  o.qthresh = absl::GetFlag(FLAGS_qthresh);
  o.timeout_cs = absl::GetFlag(FLAGS_flush_timeout_cs);
  o.copy_range = absl::GetFlag(FLAGS_copy_range);
  auto sock = NflogSocket::Open(o);
  if (!sock.ok()) return Fail(sock.status());

  void* ctx = zmq_ctx_new();
  void* push = zmq_socket(ctx, ZMQ_PUSH);
  const int hwm = absl::GetFlag(FLAGS_sndhwm), linger = 2000;
  zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
  CurveOptions curve{absl::GetFlag(FLAGS_curve_secret_key), absl::GetFlag(FLAGS_curve_public_key),
                     absl::GetFlag(FLAGS_curve_server_key)};
  absl::Status st = ApplyCurve(push, curve, /*server=*/false);
  if (st.ok()) st = Attach(push, endpoint, absl::GetFlag(FLAGS_bind));
  if (!st.ok()) return Fail(st);
  st = tools::DropPrivileges(absl::GetFlag(FLAGS_user));
  if (!st.ok()) return Fail(st);

  auto exporters = StartExporters(m, absl::GetFlag(FLAGS_metrics), absl::GetFlag(FLAGS_statsd));
  if (!exporters.ok()) return Fail(exporters.status());
  std::unique_ptr<tools::MetricsServer> server = std::move(exporters->prometheus);
  std::unique_ptr<StatsdClient> statsd = std::move(exporters->statsd);

  RateControlConfig cfg;
  const uint64_t low = absl::GetFlag(FLAGS_low_watermark),
                 high = absl::GetFlag(FLAGS_high_watermark);
  cfg.low_bps = low == 0 ? kUnlimited : low;
  cfg.high_bps = high == 0 ? kUnlimited : high;
  cfg.codec = absl::GetFlag(FLAGS_codec) == "zlib" ? MessageKind::kZlib : MessageKind::kZstd;
  cfg.max_batch_latency_ns = int64_t{absl::GetFlag(FLAGS_batch_latency_ms)} * 1000000;
  cfg.flags = HostTlvFlags();
  const int send_flags = absl::GetFlag(FLAGS_block) ? 0 : ZMQ_DONTWAIT;
  BatchEncoder enc(cfg, [&](const std::vector<uint8_t>& msg, uint32_t n) {
    while (true) {
      if (zmq_send(push, msg.data(), msg.size(), send_flags) >= 0) {
        out_messages->Add();
        out_packets->Add(n);
        out_bytes->Add(msg.size());
        return;
      }
      if (errno == EINTR && !tools::StopRequested()) continue;
      hwm_dropped->Add(n);
      hwm_dropped_msgs->Add();
      return;
    }
  });
  const EncoderStats& es = enc.stats();
  auto gauge = [&m](const char* name, const char* help, const std::atomic<uint64_t>* v) {
    m.registry().AddGauge(name, help, [v] { return static_cast<double>(v->load()); });
  };
  gauge("pktkit_nflog_send_batches", "compressed batches sent", &es.batches);
  gauge("pktkit_nflog_send_batch_bytes_in", "bytes before compression", &es.batch_bytes_in);
  gauge("pktkit_nflog_send_batch_bytes_out", "bytes after compression", &es.batch_bytes_out);
  // The socket's and the encoder's totals, mirrored into the registry in one place.
  tools::CounterSync sync;
  const NflogSocketStats& ss = (*sock)->stats();
  sync.Watch(kernel_overruns, [&ss] { return ss.kernel_overruns; });
  sync.Watch(kernel_lost, [&ss] { return ss.kernel_lost_packets; });
  sync.Watch(parse_errors, [&ss] {
    uint64_t pe = 0;
    for (uint64_t v : ss.parse_errors) pe += v;
    return pe;
  });
  sync.Watch(m.Add("compressed_packets", "packets sent compressed"),
             [&es] { return es.compressed_packets.load(); });
  sync.Watch(m.Add("dropped_packets", "packets dropped", "rate"),
             [&es] { return es.dropped_rate.load(); });

  tools::ProgressPrinter progress(&m.registry(), absl::GetFlag(FLAGS_interval));
  std::fprintf(stderr, "nflog-zmq-send: ready, reading %zu NFLOG group(s), sending to %s\n",
               groups.size(), endpoint.c_str());
  int64_t last_statsd = MonotonicNs();
  bool draining = false;
  int64_t drain_until = 0;
  absl::Status fatal;
  while (true) {
    if (tools::StopRequested() && !draining) {
      // Unbinding makes the kernel flush its partly filled message; read it, then stop.
      draining = true;
      if (!(*sock)->UnbindAll().ok()) {
        // Without CAP_NET_ADMIN (after --user) the kernel cannot be told to flush: read for
        // one flush timeout (the kernel default is 1 s) instead.
        const uint32_t cs = absl::GetFlag(FLAGS_flush_timeout_cs);
        drain_until = MonotonicNs() + (int64_t{cs == 0 ? 100 : cs} * 10 + 50) * 1000000;
      }
    }
    auto batch = (*sock)->NextBatch(draining && drain_until == 0 ? 0 : 20);
    if (!batch.ok()) {  // fatal: send what is batched, then exit 1 with one line
      fatal = batch.status();
      break;
    }
    const int64_t now = MonotonicNs();
    for (const PacketView& p : *batch) {
      in_packets->Add();
      in_bytes->Add(p.caplen);
      enc.Push(p.timestamp_ns, p.bytes(), now);
    }
    enc.EndBurst();
    const bool empty = batch->empty();
    (*sock)->ReleaseBatch();
    if (draining && empty && MonotonicNs() >= drain_until) break;
    enc.Tick(now);
    sync.Sync();
    progress.MaybePrint();
    if (statsd && now - last_statsd > 1'000'000'000) {
      statsd->Push(&m);
      last_statsd = now;
    }
  }
  enc.Flush();
  sync.Sync();
  if (statsd) statsd->Push(&m);
  progress.PrintFinal();
  zmq_close(push);
  zmq_ctx_term(ctx);
  return fatal.ok() ? 0 : Fail(fatal);
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
