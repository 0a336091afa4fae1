// tools/common/signals.h — clean shutdown on SIGINT/SIGTERM for long-running tools.
//
//   pktkit::tools::InstallStopHandlers();
//   while (!pktkit::tools::StopRequested()) { ... }   // then flush, print counters, exit 0
//
// The first SIGINT or SIGTERM only sets a flag (blocking calls return EINTR since the handler
// is installed without SA_RESTART); a second one exits at once with status 130. SIGPIPE is
// ignored so that a FIFO or pipe whose reader left gives EPIPE, which the writer counts.
#ifndef PKTKIT_TOOLS_COMMON_SIGNALS_H_
#define PKTKIT_TOOLS_COMMON_SIGNALS_H_

#include <signal.h>
#include <unistd.h>

#include <atomic>

namespace pktkit::tools {

namespace internal {
inline std::atomic<bool>& StopFlag() {
  static std::atomic<bool> flag{false};
  return flag;
}
inline void OnStopSignal(int /*sig*/) {
  if (StopFlag().exchange(true)) _exit(130);
}
}  // namespace internal

inline bool StopRequested() { return internal::StopFlag().load(std::memory_order_relaxed); }
inline void RequestStop() { internal::StopFlag().store(true); }

inline void InstallStopHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = internal::OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: let blocking calls wake up
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace pktkit::tools

#endif  // PKTKIT_TOOLS_COMMON_SIGNALS_H_
