// pktkit/io/run.h — the one run loop: source -> transforms (in order) -> sink.
//
// Every program and plugin drives its pipeline with RunPipeline, so they share one policy:
// the source's end of input (absl::OutOfRangeError) ends the run normally; `stop` (set from
// a SIGINT/SIGTERM handler) ends it normally; `max_packets` ends it once that many packets
// reached the sink; the first fatal error of the source or the sink ends it with that error.
// The sink is flushed before RunPipeline returns, whatever ended the run.
//
//   std::atomic<bool> stop{false};                 // set by the signal handler
//   pktkit::PcapFileSource source = ...;            // any PacketSource
//   pktkit::DecapTransform decap(...);              // any PacketTransform
//   pktkit::PcapSink sink = ...;                    // any PacketSink
//   pktkit::PacketTransform* transforms[] = {&decap};
//   pktkit::RunOptions options;
//   options.on_tick = [&] { PrintProgress(); };
//   pktkit::RunStats stats;
//   absl::Status s = pktkit::RunPipeline(source, transforms, sink, stop, options, &stats);
//   if (!s.ok()) { fprintf(stderr, "prog: %s\n", s.ToString().c_str()); return 1; }
#ifndef PKTKIT_IO_RUN_H_
#define PKTKIT_IO_RUN_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/sink.h"
#include "pktkit/io/source.h"
#include "pktkit/io/transform.h"

namespace pktkit {

struct RunOptions {
  int poll_timeout_ms = 100;      // longest wait for one batch; bounds the reaction to `stop`
  uint64_t max_packets = 0;       // 0: no limit (-c N); counts packets handed to the sink
  std::function<void()> on_tick;  // called at least every poll_timeout_ms (progress, metrics)
  // Live sources: flush the sink at every tick too, so a reader of a pipe or FIFO sees packets
  // within about poll_timeout_ms (a failed flush ends the run like a failed write).
  bool flush_on_tick = false;
};

struct RunStats {
  uint64_t batches = 0;      // non-empty batches read from the source
  uint64_t packets_in = 0;   // packets the source produced
  uint64_t packets_out = 0;  // packets handed to the sink (after the transforms)
};

// Source -> transforms (in order) -> sink until the source's end of input (OutOfRange: not
// an error), `stop` becomes true (SIGINT/SIGTERM), max_packets, or a fatal error. Always
// flushes the sink before returning. Returns the first fatal error (source, sink or flush),
// else OK. `stats` may be null; it is updated after every batch, so on_tick may read it.
inline absl::Status RunPipeline(PacketSource& source,
                                absl::Span<PacketTransform* const> transforms,
                                PacketSink& sink, const std::atomic<bool>& stop,
                                const RunOptions& options, RunStats* stats) {
  RunStats local;
  RunStats& st = stats != nullptr ? *stats : local;
  absl::Status result;
  using Clock = std::chrono::steady_clock;
  const auto tick_period = std::chrono::milliseconds(options.poll_timeout_ms > 0
                                                         ? options.poll_timeout_ms
                                                         : 100);
  auto next_tick = Clock::now() + tick_period;
  // Returns the flush error of a tick, if any.
  auto maybe_tick = [&](bool force) -> absl::Status {
    if (!options.on_tick && !options.flush_on_tick) return absl::OkStatus();
    const auto now = Clock::now();
    if (!force && now < next_tick) return absl::OkStatus();
    next_tick = now + tick_period;
    absl::Status s = options.flush_on_tick && !force ? sink.Flush() : absl::OkStatus();
    if (options.on_tick) options.on_tick();
    return s;
  };
  while (!stop.load(std::memory_order_relaxed)) {
    if (options.max_packets != 0 && st.packets_out >= options.max_packets) break;
    absl::StatusOr<PacketBatch> batch = source.NextBatch(options.poll_timeout_ms);
    if (!batch.ok()) {
      if (!absl::IsOutOfRange(batch.status())) result = batch.status();
      break;
    }
    if (!batch->empty()) {
      ++st.batches;
      st.packets_in += batch->size;
      PacketBatch out = *batch;
      for (PacketTransform* t : transforms) {
        if (out.empty()) break;
        out = t->Apply(out);
      }
      if (options.max_packets != 0 && out.size > options.max_packets - st.packets_out) {
        out.size = options.max_packets - st.packets_out;
      }
      if (!out.empty()) {
        absl::Status s = sink.Write(out);
        if (!s.ok()) {
          source.ReleaseBatch();
          result = s;
          break;
        }
        st.packets_out += out.size;
      }
      source.ReleaseBatch();
    }
    if (absl::Status s = maybe_tick(false); !s.ok()) {
      result = s;
      break;
    }
  }
  absl::Status flushed = sink.Flush();
  if (result.ok() && !flushed.ok()) result = flushed;
  maybe_tick(true).IgnoreError();
  return result;
}

}  // namespace pktkit

#endif  // PKTKIT_IO_RUN_H_
