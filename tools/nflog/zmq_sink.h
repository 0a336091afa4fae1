// tools/nflog/zmq_sink.h — the NFLOG pipe's sender side as a PacketSink: every packet view
// (an NFLOG record, from pktkit/io/nflog_socket.h) goes through the rate controller of
// tools/nflog/rate_control.h (pass raw / batch and compress / drop by the watermarks) and the
// resulting pipe messages (tools/nflog/message.h) leave on a ZeroMQ PUSH socket.
//
//   ZmqPushOptions o;  o.endpoint = "tcp://10.0.0.2:5555";  o.rate.low_bps = 10'000'000;
//   auto sink = ZmqBatchSink::Open(ctx, o, &tools::internal::StopFlag());
//   RunOptions ro;  ro.on_tick = [&] { (*sink)->Tick(); };     // the batch latency bound
//   absl::Status s = RunPipeline(nflog_socket, {}, **sink, stop, ro, nullptr);
//   (*sink)->Close();                                          // ZMQ_LINGER bounds the wait
//
// Counting: stats().packets/bytes are records/message bytes ZeroMQ accepted; records it
// refused at the high-water mark (or whose send a stop signal interrupted) are `hwm` drops,
// records above the high watermark are `rate` drops (EncoderStats). A send error other than
// EAGAIN/EINTR (a terminated context, a closed socket) cannot be recovered from: its records
// are counted as send_error and Write/Flush return the error. With `block`, sends wait at the
// high-water mark, but once `stop` is set each waits at most linger_ms. Not thread-safe.
// Reference: zmq_send(3), zmq_setsockopt(3) (ZMQ_SNDHWM, ZMQ_LINGER, ZMQ_SNDTIMEO).
#ifndef PKTKIT_TOOLS_NFLOG_ZMQ_SINK_H_
#define PKTKIT_TOOLS_NFLOG_ZMQ_SINK_H_

#include <zmq.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/sink.h"
#include "tools/nflog/pipe_common.h"
#include "tools/nflog/rate_control.h"

namespace pktkit::nflog {

struct ZmqPushOptions {
  std::string endpoint;       // e.g. tcp://10.0.0.2:5555
  bool bind = false;          // bind instead of connect
  int sndhwm = 10000;         // ZMQ_SNDHWM (messages)
  int linger_ms = 2000;       // ZMQ_LINGER: longest wait at Close() for unsent messages
  bool block = false;         // wait at the high-water mark instead of dropping
  CurveOptions curve;         // client keys; off when curve.secret_key_file is empty
  RateControlConfig rate;     // watermarks, codec, batch bounds
  std::function<int64_t()> clock = MonotonicNs;  // the encoder's time (tests pass a fake)
};

struct ZmqSinkStats {
  uint64_t messages = 0;              // messages ZeroMQ accepted
  uint64_t packets = 0;               // records in them
  uint64_t bytes = 0;                 // message bytes in them
  uint64_t hwm_dropped_packets = 0;   // refused at the high-water mark / interrupted by stop
  uint64_t hwm_dropped_messages = 0;
  uint64_t send_error_packets = 0;    // lost to a fatal send error
};

class ZmqBatchSink : public PacketSink {
 public:
  // Creates the PUSH socket in `ctx` (which must outlive the sink), applies the options and
  // CURVE, and binds or connects. `stop` (may be null): while it is false, a send that a
  // signal interrupted is retried; once it is true the records are counted as hwm drops, and
  // blocking sends are bounded by linger_ms.
  // Errors name the endpoint or the option that failed.
  static absl::StatusOr<std::unique_ptr<ZmqBatchSink>> Open(void* ctx, const ZmqPushOptions& o,
                                                            const std::atomic<bool>* stop) {
    void* push = zmq_socket(ctx, ZMQ_PUSH);
    if (push == nullptr) {
      return absl::InternalError(absl::StrCat("zmq_socket(PUSH): ", zmq_strerror(errno)));
    }
    std::unique_ptr<ZmqBatchSink> s(new ZmqBatchSink(push, o, stop));
    absl::Status st = SetOpt(push, ZMQ_SNDHWM, &o.sndhwm, sizeof o.sndhwm, "ZMQ_SNDHWM");
    if (st.ok()) st = SetOpt(push, ZMQ_LINGER, &o.linger_ms, sizeof o.linger_ms, "ZMQ_LINGER");
    if (st.ok()) st = ApplyCurve(push, o.curve, /*server=*/false);
    if (st.ok()) st = Attach(push, o.endpoint, o.bind);
    if (!st.ok()) return st;
    return s;
  }

