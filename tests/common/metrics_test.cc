#include "tools/common/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
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

TEST(MetricsServerTest, ServesMetricsOverHttpOnLoopback) {
  MetricsRegistry r;
  r.AddCounter("pktkit_demo_total", "demo")->Add(7);
  auto s = MetricsServer::Start(&r, "127.0.0.1:0");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_NE((*s)->port(), 0);
  const std::string resp = testing::HttpGetLoopback((*s)->port(), "/metrics");
  EXPECT_EQ(resp.rfind("HTTP/1.0 200 OK", 0), 0u) << resp;
  EXPECT_NE(resp.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(resp.find("pktkit_demo_total 7\n"), std::string::npos);
  EXPECT_EQ(testing::HttpGetLoopback((*s)->port(), "/").rfind("HTTP/1.0 404", 0), 0u);
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
