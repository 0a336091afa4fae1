// nflog-pcap-recv ENDPOINT DEST — receives NFLOG pipe messages from any number of senders
// (PULL, bound by default) and writes a pcap stream to DEST: a file, a FIFO or "-" (stdout).
// Keeps an optional window of recent traffic for nflog-pcap-query. See docs/nflog.md.
#include <zmq.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "pktkit/wire/nflog.h"
#include "tools/common/cli.h"
#include "tools/common/metrics.h"
#include "tools/common/privileges.h"
#include "tools/common/progress.h"
#include "tools/common/run_main.h"
#include "tools/common/signals.h"
#include "tools/nflog/codec.h"
#include "tools/nflog/message.h"
#include "tools/nflog/pcap_sink.h"
#include "tools/nflog/pipe_common.h"

ABSL_FLAG(bool, connect, false, "connect the PULL socket instead of binding");
ABSL_FLAG(std::string, linktype, "nflog",
          "pcap link type: nflog (LINKTYPE_NFLOG 239, metadata kept) or raw (LINKTYPE_RAW 101)");
ABSL_FLAG(int, rcvhwm, 10000, "ZeroMQ receive high-water mark (messages)");
ABSL_FLAG(uint32_t, snaplen, 262144, "pcap snap length");
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

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "nflog-pcap-recv: %s\n", std::string(s.message()).c_str());
  return 1;
}

