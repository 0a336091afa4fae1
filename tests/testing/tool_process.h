// tests/testing/tool_process.h — run a tool binary from a test: start it, scrape its Prometheus
// endpoint on loopback, wait for it to exit (bounded, never hangs a test).
//
//   pid_t pid = pktkit::testing::SpawnTool("tools/recv/pktkit-recv", {"-i", spec, "-w", out});
//   ASSERT_TRUE(pktkit::testing::WaitForMetrics(port, 5000));
//   kill(pid, SIGINT);
//   EXPECT_EQ(pktkit::testing::WaitExit(pid, 10000), 0);
#ifndef PKTKIT_TESTS_TESTING_TOOL_PROCESS_H_
#define PKTKIT_TESTS_TESTING_TOOL_PROCESS_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace pktkit::testing {

// Forks and execs `tool` with `args`; stderr goes to `stderr_path` when given. Returns the pid.
inline pid_t SpawnTool(const std::string& tool, std::vector<std::string> args,
                       const std::string& stderr_path = "") {
  args.insert(args.begin(), tool);
  const pid_t pid = fork();
  if (pid == 0) {
    if (!stderr_path.empty()) {
      const int fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(tool.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

// The exit status of `pid` once it exits within `timeout_ms`; -1 when killed by a signal, -2
// when it did not exit in time (it is then killed).
inline int WaitExit(pid_t pid, int timeout_ms) {
  int status = 0;
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    usleep(50 * 1000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -2;
}

// Sends `request` to 127.0.0.1:`port` and returns everything the peer sends until it closes
// ("" when nothing listens). Every socket call gives up after `timeout_ms`, so a test never hangs
// on a stuck server.
inline std::string HttpExchange(uint16_t port, const std::string& request, int timeout_ms = 5000) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buf[65536];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// The whole HTTP response to GET `path` from 127.0.0.1:`port` ("" when nothing listens).
inline std::string HttpGetLoopback(uint16_t port, const std::string& path = "/metrics",
                                   int timeout_ms = 3000) {
  return HttpExchange(port, "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", timeout_ms);
}

// The value of the unlabelled series `series` served at 127.0.0.1:`port`/metrics (-1 when the
// endpoint does not answer or has no such series).
inline double MetricValue(uint16_t port, const std::string& series) {
  const std::string body = HttpGetLoopback(port);
  const size_t at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(body.c_str() + at + series.size() + 2, nullptr);
}

// True once 127.0.0.1:`port` answers within `timeout_ms`.
inline bool WaitForMetrics(uint16_t port, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (!HttpGetLoopback(port).empty()) return true;
    usleep(50 * 1000);
  }
  return false;
}

}  // namespace pktkit::testing

#endif  // PKTKIT_TESTS_TESTING_TOOL_PROCESS_H_
