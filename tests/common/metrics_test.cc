#include "tools/common/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/tool_process.h"
#include "tools/common/progress.h"
#include "tools/common/signals.h"

namespace pktkit::tools {
namespace {

TEST(MetricsRegistryTest, RendersPrometheusTextFormat) {
  MetricsRegistry r;
  Counter* rx = r.AddCounter("pktkit_recv_packets_total", "Datagrams received");
  Counter* bad =
      r.AddCounter("pktkit_recv_malformed_total", "Malformed datagrams", {{"reason", "truncated"}});
  r.AddCounter("pktkit_recv_malformed_total", "Malformed datagrams", {{"reason", "bad\"flags"}});
  r.AddGauge("pktkit_recv_rcvbuf_bytes", "Socket receive buffer", [] { return 1024.0; });
  rx->Add(41);
  rx->Add();
  bad->Add(3);
  EXPECT_EQ(r.AddCounter("pktkit_recv_packets_total", "x"), rx);  // same series, same counter
  const std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("# HELP pktkit_recv_packets_total Datagrams received\n"
                      "# TYPE pktkit_recv_packets_total counter\n"
                      "pktkit_recv_packets_total 42\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pktkit_recv_malformed_total{reason=\"truncated\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("pktkit_recv_malformed_total{reason=\"bad\\\"flags\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE pktkit_recv_rcvbuf_bytes gauge\npktkit_recv_rcvbuf_bytes 1024\n"),
            std::string::npos);
  EXPECT_EQ(r.CounterValue("pktkit_recv_malformed_total", {{"reason", "truncated"}}), 3u);
  const std::string summary = r.RenderSummary();
  EXPECT_NE(summary.find("packets=42"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("bad"), std::string::npos) << summary;  // zero counters are left out
}

TEST(MetricsRegistryTest, CountersAreExactUnderConcurrency) {
  MetricsRegistry r;
  Counter* c = r.AddCounter("pktkit_test_total", "t");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([c] {
      for (int i = 0; i < 100000; ++i) c->Add();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->value(), 400000u);
}

std::string BoundedGet(uint16_t port, const std::string& request, int timeout_ms = 5000) {
  return pktkit::testing::HttpExchange(port, request, timeout_ms);
}

std::string Scrape(uint16_t port, const std::string& path = "/metrics") {
  return BoundedGet(port, "GET " + path + " HTTP/1.0\r\n\r\n");
}

// "HTTP/1.1 200 OK..." -> 200; 0 when there is no status line.
int StatusCode(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

// The local address (host byte order) the kernel lists for a TCP socket listening on `port`,
// from /proc/net/tcp; -1 when none.
int64_t ListeningIpv4Address(uint16_t port) {
  std::FILE* f = std::fopen("/proc/net/tcp", "r");
  if (f == nullptr) return -1;
  char line[512];
  int64_t found = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned addr = 0, p = 0, st = 0;
    if (std::sscanf(line, " %*d: %8X:%4X %*8X:%*4X %2X", &addr, &p, &st) == 3 && p == port &&
        st == 0x0A /* TCP_LISTEN */) {
      found = ntohl(addr);
    }
  }
  std::fclose(f);
  return found;
}

// Runs `fn` on a thread and waits at most `timeout_ms` for it; true when it returned. (The
// thread is detached when it did not, so that a failing test still ends.)
bool FinishesWithin(int timeout_ms, std::function<void()> fn) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread t([fn = std::move(fn), done] {
    fn();
    done->store(true);
  });
  for (int waited = 0; waited < timeout_ms && !done->load(); waited += 10) usleep(10 * 1000);
  if (done->load()) {
    t.join();
    return true;
  }
  t.detach();
  return false;
}

TEST(MetricsServerTest, ServesMetricsOverHttpOnLoopback) {
  MetricsRegistry r;
  r.AddCounter("pktkit_demo_total", "demo")->Add(7);
  r.AddCounter("pktkit_demo_drops_total", "drops", {{"reason", "a\"b"}})->Add(2);
  r.AddGauge("pktkit_demo_gauge", "g", [] { return 1.5; });
  auto s = MetricsServer::Start(&r, "127.0.0.1:0");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_NE((*s)->port(), 0);
  const std::string resp = Scrape((*s)->port());
  EXPECT_EQ(StatusCode(resp), 200) << resp;
  EXPECT_NE(resp.find("text/plain; version=0.0.4"), std::string::npos) << resp;
  EXPECT_NE(resp.find("# TYPE pktkit_demo_total counter\npktkit_demo_total 7\n"), std::string::npos)
      << resp;
  EXPECT_NE(resp.find("pktkit_demo_drops_total{reason=\"a\\\"b\"} 2\n"), std::string::npos) << resp;
  EXPECT_NE(resp.find("# TYPE pktkit_demo_gauge gauge\npktkit_demo_gauge 1.5\n"), std::string::npos)
      << resp;
  // The shared test helper (HTTP/1.0, reads to close) sees the same.
  EXPECT_NE(testing::HttpGetLoopback((*s)->port()).find("pktkit_demo_total 7\n"),
            std::string::npos);
}

// Issue 12: `GET /metricsXYZ` was served as /metrics (a prefix match). Only the exact path is.
TEST(MetricsServerTest, OnlyTheExactPathIsServed) {
  MetricsRegistry r;
  r.AddCounter("pktkit_demo_total", "demo")->Add(7);
  auto s = MetricsServer::Start(&r, "127.0.0.1:0");
  ASSERT_TRUE(s.ok()) << s.status();
  for (const char* path : {"/", "/metricsXYZ", "/metrics.txt", "/metric", "/other"}) {
    const std::string resp = Scrape((*s)->port(), path);
    EXPECT_EQ(StatusCode(resp), 404) << path << ": " << resp;
    EXPECT_EQ(resp.find("pktkit_demo_total"), std::string::npos) << path;
  }
  EXPECT_EQ(StatusCode(Scrape((*s)->port(), "/metrics")), 200);
  EXPECT_EQ(StatusCode(Scrape((*s)->port(), "/metrics?x=1")), 200);  // a query is not a path
}

// Issue 12: `--metrics :9100` bound every interface. An empty host is loopback; 0.0.0.0 says
// "every interface" explicitly.
TEST(MetricsServerTest, EmptyHostBindsLoopbackOnly) {
  MetricsRegistry r;
  auto s = MetricsServer::Start(&r, ":0");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(ListeningIpv4Address((*s)->port()), int64_t{INADDR_LOOPBACK});
  EXPECT_EQ(StatusCode(Scrape((*s)->port())), 200);
  auto any = MetricsServer::Start(&r, "0.0.0.0:0");
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(ListeningIpv4Address((*any)->port()), int64_t{INADDR_ANY});
  auto parsed = ParseMetricsAddress(":9100");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->ToString(), "127.0.0.1:9100");
}

TEST(MetricsServerTest, BusyPortIsAnErrorNotACrash) {
  MetricsRegistry r;
  auto a = MetricsServer::Start(&r, "127.0.0.1:0");
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = MetricsServer::Start(&r, "127.0.0.1:" + std::to_string((*a)->port()));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("metrics listen on 127.0.0.1:"), std::string::npos)
      << b.status();
}

// Issue 12: one client sending a byte every 0.8 s made every scrape time out for as long as it
// kept going, and held up shutdown. Now scrapes are answered meanwhile, and the server stops
// without waiting for the dribbling client.
TEST(MetricsServerTest, SlowClientDoesNotStopScrapesOrShutdown) {
  MetricsRegistry r;
  r.AddCounter("pktkit_demo_total", "demo")->Add(3);
  auto s = MetricsServer::Start(&r, "127.0.0.1:0");
  ASSERT_TRUE(s.ok()) << s.status();
  const uint16_t port = (*s)->port();
  std::atomic<bool> stop_slow{false};
  std::atomic<int> slow_bytes{0};
  std::thread slow([&] {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      const std::string req = "GET /metrics HTTP/1.0\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa";
      for (size_t i = 0; i < req.size() && !stop_slow.load(); ++i) {
        if (send(fd, &req[i], 1, MSG_NOSIGNAL) != 1) break;
        slow_bytes.fetch_add(1);
        for (int k = 0; k < 8 && !stop_slow.load(); ++k) usleep(100 * 1000);  // 0.8 s
      }
    }
    close(fd);
  });
  while (slow_bytes.load() < 1) usleep(10 * 1000);
  for (int i = 0; i < 4; ++i) {  // spans several of the slow client's bytes
    const std::string resp = Scrape(port);
    EXPECT_EQ(StatusCode(resp), 200) << "scrape " << i << ": " << resp;
    EXPECT_NE(resp.find("pktkit_demo_total 3\n"), std::string::npos);
    usleep(400 * 1000);
  }
  EXPECT_GE(slow_bytes.load(), 2);  // the slow client was still dribbling during the scrapes
  EXPECT_TRUE(FinishesWithin(5000, [&] { s->reset(); }))
      << "the server did not stop while a slow client was connected";
  stop_slow.store(true);
  slow.join();
}

