// pktkit/io/source.h — the interface every packet source implements.
//
// Sources (AF_PACKET ring, UDP tunnel socket, pcap file, NFLOG) hand out batches of
// PacketView; a batch stays valid until ReleaseBatch(). Set-up and I/O errors come back as
// absl::Status; end of input (a capture file's end) is absl::OutOfRangeError.
//
//   while (true) {
//     absl::StatusOr<pktkit::PacketBatch> batch = source.NextBatch(/*timeout_ms=*/100);
//     if (absl::IsOutOfRange(batch.status())) break;   // end of file
//     if (!batch.ok()) return batch.status();
//     for (const pktkit::PacketView& p : *batch) Handle(p);
//     source.ReleaseBatch();
//   }
//
// DeadlineSource (below) ends any source at a deadline or when it goes idle.
#ifndef PKTKIT_IO_SOURCE_H_
#define PKTKIT_IO_SOURCE_H_

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pktkit/io/packet.h"

namespace pktkit {

class PacketSource {
 public:
  virtual ~PacketSource() = default;

  // Waits up to `timeout_ms` (0: do not wait, <0: forever) for the next batch. Returns an
  // empty batch on timeout, OutOfRange at the end of finite input, another error on failure.
  // Calling NextBatch again without ReleaseBatch releases the previous batch first.
  virtual absl::StatusOr<PacketBatch> NextBatch(int timeout_ms) = 0;

  // Hands the current batch back; its views become invalid.
  virtual void ReleaseBatch() = 0;
};

// Wraps a live source so that it ends (OutOfRange, a normal end for RunPipeline) at a
// deadline, or at its first empty batch when `until_idle`; every wait is cut to the time left.
// For a bounded second run at shutdown: drain what the kernel already queued, then stop.
//
//   pktkit::DeadlineSource drain(socket, Clock::now() + std::chrono::milliseconds(300), true);
//   RunPipeline(drain, {}, sink, never_stop, options, nullptr);
class DeadlineSource : public PacketSource {
 public:
  using Clock = std::chrono::steady_clock;
  DeadlineSource(PacketSource& inner, Clock::time_point deadline, bool until_idle)
      : inner_(inner), deadline_(deadline), until_idle_(until_idle) {}

  absl::StatusOr<PacketBatch> NextBatch(int timeout_ms) override {
    const int64_t left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    if (left <= 0) {
      deadline_hit_ = true;
      return absl::OutOfRangeError("deadline");
    }
    const int wait = timeout_ms < 0 ? static_cast<int>(std::min<int64_t>(left, INT32_MAX))
                                    : static_cast<int>(std::min<int64_t>(timeout_ms, left));
    absl::StatusOr<PacketBatch> b = inner_.NextBatch(wait);
    if (b.ok() && b->empty() && until_idle_) return absl::OutOfRangeError("idle");
    return b;
  }
  void ReleaseBatch() override { inner_.ReleaseBatch(); }

  // True when the deadline, not an idle source, ended it.
  bool deadline_hit() const { return deadline_hit_; }

 private:
  PacketSource& inner_;
  Clock::time_point deadline_;
  bool until_idle_;
  bool deadline_hit_ = false;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_SOURCE_H_
