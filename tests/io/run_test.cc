// RunPipeline: the one run loop's policy (end of input, stop, max_packets, fatal errors,
// flush on every exit), driven by scripted in-memory sources and sinks.
#include "pktkit/io/run.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "pktkit/io/sink.h"
#include "pktkit/io/source.h"
#include "pktkit/io/transform.h"

namespace pktkit {
namespace {

// A source that plays a script: each step is a batch of N packets (bytes = packet index),
// an empty batch (timeout), or a status (error / end of input). After the script: OutOfRange,
// unless `endless`, then empty batches forever.
class ScriptSource : public PacketSource {
 public:
  struct Step {
    size_t packets = 0;
    absl::Status status;
  };
  explicit ScriptSource(std::vector<Step> steps, bool endless = false)
      : steps_(steps.begin(), steps.end()), endless_(endless) {}

  absl::StatusOr<PacketBatch> NextBatch(int) override {
    ++next_calls;
    if (outstanding) ++released;  // NextBatch without ReleaseBatch releases the previous one
    outstanding = false;
    if (steps_.empty()) {
      if (endless_) return PacketBatch{};
      return absl::OutOfRangeError("end of script");
    }
    Step step = steps_.front();
    steps_.pop_front();
    if (!step.status.ok()) return step.status;
    views_.assign(step.packets, PacketView{});
    for (size_t i = 0; i < step.packets; ++i) {
      bytes_[i % sizeof(bytes_)] = static_cast<uint8_t>(produced);
      views_[i].data = &bytes_[i % sizeof(bytes_)];
      views_[i].caplen = 1;
      views_[i].wire_len = 1;
      ++produced;
    }
    outstanding = step.packets > 0;
    return PacketBatch{views_.data(), views_.size()};
  }
  void ReleaseBatch() override {
    if (outstanding) ++released;
    outstanding = false;
  }

  int next_calls = 0;
  int released = 0;
  bool outstanding = false;
  uint64_t produced = 0;

 private:
  std::deque<Step> steps_;
  bool endless_;
  std::vector<PacketView> views_;
  uint8_t bytes_[256] = {};
};

ScriptSource::Step P(size_t n) { return ScriptSource::Step{n, absl::OkStatus()}; }
ScriptSource::Step E(absl::Status s) { return ScriptSource::Step{0, std::move(s)}; }

class RecordingSink : public PacketSink {
 public:
  absl::Status Write(const PacketBatch& batch) override {
    ++writes;
    if (fail_on_write != 0 && writes == fail_on_write) {
      return absl::ResourceExhaustedError("disk full");
    }
    for (const PacketView& p : batch) {
      ++stats_.packets;
      stats_.bytes += p.caplen;
    }
    return absl::OkStatus();
  }
  absl::Status Flush() override {
    ++flushes;
    return flush_status;
  }
  SinkStats stats() const override { return stats_; }

  int writes = 0;
  int fail_on_write = 0;  // 1-based; 0: never fail
  int flushes = 0;
  absl::Status flush_status;

 private:
  SinkStats stats_;
};

// Keeps every second packet (drops by cause "odd index").
class KeepEven : public PacketTransform {
 public:
  PacketBatch Apply(const PacketBatch& in) override {
    out_.clear();
    for (size_t i = 0; i < in.size; ++i) {
      if (i % 2 == 0) out_.push_back(in[i]);
      else ++dropped;
    }
    return PacketBatch{out_.data(), out_.size()};
  }
  uint64_t dropped = 0;

 private:
  std::vector<PacketView> out_;
};

// A live source that hands out scripted batch sizes, then empty batches; it remembers the
// longest wait it was asked for.
class SizesSource : public PacketSource {
 public:
  explicit SizesSource(std::vector<size_t> sizes) : sizes_(std::move(sizes)) {
    PacketView v;
    v.data = byte_;
    v.caplen = v.wire_len = 1;
    views_.assign(8, v);
  }
  absl::StatusOr<PacketBatch> NextBatch(int timeout_ms) override {
    if (timeout_ms > max_wait_ms) max_wait_ms = timeout_ms;
    const size_t n = next_ < sizes_.size() ? sizes_[next_++] : 0;
    return PacketBatch{views_.data(), n};
  }
  void ReleaseBatch() override {}
  int max_wait_ms = -1;