int Run(const std::string& endpoint, const std::string& dest) {
  tools::InstallStopHandlers();
  const std::string lt_name = absl::GetFlag(FLAGS_linktype);
  if (lt_name != "nflog" && lt_name != "raw") {
    return Fail(absl::InvalidArgumentError("--linktype must be nflog or raw"));
  }
  const LinkType lt = lt_name == "raw" ? LinkType::kRaw : LinkType::kNflog;
  const uint32_t snaplen = absl::GetFlag(FLAGS_snaplen);
  PipeMetrics m("recv");
  tools::Counter* in_messages = m.Add("in_messages", "ZeroMQ messages received");
  tools::Counter* in_bytes = m.Add("in_bytes", "message bytes received");
  tools::Counter* in_packets = m.Add("in_packets", "packets received");
  tools::Counter* in_compressed = m.Add("compressed_packets", "packets that came compressed");
  tools::Counter* out_packets = m.Add("out_packets", "packets written to the pcap stream");
  tools::Counter* out_bytes = m.Add("out_bytes", "packet bytes written");
  constexpr size_t kMessageErrors = static_cast<size_t>(MessageError::kCount);
  constexpr size_t kNflogErrors = static_cast<size_t>(NflogError::kCount);
  tools::Counter* bad_msgs[kMessageErrors] = {};
  for (size_t e = 1; e < kMessageErrors; ++e) {
    bad_msgs[e] = m.Add("dropped_messages", "messages dropped",
                        MessageErrorName(static_cast<MessageError>(e)));
  }
  tools::Counter* bad_nflog[kNflogErrors] = {};
  for (size_t e = 1; e < kNflogErrors; ++e) {
    bad_nflog[e] = m.Add("dropped_packets", "packets dropped (bad NFLOG record)",
                         NflogErrorName(static_cast<NflogError>(e)));
  }
  tools::Counter* no_payload = m.Add("dropped_packets", "packets dropped", "no_payload");
  tools::Counter* no_reader = m.Add("dropped_packets", "packets dropped", "no_reader");
  tools::Counter* write_err = m.Add("dropped_packets", "packets dropped", "write_error");
  tools::Counter* reader_gone = m.Add("fifo_reader_gone", "FIFO readers that went away");
  tools::Counter* reopens = m.Add("fifo_reopens", "FIFO reopened with a fresh pcap header");
  tools::Counter* queries = m.Add("queries", "buffer-window queries answered");

  void* ctx = zmq_ctx_new();
  void* pull = zmq_socket(ctx, ZMQ_PULL);
  const int hwm = absl::GetFlag(FLAGS_rcvhwm), linger = 0;
  zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(pull, ZMQ_LINGER, &linger, sizeof linger);
  CurveOptions curve{absl::GetFlag(FLAGS_curve_secret_key), "", ""};
  absl::Status st = ApplyCurve(pull, curve, /*server=*/true);
  if (st.ok()) st = Attach(pull, endpoint, !absl::GetFlag(FLAGS_connect));
  if (!st.ok()) return Fail(st);
  void* rep = nullptr;
  const uint64_t window_bytes = absl::GetFlag(FLAGS_buffer_window);
  RecentWindow window(window_bytes);
  if (window_bytes > 0) {
    rep = zmq_socket(ctx, ZMQ_REP);
    zmq_setsockopt(rep, ZMQ_LINGER, &linger, sizeof linger);
    st = ApplyCurve(rep, curve, /*server=*/true);
    if (st.ok()) st = Attach(rep, absl::GetFlag(FLAGS_query), /*bind=*/true);
    if (!st.ok()) return Fail(st);
  }
  auto sink = PcapStreamSink::Open(dest, lt, snaplen);
  if (!sink.ok()) return Fail(sink.status());

  auto exporters = StartExporters(m, absl::GetFlag(FLAGS_metrics), absl::GetFlag(FLAGS_statsd));
  if (!exporters.ok()) return Fail(exporters.status());
  if (absl::Status d = tools::DropPrivileges(absl::GetFlag(FLAGS_user)); !d.ok()) return Fail(d);
  std::unique_ptr<tools::MetricsServer> server = std::move(exporters->prometheus);
  std::unique_ptr<StatsdClient> statsd = std::move(exporters->statsd);
  tools::ProgressPrinter progress(&m.registry(), absl::GetFlag(FLAGS_interval));
  std::fprintf(stderr, "nflog-pcap-recv: ready, receiving on %s, writing %s\n", endpoint.c_str(),
               dest.c_str());
  // The sink's totals, mirrored into the registry in one place.
  tools::CounterSync sync_sink;
  const SinkStats& sink_stats = (*sink)->stats();
  sync_sink.Watch(no_reader, [&sink_stats] { return sink_stats.dropped_no_reader; });
  sync_sink.Watch(write_err, [&sink_stats] { return sink_stats.write_errors; });
  sync_sink.Watch(reader_gone, [&sink_stats] { return sink_stats.reader_gone; });
  sync_sink.Watch(reopens, [&sink_stats] { return sink_stats.reopens; });

  zmq_msg_t msg;
  zmq_msg_init(&msg);
  std::vector<uint8_t> scratch;
  int64_t last_statsd = MonotonicNs();
  auto deliver = [&](const WireRecord& r, TlvByteOrder order) {
    ByteSpan out = r.record;
    if (lt == LinkType::kRaw) {
      NflogRecord rec;
      const NflogError e = ParseNflog(r.record, order, &rec);
      if (e != NflogError::kOk) {
        bad_nflog[static_cast<int>(e)]->Add();
        return;
      }
      if (!rec.has_payload) {
        no_payload->Add();
        return;
      }
      out = rec.payload;
    }
    (*sink)->Write(out, static_cast<uint32_t>(out.size), r.ts_ns);
    window.Add(out, static_cast<uint32_t>(out.size), r.ts_ns);
    out_packets->Add();
    out_bytes->Add(out.size);
  };
  absl::Status fatal;
  while (!tools::StopRequested()) {
    zmq_pollitem_t items[2] = {{pull, 0, ZMQ_POLLIN, 0}, {rep, 0, ZMQ_POLLIN, 0}};
    const int rc = zmq_poll(items, rep != nullptr ? 2 : 1, 50);
    if (rc < 0 && errno != EINTR) {  // fatal: flush what arrived, then exit 1 with one line
      fatal = absl::UnavailableError(absl::StrCat("zmq_poll: ", zmq_strerror(errno)));
      break;
    }
    // Drain what is queued (bounded, so queries are answered in between).
    for (int i = 0; i < 1024 && (items[0].revents & ZMQ_POLLIN); ++i) {
      if (zmq_msg_recv(&msg, pull, ZMQ_DONTWAIT) < 0) break;
      in_messages->Add();
      in_bytes->Add(zmq_msg_size(&msg));
      MessageHeader h;
      const MessageError e = DecodeMessage(
          ByteSpan(static_cast<const uint8_t*>(zmq_msg_data(&msg)), zmq_msg_size(&msg)), &scratch,
          deliver, &h);
      if (e != MessageError::kOk) {
        bad_msgs[static_cast<int>(e)]->Add();
        continue;
      }
      in_packets->Add(h.count);
      if (h.kind != MessageKind::kRaw) in_compressed->Add(h.count);
    }
    (*sink)->Flush();
    if (rep != nullptr && (items[1].revents & ZMQ_POLLIN)) {
      if (zmq_msg_recv(&msg, rep, ZMQ_DONTWAIT) >= 0) {
        const std::string dump = window.Dump(lt, snaplen);
        zmq_send(rep, dump.data(), dump.size(), 0);
        queries->Add();
      }
    }
    sync_sink.Sync();
    progress.MaybePrint();
    const int64_t now = MonotonicNs();
    if (statsd && now - last_statsd > 1'000'000'000) {
      statsd->Push(&m);
      last_statsd = now;
    }
  }
  (*sink)->Flush();
  sync_sink.Sync();
  if (statsd) statsd->Push(&m);
  progress.PrintFinal();
  zmq_msg_close(&msg);
  zmq_close(pull);
  if (rep != nullptr) zmq_close(rep);
  zmq_ctx_term(ctx);
  return fatal.ok() ? 0 : Fail(fatal);
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
