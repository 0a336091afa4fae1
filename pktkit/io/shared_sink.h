// pktkit/io/shared_sink.h — one sink fed by several pipelines (worker threads): a mutex around
// another PacketSink, and a packet budget shared by all of them (-c N across workers).
//
//   pktkit::SharedSink shared(pcap_sink.get(), /*max_packets=*/n,
//                             [] { pktkit::tools::RequestStop(); });
//   // each worker thread:
//   pktkit::RunPipeline(*sources[k], transforms[k], shared, stop, options, &stats[k]);
//
// Write() serializes the batches of all callers; once the budget is used up the rest of a
// batch is cut off and on_limit runs (once), so every worker's run loop stops at its next
// round. Flush() from each worker is harmless (the inner sink flushes what it holds).
#ifndef PKTKIT_IO_SHARED_SINK_H_
#define PKTKIT_IO_SHARED_SINK_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/sink.h"

namespace pktkit {

class SharedSink : public PacketSink {
 public:
  // `inner` must outlive this. max_packets 0: no budget.
  explicit SharedSink(PacketSink* inner, uint64_t max_packets = 0,
                      std::function<void()> on_limit = {})
      : inner_(inner), max_packets_(max_packets), on_limit_(std::move(on_limit)) {}

  absl::Status Write(const PacketBatch& batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    PacketBatch b = batch;
    if (max_packets_ != 0) {
      const uint64_t left = max_packets_ - taken_;
      if (b.size > left) b.size = static_cast<size_t>(left);
      taken_ += b.size;
    }
    absl::Status s = b.empty() ? absl::OkStatus() : inner_->Write(b);
    if (max_packets_ != 0 && taken_ == max_packets_ && !limit_reached_) {
      limit_reached_ = true;
      if (on_limit_) on_limit_();
    }
    return s;
  }

  absl::Status Flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->Flush();
  }

  SinkStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->stats();
  }

  // Runs `fn` while holding the lock: to read the inner sink's own stats from another thread.
  template <typename F>
  void WithLock(F fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    fn();
  }

  // True once max_packets have been handed to the inner sink.
  bool limit_reached() const {
    std::lock_guard<std::mutex> lock(mu_);
    return limit_reached_;
  }

 private:
  mutable std::mutex mu_;
  PacketSink* inner_;
  uint64_t max_packets_;
  uint64_t taken_ = 0;
  bool limit_reached_ = false;
  std::function<void()> on_limit_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_SHARED_SINK_H_