 private:
  uint8_t byte_[1] = {0};
  std::vector<PacketView> views_;
  std::vector<size_t> sizes_;
  size_t next_ = 0;
};

TEST(DeadlineSourceTest, UntilIdleEndsAtTheFirstEmptyBatch) {
  SizesSource inner({3, 2, 0, 5});
  DeadlineSource drain(inner, DeadlineSource::Clock::now() + std::chrono::hours(1), true);
  NullSink sink;
  const std::atomic<bool> stop{false};
  RunOptions o;
  o.poll_timeout_ms = 1000;
  RunStats st;
  ASSERT_TRUE(RunPipeline(drain, {}, sink, stop, o, &st).ok());
  EXPECT_EQ(st.packets_out, 5u);  // the 5 after the idle moment are not read
  EXPECT_EQ(sink.stats().packets, 5u);
  EXPECT_FALSE(drain.deadline_hit());
}

TEST(DeadlineSourceTest, TheDeadlineEndsItAndCutsEveryWait) {
  SizesSource past({4});
  DeadlineSource over(past, DeadlineSource::Clock::now() - std::chrono::milliseconds(1), false);
  auto b = over.NextBatch(1000);
  EXPECT_TRUE(absl::IsOutOfRange(b.status())) << b.status();
  EXPECT_TRUE(over.deadline_hit());
  EXPECT_EQ(past.max_wait_ms, -1);  // not even asked

  SizesSource inner({1, 0, 0});
  DeadlineSource drain(inner, DeadlineSource::Clock::now() + std::chrono::milliseconds(200), false);
  b = drain.NextBatch(100000);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size, 1u);
  b = drain.NextBatch(-1);  // "forever" becomes the time left
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->empty());  // not until_idle: an empty batch does not end it
  EXPECT_LE(inner.max_wait_ms, 200);
  EXPECT_GE(inner.max_wait_ms, 0);
}

TEST(TeeSinkTest, BothSinksGetEveryBatchAndTheFlushFirstErrorWins) {
  RecordingSink a, b;
  TeeSink tee(a, b);
  ScriptSource src({P(3)});
  auto batch = src.NextBatch(0);
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE(tee.Write(*batch).ok());
  ASSERT_TRUE(tee.Flush().ok());
  EXPECT_EQ(a.stats().packets, 3u);
  EXPECT_EQ(b.stats().packets, 3u);
  EXPECT_EQ(a.flushes, 1);
  EXPECT_EQ(b.flushes, 1);
  EXPECT_EQ(tee.stats().packets, 3u);

  a.fail_on_write = 2;  // the first sink fails: the second still gets the batch
  b.flush_status = absl::DataLossError("second");
  const absl::Status w = tee.Write(*batch);
  EXPECT_TRUE(absl::IsResourceExhausted(w)) << w;
  EXPECT_EQ(b.stats().packets, 6u);
  const absl::Status f = tee.Flush();
  EXPECT_TRUE(absl::IsDataLoss(f)) << f;  // the first sink's flush is fine: the second's error
  EXPECT_EQ(a.flushes, 2);
}

TEST(RunPipelineTest, EndOfInputIsNotAnErrorAndFlushes) {
  ScriptSource source(std::vector<ScriptSource::Step>{P(3), P(0), P(5)});
  RecordingSink sink;
  std::atomic<bool> stop{false};
  RunStats stats;
  absl::Status s = RunPipeline(source, {}, sink, stop, RunOptions{}, &stats);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(stats.batches, 2u);
  EXPECT_EQ(stats.packets_in, 8u);
  EXPECT_EQ(stats.packets_out, 8u);
  EXPECT_EQ(sink.stats().packets, 8u);
  EXPECT_EQ(sink.flushes, 1);
  EXPECT_EQ(source.released, 2);
  EXPECT_FALSE(source.outstanding);
}

TEST(RunPipelineTest, TransformsRunInOrderAndCountOut) {
  ScriptSource source(std::vector<ScriptSource::Step>{P(10), P(7)});
  RecordingSink sink;
  KeepEven a, b;
  PacketTransform* transforms[] = {&a, &b};
  std::atomic<bool> stop{false};
  RunStats stats;
  ASSERT_TRUE(RunPipeline(source, transforms, sink, stop, RunOptions{}, &stats).ok());
  // 10 -> 5 -> 3 ; 7 -> 4 -> 2
  EXPECT_EQ(stats.packets_in, 17u);
  EXPECT_EQ(stats.packets_out, 5u);
  EXPECT_EQ(sink.stats().packets, 5u);
  EXPECT_EQ(a.dropped, 5u + 3u);
  EXPECT_EQ(b.dropped, 2u + 2u);
}

