// tools/nflog/rate_control.h — rate control for the NFLOG pipe: below the low watermark
// (bytes/s) records pass as they are, above it they are batched and compressed, above the high
// watermark they are dropped (counted). No record is lost at a mode switch: a pending batch is
// always sent before a raw record or a drop, so order is kept and nothing is thrown away.
// Batch latency is bounded by max_batch_latency_ns (call Tick() from the poll loop).
//
//   RateControlConfig cfg;  cfg.low_bps = 10'000'000;  cfg.high_bps = 50'000'000;
//   BatchEncoder enc(cfg, [&](const std::vector<uint8_t>& msg, uint32_t n) { zmq_send(...); });
//   enc.Push(ts_ns, record, now_ns);   // per record
//   enc.EndBurst();                    // after each batch read from the source
//   enc.Tick(now_ns);                  // on every poll wake-up
//   enc.Flush();                       // at exit
//
// Time is always passed in (no clock reads), so tests drive it with a fake clock and are
// deterministic. Counters are relaxed atomics so a metrics thread may read them.
#ifndef PKTKIT_TOOLS_NFLOG_RATE_CONTROL_H_
#define PKTKIT_TOOLS_NFLOG_RATE_CONTROL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "tools/nflog/codec.h"
#include "tools/nflog/message.h"

namespace pktkit::nflog {

inline constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

struct RateControlConfig {
  uint64_t low_bps = kUnlimited;    // bytes/s above which records are compressed
  uint64_t high_bps = kUnlimited;   // bytes/s above which records are dropped
  int64_t window_ns = 100'000'000;  // rate measurement window
  size_t max_batch_bytes = 256 * 1024;
  uint32_t max_batch_records = 4096;
  int64_t max_batch_latency_ns = 50'000'000;
  size_t max_raw_bytes = 256 * 1024;  // raw records of one burst share a message up to this
  MessageKind codec = MessageKind::kZstd;
  int level = 1;
  uint8_t flags = 0;  // message flags (TLV byte order of the records)
};

enum class RateMode : uint8_t { kPass = 0, kCompress = 1, kDrop = 2 };

inline const char* RateModeName(RateMode m) {
  return m == RateMode::kPass ? "pass" : m == RateMode::kCompress ? "compress" : "drop";
}

// Measures the offered rate in fixed windows. The estimate is the larger of the last complete
// window's rate and the current window's bytes so far over a full window: it rises within a
// window (a burst is caught at once) and falls one window after the load does.
class RateController {
 public:
  explicit RateController(const RateControlConfig& cfg) : cfg_(cfg) {}

  // Accounts `bytes` offered at `now_ns` and returns the mode for them.
  RateMode Observe(uint64_t bytes, int64_t now_ns) {
    if (!started_) {
      started_ = true;
      window_start_ = now_ns;
    }
    if (now_ns - window_start_ >= cfg_.window_ns) {
      const int64_t elapsed = now_ns - window_start_;
      // Idle windows count as zero: the rate over everything since the window opened.
      last_rate_ = static_cast<uint64_t>(static_cast<double>(window_bytes_) * 1e9 /
                                         static_cast<double>(elapsed));
      window_bytes_ = 0;
      window_start_ = now_ns;
    }
    window_bytes_ += bytes;
    const uint64_t current = static_cast<uint64_t>(static_cast<double>(window_bytes_) * 1e9 /
                                                   static_cast<double>(cfg_.window_ns));
    rate_ = last_rate_ > current ? last_rate_ : current;
    if (rate_ > cfg_.high_bps) return mode_ = RateMode::kDrop;
    if (rate_ > cfg_.low_bps) return mode_ = RateMode::kCompress;
    return mode_ = RateMode::kPass;
  }
  uint64_t rate_bps() const { return rate_; }
  RateMode mode() const { return mode_; }

 private:
  RateControlConfig cfg_;
  bool started_ = false;
  int64_t window_start_ = 0;
  uint64_t window_bytes_ = 0;
  uint64_t last_rate_ = 0;
  uint64_t rate_ = 0;
  RateMode mode_ = RateMode::kPass;
};

struct EncoderStats {
  std::atomic<uint64_t> in_packets{0}, in_bytes{0};
  std::atomic<uint64_t> raw_packets{0};         // sent as kRaw messages
  std::atomic<uint64_t> compressed_packets{0};  // sent inside compressed batches
  std::atomic<uint64_t> batches{0}, batch_bytes_in{0}, batch_bytes_out{0};
  std::atomic<uint64_t> dropped_rate{0}, dropped_rate_bytes{0};  // above the high watermark
  std::atomic<uint64_t> compress_failed{0};  // batch sent raw-records-uncompressed instead
  std::atomic<uint64_t> mode_switches{0};
};

// Turns records into messages under rate control. The sink receives each message and the
// number of records in it; it is called synchronously from Push/Tick/Flush.
class BatchEncoder {
 public:
  using Sink = std::function<void(const std::vector<uint8_t>& msg, uint32_t records)>;

