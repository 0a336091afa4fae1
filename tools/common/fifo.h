// tools/common/fifo.h — say so when an output FIFO has no reader yet, instead of hanging
// silently in open(2) (which blocks until a reader appears).
//
//   pktkit::tools::AnnounceFifoWait("pktkit-fwd", path);   // then open it as usual
//   auto w = pktkit::PcapWriter::Open(path, ...);
#ifndef PKTKIT_TOOLS_COMMON_FIFO_H_
#define PKTKIT_TOOLS_COMMON_FIFO_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace pktkit::tools {

// True when `path` is a FIFO that no process has open for reading (a non-blocking write open
// fails with ENXIO exactly then; fifo(7)).
inline bool FifoWithoutReader(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode)) return false;
  const int fd = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return false;
  }
  return errno == ENXIO;
}

// Prints "<program>: waiting for a reader on FIFO <path>" to `out` when `path` is a FIFO
// without a reader; returns whether it did.
inline bool AnnounceFifoWait(const char* program, const std::string& path, FILE* out = stderr) {
  if (!FifoWithoutReader(path)) return false;
  std::fprintf(out, "%s: waiting for a reader on FIFO %s\n", program, path.c_str());
  std::fflush(out);
  return true;
}

}  // namespace pktkit::tools

#endif  // PKTKIT_TOOLS_COMMON_FIFO_H_
