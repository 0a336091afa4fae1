// pktkit/io/clock.h — the clocks the io layer and the programs read, as integer nanoseconds or
// milliseconds: monotonic for deadlines, back-off and rates; realtime for packet timestamps when
// the kernel gave none. One place, so that every deadline in the project uses the same clock.
//
//   const int64_t deadline_ms = pktkit::MonotonicMs() + 500;
//   while (pktkit::MonotonicMs() < deadline_ms) { /* poll */ }
//   view.timestamp_ns = pktkit::RealtimeNs();   // no kernel timestamp
//
// Reference: clock_gettime(2). CLOCK_MONOTONIC_COARSE (ClockNs) costs no system call and has
// the kernel tick's resolution (1-4 ms): enough for once-a-second housekeeping.
#ifndef PKTKIT_IO_CLOCK_H_
#define PKTKIT_IO_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace pktkit {

// The time of clock `id` in nanoseconds (0 if the clock cannot be read).
inline int64_t ClockNs(clockid_t id) {
  timespec ts;
  if (clock_gettime(id, &ts) != 0) return 0;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline int64_t MonotonicNs() { return ClockNs(CLOCK_MONOTONIC); }
inline int64_t MonotonicMs() { return MonotonicNs() / 1000000; }
inline int64_t RealtimeNs() { return ClockNs(CLOCK_REALTIME); }

}  // namespace pktkit

#endif  // PKTKIT_IO_CLOCK_H_