// Issue 12: a client that requests and never reads blocked the server for good (no send
// timeout), and the program never exited. A large answer fills the socket buffers so that the
// server's send really blocks; other scrapes are answered and the server still stops.
TEST(MetricsServerTest, NeverReadingClientsDoNotBlockTheServer) {
  MetricsRegistry r;
  const std::string pad(300, 'x');
  for (int i = 0; i < 8000; ++i) {  // ~2.7 MB of text: more than the socket buffers hold
    r.AddCounter("pktkit_demo_series_total", "many series", {{"i", std::to_string(i)}, {"p", pad}})
        ->Add(i);
  }
  auto s = MetricsServer::Start(&r, "127.0.0.1:0");
  ASSERT_TRUE(s.ok()) << s.status();
  const uint16_t port = (*s)->port();
  std::vector<int> stuck;
  for (int c = 0; c < 6; ++c) {  // more never-readers than the server has workers
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const std::string req = "GET /metrics HTTP/1.0\r\n\r\n";
    ASSERT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    stuck.push_back(fd);
  }
  usleep(300 * 1000);  // let the server start writing into the full buffers
  for (int i = 0; i < 3; ++i) {
    const std::string resp = BoundedGet(port, "GET /metrics HTTP/1.0\r\n\r\n", 15000);
    EXPECT_EQ(StatusCode(resp), 200) << "scrape " << i << " got " << resp.size() << " bytes";
    EXPECT_NE(resp.find("pktkit_demo_series_total{i=\"7999\",p=\"" + pad + "\"} 7999\n"),
              std::string::npos);
  }
  EXPECT_TRUE(FinishesWithin(5000, [&] { s->reset(); }))
      << "the server did not stop while never-reading clients were connected";
  for (int fd : stuck) close(fd);
}

