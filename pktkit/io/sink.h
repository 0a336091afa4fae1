// pktkit/io/sink.h — the interface every packet sink implements.
//
// A sink is where a pipeline's packets end up: a pcap/pcapng file, FIFO or stdout
// (pktkit/io/pcap_sink.h), a UDP tunnel sender, a ZeroMQ socket. It takes whole batches of
// PacketView (pktkit/io/packet.h), copies only what it must keep past the batch, counts the
// packets it could not take by cause, and reports a non-OK status only when it cannot go on.
//
//   pktkit::PacketSink& sink = ...;
//   absl::Status s = sink.Write(batch);     // batch from PacketSource::NextBatch
//   if (!s.ok()) return s;                  // disk full, broken pipe, closed socket
//   source.ReleaseBatch();
//   ...
//   s = sink.Flush();                       // always before the end of the run
//
// NullSink counts and keeps nothing; TeeSink feeds two sinks. The run loop that drives
// source -> transforms -> sink is pktkit/io/run.h.
#ifndef PKTKIT_IO_SINK_H_
#define PKTKIT_IO_SINK_H_

#include <cstdint>

#include "absl/status/status.h"
#include "pktkit/io/packet.h"

namespace pktkit {

// What a sink has done since it was created.
struct SinkStats {
  uint64_t packets = 0;  // packets written / sent (reached the file or the socket)
  uint64_t bytes = 0;    // bytes written / sent (captured bytes, without record headers)
  uint64_t dropped = 0;  // packets the sink could not take; the sink counts them by cause itself
};

class PacketSink {
 public:
  virtual ~PacketSink() = default;

  // Takes every view of the batch (copies only what it must keep; the views are valid only
  // during the call). Per-packet failures are counted, not returned; a non-OK status means
  // the sink cannot go on (disk full, broken pipe, closed socket) and the run should end.
  virtual absl::Status Write(const PacketBatch& batch) = 0;

  // Pushes out what the sink holds (file buffers, pending sends). Packets count as written
  // in stats() only once they have reached the file or socket.
  virtual absl::Status Flush() = 0;

  virtual SinkStats stats() const = 0;
};

// Takes every packet and keeps nothing: for a pipeline that only counts (a capture without -w).
class NullSink : public PacketSink {
 public:
  absl::Status Write(const PacketBatch& batch) override {
    for (const PacketView& p : batch) {
      ++stats_.packets;
      stats_.bytes += p.caplen;
    }
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  SinkStats stats() const override { return stats_; }

 private:
  SinkStats stats_;
};

// Hands every batch to `first`, then `second`, and flushes both: a pcap stream and an
// in-memory window of the same packets, say. The first fatal error wins (the second sink
// still gets the batch and the flush). stats() are the first sink's. Both must outlive it.
class TeeSink : public PacketSink {
 public:
  TeeSink(PacketSink& first, PacketSink& second) : first_(first), second_(second) {}
  absl::Status Write(const PacketBatch& batch) override {
    absl::Status a = first_.Write(batch);
    absl::Status b = second_.Write(batch);
    return a.ok() ? b : a;
  }
  absl::Status Flush() override {
    absl::Status a = first_.Flush();
    absl::Status b = second_.Flush();
    return a.ok() ? b : a;
  }
  SinkStats stats() const override { return first_.stats(); }

 private:
  PacketSink& first_;
  PacketSink& second_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_SINK_H_
