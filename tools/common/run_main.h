// tools/common/run_main.h — the program policy shared by every pipeline tool: one line and
// exit status 1 for a fatal error, and the one place where a pipeline's counters (the core's
// plain stats structs) are mirrored into the metrics registry.
//
//   pktkit::tools::CounterSync sync;
//   sync.Watch(registry.AddCounter("pktkit_recv_written_total", "..."),
//              [&] { return sink.stats().packets; });
//   options.on_tick = [&] { sync.Sync(); };             // in the thread that owns the stats
//   absl::Status s = pktkit::RunPipeline(source, transforms, sink, stop, options, nullptr);
//   sync.Sync();
//   if (!s.ok()) return pktkit::tools::FatalExit("pktkit-recv", s);   // "pktkit-recv: ..." + 1
//
// Policy (docs/architecture.md): a fatal error prints ONE line `<program>: <message>` on
// stderr and exits 1; usage errors exit 2; SIGINT/SIGTERM flush and exit 0.
#ifndef PKTKIT_TOOLS_COMMON_RUN_MAIN_H_
#define PKTKIT_TOOLS_COMMON_RUN_MAIN_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "tools/common/metrics.h"

namespace pktkit::tools {

inline constexpr int kExitFatal = 1;
inline constexpr int kExitUsage = 2;

// Prints `<program>: <message>` (the status message without its code) and returns kExitFatal.
inline int FatalExit(const char* program, const absl::Status& s) {
  std::fprintf(stderr, "%s: %s\n", program, std::string(s.message()).c_str());
  return kExitFatal;
}

// Prints `<program>: <message>` and returns kExitUsage.
inline int UsageExit(const char* program, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", program, message.c_str());
  return kExitUsage;
}

// Mirrors monotonic totals (read from the core's stats structs) into registry counters: each
// Sync() adds what grew since the last one. Not thread-safe: call Sync() from the thread that
// owns the stats it reads (a worker's on_tick), or after that thread has finished.
class CounterSync {
 public:
  void Watch(Counter* counter, std::function<uint64_t()> read) {
    entries_.push_back(Entry{counter, std::move(read), 0});
  }
  void Sync() {
    for (Entry& e : entries_) {
      const uint64_t now = e.read();
      if (now > e.last) e.counter->Add(now - e.last);
      e.last = now;
    }
  }

 private:
  struct Entry {
    Counter* counter;
    std::function<uint64_t()> read;
    uint64_t last;
  };
  std::vector<Entry> entries_;
};

}  // namespace pktkit::tools

#endif  // PKTKIT_TOOLS_COMMON_RUN_MAIN_H_
