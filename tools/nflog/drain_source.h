// tools/nflog/drain_source.h — the NFLOG sender's shutdown: after a stop signal, take what the
// kernel already queued, for a bounded time, through the same run loop and sink.
//
//   absl::Status s = RunPipeline(*sock, {}, sink, stop, options, nullptr);   // until SIGTERM
//   if (s.ok()) s = DrainNflog(*sock, sink, options, /*drain_ms=*/300, /*flush_timeout_cs=*/0);
//
// DrainNflog unbinds the socket's groups: the kernel then flushes the message it was filling
// (NFULA_CFG_QTHRESH / NFULA_CFG_TIMEOUT hold packets back; NflogSocket stashes what arrives
// before the acks), nothing logged later is delivered, and reading until the socket is idle
// takes everything. A second RunPipeline over the core's DeadlineSource (pktkit/io/source.h)
// does the reading, with its own end: the first empty batch, or the deadline, whichever first. Without CAP_NET_ADMIN (after
// --user) the unbind is refused and the kernel flushes only at its own timeout, so the drain
// then reads until the deadline, stretched to the flush timeout (+50 ms) when that is longer.
#ifndef PKTKIT_TOOLS_NFLOG_DRAIN_SOURCE_H_
#define PKTKIT_TOOLS_NFLOG_DRAIN_SOURCE_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pktkit/io/nflog_socket.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/run.h"
#include "pktkit/io/sink.h"
#include "pktkit/io/source.h"

namespace pktkit::nflog {

struct DrainResult {
  bool unbound = false;       // the kernel was told to flush (groups unbound)
  bool deadline_hit = false;  // unbound, yet the time ran out before the socket was idle
  RunStats run;               // what the drain read and handed on
};

// Unbinds `sock`'s groups and runs sock -> sink until the socket is idle or `drain_ms` has
// passed (see the file comment for the no-CAP_NET_ADMIN case). drain_ms 0: no drain at all
// (the groups stay bound until the socket closes; what the kernel holds is lost). Returns the
// first fatal error of the source or the sink; the sink is flushed.
inline absl::Status DrainNflog(NflogSocket& sock, PacketSink& sink, const RunOptions& options,
                               int drain_ms, uint32_t flush_timeout_cs,
                               DrainResult* result = nullptr) {
  DrainResult local;
  DrainResult& r = result != nullptr ? *result : local;
  if (drain_ms <= 0) return absl::OkStatus();
  r.unbound = sock.UnbindAll().ok();
  int ms = drain_ms;
  if (!r.unbound) {
    const int kernel_ms = static_cast<int>(flush_timeout_cs == 0 ? 100 : flush_timeout_cs) * 10;
    ms = std::max(ms, kernel_ms + 50);  // the kernel default timeout is 1 s
  }
  DeadlineSource drain(sock, DeadlineSource::Clock::now() + std::chrono::milliseconds(ms),
                    /*until_idle=*/r.unbound);
  const std::atomic<bool> never{false};  // the deadline ends it; a 2nd signal exits at once
  absl::Status s = RunPipeline(drain, {}, sink, never, options, &r.run);
  r.deadline_hit = drain.deadline_hit() && r.unbound;
  return s;
}

}  // namespace pktkit::nflog

#endif  // PKTKIT_TOOLS_NFLOG_DRAIN_SOURCE_H_
