// A running pktkit-recv, as an operator and an attacker meet it (issue 12): its /metrics keeps
// answering while one peer dribbles a byte every 0.8 s and others never read, SIGINT still ends
// it promptly; a real Prometheus (Debian's `prometheus`) scrapes it and its query API returns
// the datagrams the test sent; started as root with --user nobody it runs as nobody with no
// capabilities. Skips with one "SKIP:" line where prometheus or root is missing.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/run_tool.h"
#include "tests/testing/tool_process.h"
#include "tools/gen/generator.h"

namespace pktkit {
namespace {

using testing::Slurp;
using testing::WaitExit;

constexpr char kRecv[] = "tools/recv/pktkit-recv";

std::string TmpDir() { return std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp"; }

// The loopback address the receiver's UDP socket uses: one of 127/8 picked per test process, so
// that a UDP port another test picked at the same moment (receivers bind with SO_REUSEPORT,
// which would share the datagrams between the two sockets) is not this one.
uint32_t UdpLoopback() {
  static const uint32_t a =
      0x7f000000u | ((static_cast<uint32_t>(getpid()) % 250u + 2u) << 8) | 7u;
  return a;
}
std::string UdpLoopbackText() {
  const uint32_t a = UdpLoopback();
  return "127.0." + std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

uint16_t FreePort(int type) {
  const int fd = socket(AF_INET, type, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(type == SOCK_DGRAM ? UdpLoopback() : INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Starts `args` with stdout to /dev/null and stderr to `err_path`.
pid_t Start(std::vector<std::string> args, const std::string& err_path) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    const int e = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(null, 1);
    dup2(e, 2);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

std::string Get(uint16_t port, const std::string& path, int timeout_ms = 3000) {
  return pktkit::testing::HttpGetLoopback(port, path, timeout_ms);
}

bool WaitFor(int timeout_ms, const std::function<bool()>& cond) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    usleep(50 * 1000);
  }
  return cond();
}

// Sends `n` VXLAN datagrams (VNI 42, generated inner frames) to the receiver's address:`port`.
void SendVxlan(uint16_t port, size_t n) {
  gen::GenOptions o;
  o.flows = 20;
  o.max_packets = n;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(UdpLoopback());
  for (const gen::GenPacket& p : gen::Generate(o)) {
    std::vector<uint8_t> d = {0x08, 0, 0, 0, 0, 0, 42, 0};  // RFC 7348 §5: I flag, VNI 42
    d.insert(d.end(), p.bytes.begin(), p.bytes.end());
    sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    usleep(200);
  }
  close(fd);
}

struct Recv {
  pid_t pid;
  uint16_t udp_port, metrics_port;
  std::string err_path;
};

Recv StartRecv(std::vector<std::string> extra = {}) {
  Recv r;
  r.udp_port = FreePort(SOCK_DGRAM);
  r.metrics_port = FreePort(SOCK_STREAM);
  r.err_path = TmpDir() + "/recv." + std::to_string(r.udp_port) + ".err";
  std::vector<std::string> args = {kRecv,
                                   "-i",
                                   "udp::" + UdpLoopbackText() + ":" + std::to_string(r.udp_port) +
                                       ":vxlan",
                                   "-w",
                                   "-",
                                   "--metrics",
                                   "127.0.0.1:" + std::to_string(r.metrics_port),
                                   "--stats_interval",
                                   "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  r.pid = Start(args, r.err_path);
  EXPECT_TRUE(WaitFor(10000, [&] {
    return Get(r.metrics_port, "/metrics", 500).find("pktkit_recv_datagrams_total") !=
           std::string::npos;
  })) << Slurp(r.err_path);
  return r;
}

TEST(RecvEndpointTest, SlowAndNeverReadingPeersDoNotBlockScrapesOrSigint) {
  Recv r = StartRecv();
  std::atomic<bool> stop{false};
  std::thread slow([&] {  // one byte every 0.8 s, for as long as the test runs
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(r.metrics_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      const std::string req = "GET /metrics HTTP/1.0\r\nX: yyyyyyyyyyyyyyyyyyyyyyyyyyyy";
      for (size_t i = 0; i < req.size() && !stop.load(); ++i) {
        if (send(fd, &req[i], 1, MSG_NOSIGNAL) != 1) break;
        for (int k = 0; k < 8 && !stop.load(); ++k) usleep(100 * 1000);
      }
    }
    close(fd);
  });
  std::vector<int> never_read;
  for (int i = 0; i < 8; ++i) {  // request, never read, never close
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(r.metrics_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const std::string req = std::string(200, 'G') + " /metrics HTTP/1.0\r\n\r\n";
    for (int k = 0; k < 20; ++k) send(fd, req.data(), req.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    never_read.push_back(fd);
  }
  SendVxlan(r.udp_port, 30);
  // Counters reach the registry on the program's own tick: wait for them (bounded).
  EXPECT_TRUE(WaitFor(5000, [&] {
    return Get(r.metrics_port, "/metrics", 3000).find("\npktkit_recv_datagrams_total 30\n") !=
           std::string::npos;
  }));
  for (int i = 0; i < 4; ++i) {  // and every scrape is answered while the peers hang on
    const std::string resp = Get(r.metrics_port, "/metrics", 3000);
    EXPECT_NE(resp.find("\npktkit_recv_datagrams_total 30\n"), std::string::npos)
        << "scrape " << i << ": " << resp.substr(0, 200);
    usleep(500 * 1000);
  }
  const auto t0 = std::chrono::steady_clock::now();
  kill(r.pid, SIGINT);
  const int code = WaitExit(r.pid, 5000);  // generous bound: proves "not blocked for good"
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(code, 0) << Slurp(r.err_path);
  std::printf("pktkit-recv exited %.3f s after SIGINT with a slow and 8 never-reading peers\n", s);
  stop.store(true);
  slow.join();
  for (int fd : never_read) close(fd);
}

TEST(RecvEndpointTest, RealPrometheusScrapesThePacketCount) {
  const char* prom = "/usr/bin/prometheus";
  if (access(prom, X_OK) != 0) {
    GTEST_SKIP()
        << "SKIP: no /usr/bin/prometheus (Debian package prometheus; setup.sh installs it)";
  }
  Recv r = StartRecv();
  SendVxlan(r.udp_port, 57);
  const std::string dir = TmpDir() + "/prom";
  mkdir(dir.c_str(), 0755);
  {
    std::ofstream cfg(dir + "/prometheus.yml");
    cfg << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "scrape_configs:\n  - job_name: pktkit_recv\n    static_configs:\n"
        << "      - targets: ['127.0.0.1:" << r.metrics_port << "']\n";
  }
  const uint16_t web = FreePort(SOCK_STREAM);
  const pid_t p = Start(
      {prom, "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
       "--web.listen-address=127.0.0.1:" + std::to_string(web)},
      dir + "/prometheus.log");
  std::string last;
  const bool got = WaitFor(90000, [&] {
    last = Get(web, "/api/v1/query?query=pktkit_recv_datagrams_total", 2000);
    return last.find("\"value\":[") != std::string::npos &&
           last.find(",\"57\"]") != std::string::npos;
  });
  EXPECT_TRUE(got) << "last answer: " << last << "\nprometheus log:\n"
                   << Slurp(dir + "/prometheus.log").substr(0, 3000);
  EXPECT_NE(last.find("\"job\":\"pktkit_recv\""), std::string::npos) << last;
  kill(p, SIGTERM);
  WaitExit(p, 20000);
  kill(r.pid, SIGINT);
  EXPECT_EQ(WaitExit(r.pid, 5000), 0) << Slurp(r.err_path);
}

TEST(RecvEndpointTest, RunsAsTheUserWithoutCapabilities) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIP: needs root (starts pktkit-recv --user nobody)";
  passwd* pw = getpwnam("nobody");
  if (pw == nullptr) GTEST_SKIP() << "SKIP: no user 'nobody'";
  Recv r = StartRecv({"--user", "nobody"});
  const std::string uid = std::to_string(pw->pw_uid);
  std::string status;
  EXPECT_TRUE(WaitFor(5000, [&] {
    status = Slurp("/proc/" + std::to_string(r.pid) + "/status");
    return status.find("\nUid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid + "\n") !=
           std::string::npos;
  })) << status;
  EXPECT_NE(status.find("\nCapEff:\t0000000000000000\n"), std::string::npos) << status;
  EXPECT_NE(status.find("\nCapPrm:\t0000000000000000\n"), std::string::npos) << status;
  SendVxlan(r.udp_port, 10);  // still receiving after the switch
  EXPECT_TRUE(WaitFor(5000, [&] {
    return Get(r.metrics_port, "/metrics").find("\npktkit_recv_datagrams_total 10\n") !=
           std::string::npos;
  }));
  kill(r.pid, SIGINT);
  EXPECT_EQ(WaitExit(r.pid, 5000), 0) << Slurp(r.err_path);
}

// A start-up error is one line and exit 1, with no "final" counter line before it (issue 12:
// pktkit-recv printed "[pktkit-recv] final t=0.0s" ahead of the bind error). 192.0.2.0/24 is
// TEST-NET-1 (RFC 5737): no local interface has it, so bind fails; nothing is sent.
TEST(RecvEndpointTest, StartupErrorIsOneLineWithoutFinalCounters) {
  const auto r = testing::RunTool(
      kRecv, {"-i", "udp::192.0.2.55:9999:vxlan", "-w", "-", "--stats_interval", "0"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.find("final"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("192.0.2.55:9999"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pktkit
