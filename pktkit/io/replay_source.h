// pktkit/io/replay_source.h — replays another source in time: at the capture's own pace (or a
// multiple of it), at a fixed packet rate, or as fast as possible, and several times over (a
// file reopened at its end, or rewound where the caller says how). Wraps any PacketSource; the
// pipeline after it is unchanged.
//
//   pktkit::ReplayOptions o;
//   o.speed = 2.0;          // twice the original pace; o.pps = 1000 for a fixed rate instead
//   o.loops = 3;            // 0: until stopped
//   auto src = pktkit::ReplaySource::Open(
//       [&] { return pktkit::PcapReader::Open("trace.pcap", ""); }, o);   // -> StatusOr<source>
//   pktkit::RunPipeline(**src, transforms, sink, stop, {}, nullptr);
//
// A packet is never handed out before its due time: with `pps`, packet k of the whole run is due
// k/pps seconds after the first; otherwise (unless top_speed) a packet is due (its timestamp -
// the first timestamp of this loop) / speed after the loop started. NextBatch hands out the run
// of packets already due, waiting at most its timeout for the next one (so a stop request is
// seen within the timeout); the underlying batch is released once every packet in it was
// handed out. Clock: CLOCK_MONOTONIC via std::chrono::steady_clock.
#ifndef PKTKIT_IO_REPLAY_SOURCE_H_
#define PKTKIT_IO_REPLAY_SOURCE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/source.h"

namespace pktkit {

struct ReplayOptions {
  double speed = 1.0;      // multiple of the original pace (> 0)
  double pps = 0;          // > 0: this many packets per second instead (applies with top_speed)
  bool top_speed = false;  // ignore the timestamps
  uint64_t loops = 1;      // times through the input; 0: until stopped
};

class ReplaySource : public PacketSource {
 public:
  using Opener = std::function<absl::StatusOr<std::unique_ptr<PacketSource>>()>;
  // Optional: restarts the finished source at its first packet instead of opening a new one
  // for the next pass (e.g. PcapMmapReader::Rewind, which keeps the file mapped). Returns
  // false to have the opener called instead; an error ends the replay.
  using Rewinder = std::function<absl::StatusOr<bool>(PacketSource*)>;

  // Opens the first pass. Errors: InvalidArgument for speed <= 0 or pps < 0, or the opener's.
  static absl::StatusOr<std::unique_ptr<ReplaySource>> Open(Opener open, const ReplayOptions& o,
                                                            Rewinder rewind = nullptr) {
    if (!(o.speed > 0) || o.pps < 0) {
      return absl::InvalidArgumentError("replay: speed must be > 0 and pps >= 0");
    }
    std::unique_ptr<ReplaySource> r(new ReplaySource(std::move(open), o));
    r->rewind_ = std::move(rewind);
    absl::StatusOr<std::unique_ptr<PacketSource>> s = r->open_();
    if (!s.ok()) return s.status();
    r->inner_ = std::move(*s);
    r->run_start_ = Clock::now();
    r->loop_start_ = r->run_start_;
    return r;
  }

  absl::StatusOr<PacketBatch> NextBatch(int timeout_ms) override {
    if (pos_ >= batch_.size) {
      ReleaseInner();
      absl::StatusOr<PacketBatch> b = inner_->NextBatch(timeout_ms);
      if (absl::IsOutOfRange(b.status())) {
        ++loop_;
        if (options_.loops != 0 && loop_ >= options_.loops) return b.status();
        absl::StatusOr<bool> rewound = rewind_ ? rewind_(inner_.get()) : false;
        if (!rewound.ok()) return rewound.status();
        if (!*rewound) {
          absl::StatusOr<std::unique_ptr<PacketSource>> s = open_();
          if (!s.ok()) return s.status();
          inner_ = std::move(*s);
        }
        loop_start_ = Clock::now();
        have_first_ = false;
        return PacketBatch();
      }
      if (!b.ok()) return b.status();
      batch_ = *b;
      pos_ = 0;
      holding_ = true;
      if (batch_.empty()) return PacketBatch();
    }
    const size_t start = pos_;
    if (Paced()) {
      const Clock::time_point first_due = Due(batch_[pos_], paced_);
      const Clock::time_point limit =
          timeout_ms < 0 ? first_due : Clock::now() + std::chrono::milliseconds(timeout_ms);
      std::this_thread::sleep_until(first_due < limit ? first_due : limit);
      const Clock::time_point now = Clock::now();
      while (pos_ < batch_.size && Due(batch_[pos_], paced_ + (pos_ - start)) <= now) ++pos_;
    } else {
      pos_ = batch_.size;
    }
    paced_ += pos_ - start;
    return PacketBatch{batch_.packets + start, pos_ - start};
  }

  // Releases the underlying batch once all of it was handed out.
  void ReleaseBatch() override {
    if (pos_ >= batch_.size) ReleaseInner();
  }

  uint64_t loops_done() const { return loop_; }

 private:
  using Clock = std::chrono::steady_clock;

  ReplaySource(Opener open, const ReplayOptions& o) : open_(std::move(open)), options_(o) {}

  bool Paced() const { return options_.pps > 0 || !options_.top_speed; }

  // When packet `p`, the `index`-th of the run, is due.
  Clock::time_point Due(const PacketView& p, uint64_t index) {
    if (options_.pps > 0) {
      return run_start_ + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(index) *
                                                                        1e9 / options_.pps));
    }
    if (!have_first_) {
      first_ts_ns_ = p.timestamp_ns;
      have_first_ = true;
    }
    const double offset_ns = static_cast<double>(p.timestamp_ns - first_ts_ns_) / options_.speed;
    return loop_start_ + std::chrono::nanoseconds(static_cast<int64_t>(offset_ns));
  }

  void ReleaseInner() {
    if (holding_) inner_->ReleaseBatch();
    holding_ = false;
    batch_ = PacketBatch();
    pos_ = 0;
  }

  Opener open_;
  Rewinder rewind_;
  ReplayOptions options_;
  std::unique_ptr<PacketSource> inner_;
  PacketBatch batch_;
  size_t pos_ = 0;
  bool holding_ = false;
  uint64_t loop_ = 0;
  uint64_t paced_ = 0;  // packets handed out in the whole run
  Clock::time_point run_start_;
  Clock::time_point loop_start_;
  int64_t first_ts_ns_ = 0;
  bool have_first_ = false;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_REPLAY_SOURCE_H_
