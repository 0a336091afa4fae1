// tools/common/progress.h — periodic one-line progress from a metrics registry.
//
//   pktkit::tools::ProgressPrinter progress(&registry, /*interval_s=*/5.0);
//   while (running) { ...; progress.MaybePrint(); }
//   progress.PrintFinal();   // always printed, with the elapsed time
//
// Lines go to stderr by default so that `-w -` can stream a capture on stdout.
#ifndef PKTKIT_TOOLS_COMMON_PROGRESS_H_
#define PKTKIT_TOOLS_COMMON_PROGRESS_H_

#include <chrono>
#include <cstdio>
#include <string>

#include "tools/common/metrics.h"

namespace pktkit::tools {

class ProgressPrinter {
 public:
  ProgressPrinter(const MetricsRegistry* r, double interval_s, FILE* out = stderr,
                  std::string tag = "pktkit")
      : registry_(r),
        interval_s_(interval_s),
        out_(out),
        tag_(std::move(tag)),
        start_(Clock::now()),
        last_(start_) {}

  void MaybePrint() {
    if (interval_s_ <= 0) return;
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_).count() < interval_s_) return;
    last_ = now;
    Print("progress", now);
  }
  void PrintFinal() { Print("final", Clock::now()); }

 private:
  using Clock = std::chrono::steady_clock;
  void Print(const char* what, Clock::time_point now) {
    const double t = std::chrono::duration<double>(now - start_).count();
    std::fprintf(out_, "[%s] %s t=%.1fs %s\n", tag_.c_str(), what, t,
                 registry_->RenderSummary().c_str());
    std::fflush(out_);
  }

  const MetricsRegistry* registry_;
  double interval_s_;
  FILE* out_;
  std::string tag_;
  Clock::time_point start_;
  Clock::time_point last_;
};

}  // namespace pktkit::tools

#endif  // PKTKIT_TOOLS_COMMON_PROGRESS_H_