  BatchEncoder(const RateControlConfig& cfg, Sink sink)
      : cfg_(cfg), rc_(cfg), sink_(std::move(sink)) {}
  ~BatchEncoder() = default;

  void Push(int64_t ts_ns, ByteSpan record, int64_t now_ns) {
    stats_.in_packets.fetch_add(1, std::memory_order_relaxed);
    stats_.in_bytes.fetch_add(record.size, std::memory_order_relaxed);
    const RateMode m = rc_.Observe(record.size, now_ns);
    if (m != last_mode_) {
      stats_.mode_switches.fetch_add(1, std::memory_order_relaxed);
      last_mode_ = m;
    }
    switch (m) {
      case RateMode::kDrop:
        Flush();  // pending records are sent, never thrown away
        stats_.dropped_rate.fetch_add(1, std::memory_order_relaxed);
        stats_.dropped_rate_bytes.fetch_add(record.size, std::memory_order_relaxed);
        return;
      case RateMode::kPass:
        FlushCompressed();  // keeps order: the batch's records went in before this one
        AppendRecord(ts_ns, record, &raw_);
        ++raw_count_;
        if (raw_.size() - kMessageHeaderSize >= cfg_.max_raw_bytes) FlushRaw();
        return;
      case RateMode::kCompress:
        FlushRaw();
        if (batch_count_ == 0) batch_start_ns_ = now_ns;
        AppendRecord(ts_ns, record, &batch_);
        ++batch_count_;
        if (batch_.size() - kMessageHeaderSize >= cfg_.max_batch_bytes ||
            batch_count_ >= cfg_.max_batch_records) {
          FlushCompressed();
        }
        return;
    }
  }

  // Ends a burst: records that passed raw since the last call leave now, together in one
  // message (records the caller read together, so no latency is added). Call it after each
  // batch from the source.
  void EndBurst() { FlushRaw(); }

  // Sends the pending batch if it is older than the latency bound.
  void Tick(int64_t now_ns) {
    if (batch_count_ != 0 && now_ns - batch_start_ns_ >= cfg_.max_batch_latency_ns) Flush();
  }

  // Sends everything pending (raw and compressed) now.
  void Flush() {
    FlushRaw();
    FlushCompressed();
  }

  void FlushRaw() {
    if (raw_count_ == 0) return;
    Emit(MessageKind::kRaw, &raw_, raw_count_);
    stats_.raw_packets.fetch_add(raw_count_, std::memory_order_relaxed);
    raw_.resize(kMessageHeaderSize);
    raw_count_ = 0;
  }

  void FlushCompressed() {
    if (batch_count_ == 0) return;
    const uint32_t n = batch_count_;
    const size_t body = batch_.size() - kMessageHeaderSize;
    if (Compress(cfg_.codec, ByteSpan(batch_.data() + kMessageHeaderSize, body), cfg_.level,
                 &packed_, kMessageHeaderSize)) {
      Emit(cfg_.codec, &packed_, n, static_cast<uint32_t>(body));
      stats_.batch_bytes_out.fetch_add(packed_.size() - kMessageHeaderSize,
                                       std::memory_order_relaxed);
    } else {
      stats_.compress_failed.fetch_add(1, std::memory_order_relaxed);
      Emit(MessageKind::kRaw, &batch_, n);
    }
    stats_.batches.fetch_add(1, std::memory_order_relaxed);
    stats_.batch_bytes_in.fetch_add(body, std::memory_order_relaxed);
    stats_.compressed_packets.fetch_add(n, std::memory_order_relaxed);
    batch_.resize(kMessageHeaderSize);
    batch_count_ = 0;
  }

  uint32_t pending_records() const { return batch_count_ + raw_count_; }
  const EncoderStats& stats() const { return stats_; }
  const RateController& controller() const { return rc_; }

 private:
  // `buf` holds a header slot then the body: the header is written in place (no copy).
  void Emit(MessageKind kind, std::vector<uint8_t>* buf, uint32_t n, uint32_t raw_len = 0) {
    const uint32_t body = static_cast<uint32_t>(buf->size() - kMessageHeaderSize);
    WriteMessageHeaderTo(buf->data(), kind, cfg_.flags, n,
                         kind == MessageKind::kRaw ? body : raw_len);
    sink_(*buf, n);
  }

  RateControlConfig cfg_;
  RateController rc_;
  Sink sink_;
  RateMode last_mode_ = RateMode::kPass;
  // Each starts with a kMessageHeaderSize slot for the header.
  std::vector<uint8_t> raw_ = std::vector<uint8_t>(kMessageHeaderSize);
  std::vector<uint8_t> batch_ = std::vector<uint8_t>(kMessageHeaderSize);
  std::vector<uint8_t> packed_;
  uint32_t raw_count_ = 0;
  uint32_t batch_count_ = 0;
  int64_t batch_start_ns_ = 0;
  EncoderStats stats_;
};

}  // namespace pktkit::nflog

#endif  // PKTKIT_TOOLS_NFLOG_RATE_CONTROL_H_