  ~ZmqBatchSink() override { Close(); }
  ZmqBatchSink(const ZmqBatchSink&) = delete;
  ZmqBatchSink& operator=(const ZmqBatchSink&) = delete;

  // Every view's bytes are one record (its timestamp goes with it). Records the kernel handed
  // over together leave together (EndBurst); a compressed batch waits at most the latency bound.
  absl::Status Write(const PacketBatch& batch) override {
    const int64_t now = options_.clock();
    for (const PacketView& p : batch) enc_.Push(p.timestamp_ns, p.bytes(), now);
    enc_.EndBurst();
    enc_.Tick(now);
    return error_;
  }

  // Sends everything pending: the raw records and the partly filled compressed batch.
  absl::Status Flush() override {
    enc_.Flush();
    return error_;
  }

  // Sends a compressed batch that is older than the latency bound; call it while idle too
  // (RunOptions::on_tick), so that a quiet period does not hold records back.
  void Tick() { enc_.Tick(options_.clock()); }

  // Sends what is pending and closes the socket; the context's zmq_ctx_term then waits at most
  // linger_ms for unsent messages. Safe to call twice.
  void Close() {
    if (push_ == nullptr) return;
    enc_.Flush();
    zmq_close(push_);
    push_ = nullptr;
  }

  SinkStats stats() const override {
    SinkStats s;
    s.packets = stats_.packets;
    s.bytes = stats_.bytes;
    s.dropped = stats_.hwm_dropped_packets + stats_.send_error_packets +
                enc_.stats().dropped_rate.load(std::memory_order_relaxed);
    return s;
  }
  const ZmqSinkStats& zmq_stats() const { return stats_; }
  const EncoderStats& encoder_stats() const { return enc_.stats(); }

 private:
  ZmqBatchSink(void* push, const ZmqPushOptions& o, const std::atomic<bool>* stop)
      : push_(push),
        options_(o),
        stop_(stop),
        enc_(o.rate, [this](const std::vector<uint8_t>& m, uint32_t n) { Send(m, n); }) {}

  void Send(const std::vector<uint8_t>& msg, uint32_t n) {
    if (push_ == nullptr || !error_.ok()) {
      stats_.send_error_packets += n;
      return;
    }
    const int flags = options_.block ? 0 : ZMQ_DONTWAIT;
    if (options_.block && !bounded_ && stop_ != nullptr && stop_->load()) {
      // Stopping: a receiver that went away must not hold the exit forever. Each blocking
      // send now waits at most linger_ms (ZMQ_SNDTIMEO); one that times out is an hwm drop.
      zmq_setsockopt(push_, ZMQ_SNDTIMEO, &options_.linger_ms, sizeof options_.linger_ms);
      bounded_ = true;
    }
    while (zmq_send(push_, msg.data(), msg.size(), flags) < 0) {
      if (errno == EINTR && (stop_ == nullptr || !stop_->load(std::memory_order_relaxed))) {
        continue;
      }
      if (errno == EAGAIN || errno == EINTR) {
        stats_.hwm_dropped_packets += n;
        ++stats_.hwm_dropped_messages;
      } else {
        error_ = absl::UnavailableError(absl::StrCat("zmq_send(", options_.endpoint,
                                                     "): ", zmq_strerror(errno)));
        stats_.send_error_packets += n;
      }
      return;
    }
    ++stats_.messages;
    stats_.packets += n;
    stats_.bytes += msg.size();
  }

  void* push_;
  ZmqPushOptions options_;
  const std::atomic<bool>* stop_;
  ZmqSinkStats stats_;
  absl::Status error_;
  bool bounded_ = false;  // ZMQ_SNDTIMEO set (block mode, once stopping)
  BatchEncoder enc_;  // last: its callback uses the members above
};

}  // namespace pktkit::nflog

#endif  // PKTKIT_TOOLS_NFLOG_ZMQ_SINK_H_