TEST(MetricsServerTest, OversizeHeadAndOtherMethodsAreRefused) {
  MetricsRegistry r;
  auto s = MetricsServer::Start(&r, "127.0.0.1:0");
  ASSERT_TRUE(s.ok()) << s.status();
  const std::string big = "GET /metrics HTTP/1.0\r\nX: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_EQ(StatusCode(BoundedGet((*s)->port(), big)), 431);
  EXPECT_EQ(StatusCode(BoundedGet((*s)->port(), "POST /metrics HTTP/1.0\r\n\r\n")), 405);
  EXPECT_EQ(StatusCode(BoundedGet((*s)->port(), "garbage\r\n\r\n")), 400);
  const std::string head = BoundedGet((*s)->port(), "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(StatusCode(head), 200);
  EXPECT_EQ(head.find("\r\n\r\n") + 4, head.size());  // no body
}

TEST(MetricsServerTest, RejectsBadAddresses) {
  MetricsRegistry r;
  EXPECT_FALSE(MetricsServer::Start(&r, "9100").ok());
  EXPECT_FALSE(MetricsServer::Start(&r, "127.0.0.1:99999").ok());
  EXPECT_FALSE(MetricsServer::Start(&r, "not-an-ip:9100").ok());
  EXPECT_FALSE(MetricsServer::Start(&r, "[::1:9100").ok());
}

TEST(SignalsTest, FirstSigtermOnlyRequestsStop) {
  InstallStopHandlers();
  EXPECT_FALSE(StopRequested());
  raise(SIGTERM);
  EXPECT_TRUE(StopRequested());
}

TEST(ProgressPrinterTest, FinalLineCarriesCounters) {
  MetricsRegistry r;
  r.AddCounter("pktkit_recv_written_total", "w")->Add(5);
  char* buf = nullptr;
  size_t len = 0;
  FILE* mem = open_memstream(&buf, &len);
  {
    ProgressPrinter p(&r, 0, mem, "recv");
    p.MaybePrint();  // interval 0: never periodic
    p.PrintFinal();
  }
  std::fclose(mem);
  const std::string out(buf, len);
  free(buf);
  EXPECT_EQ(out.rfind("[recv] final t=", 0), 0u) << out;
  EXPECT_NE(out.find("written=5"), std::string::npos) << out;
}

}  // namespace
}  // namespace pktkit::tools
