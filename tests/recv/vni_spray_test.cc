// Bounded per-VNI series (issue 9): a sender who sprays 100,000 distinct VNIs gets at most
// --max_vni_series series plus vni="other"; every packet is still counted once; memory and the
// /metrics page stay small; nothing stalls (the run finishes within the test's own bounded
// waits). Assertions are on counts and sizes, never on timing.
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pktkit/io/udp_sender.h"
#include "pktkit/io/udp_socket.h"
#include "tests/testing/tool_process.h"
#include "tools/recv/vni_counters.h"

namespace pktkit {
namespace {

constexpr uint32_t kSpray = 100000;

size_t CountSeries(const std::string& text) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find("\npktkit_recv_vni_packets_total{", at)) != std::string::npos;
       ++at) {
    ++n;
  }
  return n;
}

// Sum of every pktkit_recv_vni_packets_total series.
uint64_t SumSeries(const std::string& text) {
  uint64_t sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("pktkit_recv_vni_packets_total{", 0) != 0) continue;
    sum += std::strtoull(line.c_str() + line.rfind(' ') + 1, nullptr, 10);
  }
  return sum;
}

TEST(BoundedVniCountersTest, SprayFromTwoThreadsStaysBounded) {
  tools::MetricsRegistry registry;
  recv::BoundedVniCounters vnis(&registry, 64);
  auto spray = [&](uint32_t first) {
    for (uint32_t v = first; v < kSpray; v += 2) vnis.For(v)->Add();
  };
  std::thread a(spray, 0), b(spray, 1);
  a.join();
  b.join();
  for (uint32_t v = 0; v < 10; ++v) vnis.For(v)->Add();  // repeats of early VNIs
  const std::string text = registry.RenderPrometheus();
  EXPECT_EQ(vnis.admitted(), 64u);
  EXPECT_EQ(CountSeries("\n" + text), 65u) << text.substr(0, 2000);  // 64 + other
  EXPECT_NE(text.find("vni=\"other\""), std::string::npos);
  EXPECT_EQ(SumSeries(text), kSpray + 10);
  EXPECT_LT(text.size(), 16u * 1024u);
}

TEST(BoundedVniCountersTest, ZeroSeriesCountsEverythingAsOther) {
  tools::MetricsRegistry registry;
  recv::BoundedVniCounters vnis(&registry, 0);
  for (uint32_t v = 0; v < 1000; ++v) vnis.For(v)->Add();
  const std::string text = registry.RenderPrometheus();
  EXPECT_EQ(CountSeries("\n" + text), 1u);
  EXPECT_EQ(SumSeries(text), 1000u);
}

uint64_t RssKiB(pid_t pid) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

uint16_t FreePort() {
  auto s = UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0), UdpSocketOptions());
  return s.ok() ? s->local_port() : 0;
}

// VXLAN datagrams, VNI first..last-1, each with a minimal inner Ethernet frame; paced.
void Spray(UdpSender* s, uint32_t first, uint32_t last) {
  constexpr size_t kBatch = 64;
  std::vector<std::vector<uint8_t>> d(kBatch, std::vector<uint8_t>(8 + 60, 0));
  std::vector<iovec> iov(kBatch);
  std::vector<UdpSender::Message> m(kBatch);
  for (uint32_t v = first; v < last;) {
    size_t n = 0;
    for (; n < kBatch && v < last; ++n, ++v) {
      std::vector<uint8_t>& b = d[n];
      b[0] = 0x08;  // I flag
      b[4] = static_cast<uint8_t>(v >> 16);
      b[5] = static_cast<uint8_t>(v >> 8);
      b[6] = static_cast<uint8_t>(v);
      b[8 + 12] = 0x08;  // inner EtherType IPv4
      iov[n] = iovec{b.data(), b.size()};
      m[n] = UdpSender::Message{&iov[n], 1, 0};
    }
    size_t sent = 0;
    while (sent < n) sent += s->Send(m.data() + sent, n - sent).sent;
    if ((v / kBatch) % 16 == 0) usleep(2000);  // pace: the receiver must not need to drop
  }
}

TEST(VniSprayTest, ToolKeepsSeriesBoundedAndCountsEveryPacket) {
  const uint16_t port = FreePort();
  const uint16_t mport = FreePort();
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string tmp = dir != nullptr ? dir : "/tmp";
  const pid_t pid = testing::SpawnTool(
      "tools/recv/pktkit-recv",
      {"-i", absl::StrCat("udp::127.0.0.1:", port, ":vxlan"), "-w", "/dev/null", "--metrics",
       absl::StrCat("127.0.0.1:", mport), "--stats_interval", "0", "--max_vni_series", "256",
       "--rcvbuf_mb", "32"},
      tmp + "/spray_err.txt");
  ASSERT_TRUE(testing::WaitForMetrics(mport, 10000));
  auto s = UdpSender::Open({*SocketAddress::Parse("127.0.0.1", port)});
  ASSERT_TRUE(s.ok()) << s.status();
  Spray(s->get(), 0, 1000);
  std::string text;
  for (int i = 0; i < 200 && testing::MetricValue(mport, "pktkit_recv_datagrams_total") < 1000;
       ++i) {
    usleep(50 * 1000);
  }
  const uint64_t rss_warm = RssKiB(pid);
  Spray(s->get(), 1000, kSpray);
  double got = 0, overflow = 0;
  for (int i = 0; i < 400; ++i) {  // bounded wait (20 s): the receiver must keep up
    overflow = std::max(0.0, testing::MetricValue(mport, "pktkit_recv_socket_overflow_total"));
    got = testing::MetricValue(mport, "pktkit_recv_datagrams_total") + overflow;
    if (got >= kSpray) break;
    usleep(50 * 1000);
  }
  text = testing::HttpGetLoopback(mport);
  const uint64_t rss_after = RssKiB(pid);
  kill(pid, SIGINT);
  EXPECT_EQ(testing::WaitExit(pid, 10000), 0);
  EXPECT_EQ(got, static_cast<double>(kSpray)) << text.substr(0, 4000);
  EXPECT_EQ(CountSeries(text), 257u);  // 256 VNIs + other
  const size_t body = text.find("\r\n\r\n");
  const std::string metrics = body == std::string::npos ? text : text.substr(body + 4);
  // Every decapsulated packet is in exactly one VNI series.
  const size_t at = metrics.find("\npktkit_recv_decapsulated_total ");
  ASSERT_NE(at, std::string::npos) << metrics.substr(0, 2000);
  const uint64_t decap = std::strtoull(metrics.c_str() + at + 32, nullptr, 10);
  EXPECT_EQ(SumSeries(metrics), decap);
  EXPECT_EQ(decap + overflow, static_cast<double>(kSpray));
  EXPECT_LT(metrics.size(), 64u * 1024u);
  // Memory flat: 99,000 new VNIs after the warm-up add (much) less than 8 MiB.
  EXPECT_LT(rss_after, rss_warm + 8 * 1024) << "warm " << rss_warm << " KiB, after " << rss_after;
}

}  // namespace
}  // namespace pktkit
