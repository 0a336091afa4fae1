// An LD_PRELOAD shim that makes the NFLOG tools meet the fatal errors they must report: from the
// Nth call on, zmq_poll() fails with ETERM (PKTKIT_FAULT_ZMQ_POLL_AFTER=N) and poll() on an
// AF_NETLINK socket fails with EIO (PKTKIT_FAULT_NETLINK_POLL_AFTER=N). Everything else passes
// through to the real functions. Used by tests/nflog/fatal_error_test.sh only.
#include <dlfcn.h>
#include <poll.h>
#include <sys/socket.h>
#include <zmq.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

namespace {

long Threshold(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? -1 : std::atol(v);
}

bool IsNetlink(int fd) {
  int domain = 0;
  socklen_t len = sizeof domain;
  return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_NETLINK;
}

}  // namespace

extern "C" int zmq_poll(zmq_pollitem_t* items, int n, long timeout) {
  using Fn = int (*)(zmq_pollitem_t*, int, long);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "zmq_poll"));
  static std::atomic<long> calls{0};
  const long after = Threshold("PKTKIT_FAULT_ZMQ_POLL_AFTER");
  if (after >= 0 && ++calls > after) {
    errno = ETERM;
    return -1;
  }
  return real(items, n, timeout);
}

extern "C" int poll(pollfd* fds, nfds_t n, int timeout) {
  using Fn = int (*)(pollfd*, nfds_t, int);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "poll"));
  static std::atomic<long> calls{0};
  const long after = Threshold("PKTKIT_FAULT_NETLINK_POLL_AFTER");
  if (after >= 0 && n > 0 && IsNetlink(fds[0].fd) && ++calls > after) {
    errno = EIO;
    return -1;
  }
  return real(fds, n, timeout);
}