TEST(RunPipelineTest, MaxPacketsTrimsTheLastBatch) {
  ScriptSource source(std::vector<ScriptSource::Step>{P(4), P(4), P(4), P(4)});
  RecordingSink sink;
  std::atomic<bool> stop{false};
  RunOptions options;
  options.max_packets = 6;
  RunStats stats;
  ASSERT_TRUE(RunPipeline(source, {}, sink, stop, options, &stats).ok());
  EXPECT_EQ(sink.stats().packets, 6u);
  EXPECT_EQ(stats.packets_out, 6u);
  EXPECT_EQ(source.next_calls, 2);  // did not read past the batch that reached the limit
  EXPECT_EQ(sink.flushes, 1);
  EXPECT_FALSE(source.outstanding);
}

TEST(RunPipelineTest, StopSetBeforeStartReadsNothingButFlushes) {
  ScriptSource source(std::vector<ScriptSource::Step>{P(4)});
  RecordingSink sink;
  std::atomic<bool> stop{true};
  RunStats stats;
  ASSERT_TRUE(RunPipeline(source, {}, sink, stop, RunOptions{}, &stats).ok());
  EXPECT_EQ(source.next_calls, 0);
  EXPECT_EQ(sink.stats().packets, 0u);
  EXPECT_EQ(sink.flushes, 1);
}

TEST(RunPipelineTest, StopFromAnotherThreadEndsAnEndlessSource) {
  ScriptSource source(std::vector<ScriptSource::Step>{P(2)}, /*endless=*/true);
  RecordingSink sink;
  std::atomic<bool> stop{false};
  std::atomic<int> ticks{0};
  RunOptions options;
  options.poll_timeout_ms = 1;
  // The tick sets stop after a few rounds, as a signal handler would between polls.
  options.on_tick = [&] {
    if (++ticks >= 3) stop.store(true);
  };
  RunStats stats;
  absl::Status s = RunPipeline(source, {}, sink, stop, options, &stats);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(stop.load());
  EXPECT_EQ(sink.stats().packets, 2u);
  EXPECT_EQ(sink.flushes, 1);
  EXPECT_GE(ticks.load(), 3);
}

TEST(RunPipelineTest, SourceErrorIsReturnedAfterFlush) {
  ScriptSource source(std::vector<ScriptSource::Step>{P(3), E(absl::UnavailableError("recvmmsg: EBADF")), P(3)});
  RecordingSink sink;
  std::atomic<bool> stop{false};
  RunStats stats;
  absl::Status s = RunPipeline(source, {}, sink, stop, RunOptions{}, &stats);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sink.stats().packets, 3u);
  EXPECT_EQ(sink.flushes, 1);
  EXPECT_EQ(source.next_calls, 2);
}

TEST(RunPipelineTest, SinkErrorEndsTheRunReleasesAndFlushes) {
  ScriptSource source(std::vector<ScriptSource::Step>{P(3), P(3), P(3)});
  RecordingSink sink;
  sink.fail_on_write = 2;
  std::atomic<bool> stop{false};
  RunStats stats;
  absl::Status s = RunPipeline(source, {}, sink, stop, RunOptions{}, &stats);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(stats.packets_out, 3u);  // the failed batch is not counted as handed over
  EXPECT_EQ(sink.flushes, 1);
  EXPECT_EQ(source.next_calls, 2);
  EXPECT_FALSE(source.outstanding);
}

TEST(RunPipelineTest, FlushErrorIsReturnedWhenNothingElseFailed) {
  ScriptSource source(std::vector<ScriptSource::Step>{P(3)});
  RecordingSink sink;
  sink.flush_status = absl::DataLossError("write: No space left on device");
  std::atomic<bool> stop{false};
  absl::Status s = RunPipeline(source, {}, sink, stop, RunOptions{}, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
}

TEST(RunPipelineTest, FirstErrorWinsOverFlushError) {
  ScriptSource source(std::vector<ScriptSource::Step>{E(absl::InternalError("poll"))});
  RecordingSink sink;
  sink.flush_status = absl::DataLossError("flush");
  std::atomic<bool> stop{false};
  absl::Status s = RunPipeline(source, {}, sink, stop, RunOptions{}, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(sink.flushes, 1);
}

TEST(RunPipelineTest, FlushOnTickPushesOutAndAFailedFlushEndsTheRun) {
  ScriptSource source(std::vector<ScriptSource::Step>{P(1)}, /*endless=*/true);
  RecordingSink sink;
  std::atomic<bool> stop{false};
  RunOptions options;
  options.poll_timeout_ms = 1;
  options.flush_on_tick = true;
  int ticks = 0;
  options.on_tick = [&] {
    if (++ticks == 3) sink.flush_status = absl::DataLossError("EPIPE");
  };
  absl::Status s = RunPipeline(source, {}, sink, stop, options, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_GE(sink.flushes, 4);  // three good ticks, the failing one, and the final flush
  EXPECT_FALSE(stop.load());
}

}  // namespace
}  // namespace pktkit
