// End-to-end tests of pktkit-capture in a private network namespace (needs root): frames sent
// into a veth come out of the pcap byte-identical with their VLAN tags, counters are served in
// the Prometheus format, SIGINT stops cleanly, -c stops by itself, workers share the traffic,
// and a positional BPF expression is applied in the kernel.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "pktkit/io/pcap.h"
#include "tests/capture/netns.h"
#include "tests/testing/tool_process.h"

namespace pktkit {
namespace {

using testing::RawSender;
using testing::UdpFrame;

constexpr uint8_t kTestMac = 0x11;
constexpr char kTool[] = "tools/capture/pktkit-capture";

pid_t Spawn(std::vector<std::string> args) { return testing::SpawnTool(kTool, std::move(args)); }
int WaitExit(pid_t pid) { return testing::WaitExit(pid, 10000); }
bool WaitForMetrics(uint16_t port) { return testing::WaitForMetrics(port, 5000); }
std::string Scrape(uint16_t port) { return testing::HttpGetLoopback(port); }

std::vector<std::vector<uint8_t>> ReadTestFrames(const std::string& path, bool* ns_ok) {
  std::vector<std::vector<uint8_t>> out;
  auto r = PcapReader::Open(path);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return out;
  *ns_ok = true;
  while (true) {
    auto b = (*r)->NextBatch(0);
    if (!b.ok()) break;
    for (const PacketView& p : *b) {
      if (p.timestamp_ns <= 0) *ns_ok = false;
      if (p.caplen >= 12 && p.data[11] == kTestMac) out.emplace_back(p.data, p.data + p.caplen);
    }
  }
  return out;
}

class CaptureToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!testing::EnterNewNetns(&why)) GTEST_SKIP() << why;
    ASSERT_TRUE(testing::MakeVeth("v0", "v1", 9000));
    char tmpl[] = "/tmp/pktkit_capture_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }
  std::string dir_;
};

TEST_F(CaptureToolTest, WritesWireExactPcapServesMetricsAndStopsOnSigint) {
  const std::string out = dir_ + "/out.pcap";
  const pid_t pid = Spawn({"-i", "af_packet::v1", "-w", out, "--metrics", "127.0.0.1:9100",
                           "--stats_interval", "0.2", "--buffer_mb", "8"});
  ASSERT_TRUE(WaitForMetrics(9100));
  RawSender tx("v0");
  const std::vector<std::vector<uint8_t>> sent = {
      UdpFrame(kTestMac, 1, 2, 3, 4, 18),
      UdpFrame(kTestMac, 1, 2, 3, 4, 100, {{0x8100, 0xe064}}),
      UdpFrame(kTestMac, 1, 2, 3, 4, 100, {{0x88a8, 0x0010}, {0x8100, 0x0020}}),
      UdpFrame(kTestMac, 1, 2, 3, 4, 8972),
  };
  for (const auto& f : sent) ASSERT_TRUE(tx.Send(f));
  std::string metrics;
  for (int i = 0; i < 40; ++i) {
    usleep(100 * 1000);
    metrics = Scrape(9100);
    if (metrics.find("pktkit_capture_vlan_reinserted_total{worker=\"0\"} 2") != std::string::npos) {
      break;
    }
  }
  EXPECT_NE(metrics.find("pktkit_capture_vlan_reinserted_total{worker=\"0\"} 2"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("# TYPE pktkit_capture_kernel_drops_total counter"), std::string::npos);
  ASSERT_EQ(kill(pid, SIGINT), 0);
  EXPECT_EQ(WaitExit(pid), 0);
  bool ns_ok = false;
  const auto got = ReadTestFrames(out, &ns_ok);
  EXPECT_TRUE(ns_ok);
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(got[i], sent[i]) << "frame " << i;
}

TEST_F(CaptureToolTest, StopsAfterCountAndAppliesTheFilterInTheKernel) {
  const std::string out = dir_ + "/count.pcap";
  const pid_t pid = Spawn({"-i", "v1", "-w", out, "-c", "3", "--stats_interval", "0", "--metrics",
                           "127.0.0.1:9101", "--buffer_mb", "8", "udp", "port", "1000"});
  ASSERT_TRUE(WaitForMetrics(9101));
  RawSender tx("v0");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 2000, 20)));  // filtered out
    ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 1000, 20)));
  }
  EXPECT_EQ(WaitExit(pid), 0);
  bool ns_ok = false;
  const auto got = ReadTestFrames(out, &ns_ok);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& f : got) EXPECT_EQ(f[36] << 8 | f[37], 1000);
}

TEST_F(CaptureToolTest, WorkersShareTheTrafficWithoutLoss) {
  const std::string out = dir_ + "/workers.pcap";
  const pid_t pid =
      Spawn({"-i", "v1", "-w", out, "--workers", "2", "--fanout", "hash:99", "--metrics",
             "127.0.0.1:9102", "--buffer_mb", "8", "--stats_interval", "0"});
  ASSERT_TRUE(WaitForMetrics(9102));
  RawSender tx("v0");
  constexpr int kFlows = 64;
  for (int i = 0; i < kFlows; ++i) {
    ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 0x0a000001 + i, 0x0a000100, 1000 + i, 80, 20)));
  }
  std::string m;
  for (int i = 0; i < 40; ++i) {
    usleep(100 * 1000);
    m = Scrape(9102);
    if (m.find("worker=\"1\"") != std::string::npos &&
        m.find("worker=\"0\"") != std::string::npos) {
      break;
    }
  }
  usleep(300 * 1000);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(pid), 0);
  bool ns_ok = false;
  EXPECT_EQ(ReadTestFrames(out, &ns_ok).size(), static_cast<size_t>(kFlows));
}

TEST_F(CaptureToolTest, RejectsSpecsThatAreNotAfPacket) {
  EXPECT_EQ(WaitExit(Spawn({"-i", "udp::127.0.0.1:4789"})), 2);
  EXPECT_EQ(WaitExit(Spawn({"-i", "bogus::v1"})), 2);
  EXPECT_EQ(WaitExit(Spawn({"-i", "af_packet::nosuch0"})), 1);
}

// Issue 12: the output is opened only once the interface is, so a capture that cannot start
// leaves an existing file as it was; a regular file appears only when the run ends.
TEST_F(CaptureToolTest, FailedStartLeavesTheOutputAlone) {
  const std::string keep = dir_ + "/keep.pcap";
  { std::ofstream(keep) << "precious"; }
  const std::string err = dir_ + "/keep_err.txt";
  EXPECT_EQ(testing::WaitExit(testing::SpawnTool(kTool, {"-i", "af_packet::nosuch0", "-w", keep},
                                                 err),
                              10000),
            1);
  std::ifstream f(keep);
  std::string got((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "precious");
  std::ifstream e(err);
  std::string msg((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 1) << msg;  // one line, no counters
  EXPECT_EQ(msg.find("final"), std::string::npos) << msg;
}

// A fatal write error is the real errno and exit 1.
TEST_F(CaptureToolTest, DevFullIsAFatalErrorWithTheRealErrno) {
  const std::string err = dir_ + "/full_err.txt";
  const pid_t pid = testing::SpawnTool(kTool, {"-i", "v1", "-w", "/dev/full", "--buffer_mb", "4",
                                               "--stats_interval", "0"},
                                       err);
  RawSender tx("v0");
  for (int i = 0; i < 20 && kill(pid, 0) == 0; ++i) {
    tx.Send(UdpFrame(kTestMac, 1, 2, 5, 1000, 1400));
    usleep(50 * 1000);
  }
  EXPECT_EQ(testing::WaitExit(pid, 10000), 1);
  std::ifstream e(err);
  std::string msg((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("temporarily unavailable"), std::string::npos) << msg;
}

// Standard output of a shell command (stderr dropped: tshark warns when run as root).
std::string ShellOutput(const std::string& cmd) {
  FILE* f = popen((cmd + " 2>/dev/null").c_str(), "r");
  std::string out;
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

// --format pcapng: the same wire-exact frames, in a pcapng file that libpcap, tshark and
// capinfos read (the interface's name in its IDB, the kernel's counts in an ISB at the end);
// a bad --format is a usage error (exit 2) before anything is opened.
TEST_F(CaptureToolTest, WritesPcapngThatTsharkReads) {
  const std::string out = dir_ + "/out.pcapng";
  const pid_t pid = Spawn({"-i", "v1", "-w", out, "--format", "pcapng", "-c", "3",
                           "--stats_interval", "0", "--metrics", "127.0.0.1:9104", "--buffer_mb",
                           "8", "udp", "port", "1000"});
  ASSERT_TRUE(WaitForMetrics(9104));
  RawSender tx("v0");
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 3; ++i) {
    sent.push_back(UdpFrame(kTestMac, 1, 2, 5, 1000, 20 + 100 * i));
    ASSERT_TRUE(tx.Send(sent.back()));
  }
  EXPECT_EQ(WaitExit(pid), 0);
  std::ifstream f(out, std::ios::binary);
  char magic[4] = {};
  f.read(magic, 4);
  EXPECT_EQ(std::string(magic, 4), std::string("\x0a\x0d\x0d\x0a", 4));  // an SHB
  bool ns_ok = false;
  EXPECT_EQ(ReadTestFrames(out, &ns_ok), sent);
  EXPECT_TRUE(ns_ok);
  const std::string home = "HOME=" + dir_ + " ";
  EXPECT_EQ(ShellOutput(home + "tshark -n -r " + out + " -T fields -e frame.len -e udp.dstport"),
            "62\t1000\n162\t1000\n262\t1000\n");
  const std::string info = ShellOutput(home + "capinfos " + out);
  EXPECT_NE(info.find("pcapng"), std::string::npos) << info;
  EXPECT_NE(info.find("Number of packets:   3"), std::string::npos) << info;
  EXPECT_NE(info.find("Name = v1"), std::string::npos) << info;
  EXPECT_NE(info.find("Number of stat entries = 1"), std::string::npos) << info;

  const std::string err = dir_ + "/format_err.txt";
  EXPECT_EQ(testing::WaitExit(
                testing::SpawnTool(kTool, {"-i", "v1", "-w", out, "--format", "pcap-ng"}, err),
                10000),
            2);
  std::ifstream e(err);
  std::string msg((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  EXPECT_EQ(msg, "pktkit-capture: --format must be pcap or pcapng\n");
}

TEST_F(CaptureToolTest, FanoutIdCollisionIsReportedAndExitsNonZero) {
  const pid_t first = Spawn({"-i", "v1", "--fanout", "hash:5", "--metrics", "127.0.0.1:9103",
                             "--buffer_mb", "4", "--stats_interval", "0"});
  ASSERT_TRUE(WaitForMetrics(9103));
  const pid_t second = Spawn({"-i", "v0", "--fanout", "hash:5", "--buffer_mb", "4"});
  EXPECT_EQ(WaitExit(second), 1);
  kill(first, SIGINT);
  EXPECT_EQ(WaitExit(first), 0);
}

// --write_method: writev (record headers + the packet bytes from the ring, the block handed
// back after the write), buffered (copied) and auto (the default: writev for large packets,
// here the 1400- and 8972-byte frames' batches or not, depending on how the kernel batched
// them) write the same wire-exact frames, tags put back, in pcap and pcapng; an unknown
// method is a usage error.
TEST_F(CaptureToolTest, EveryWriteMethodWritesTheSameFrames) {
  const std::vector<std::vector<uint8_t>> sent = {
      UdpFrame(kTestMac, 1, 2, 6, 2000, 18),
      UdpFrame(kTestMac, 1, 2, 6, 2000, 100, {{0x8100, 0xe064}}),
      UdpFrame(kTestMac, 1, 2, 6, 2000, 1400),
      UdpFrame(kTestMac, 1, 2, 6, 2000, 8972),
  };
  uint16_t port = 9105;
  for (const char* method : {"writev", "buffered", "auto"}) {
    for (const char* format : {"pcap", "pcapng"}) {
      SCOPED_TRACE(std::string(method) + " " + format);
      const std::string out = dir_ + "/" + method + "." + format;
      const pid_t pid =
          Spawn({"-i", "v1", "-w", out, "--write_method", method, "--format", format, "-c", "4",
                 "--stats_interval", "0", "--metrics", "127.0.0.1:" + std::to_string(port),
                 "--buffer_mb", "8", "udp", "port", "2000"});
      ASSERT_TRUE(WaitForMetrics(port));
      ++port;
      RawSender tx("v0");
      for (const auto& f : sent) ASSERT_TRUE(tx.Send(f));
      EXPECT_EQ(WaitExit(pid), 0);
      bool ns_ok = false;
      EXPECT_EQ(ReadTestFrames(out, &ns_ok), sent);
      EXPECT_TRUE(ns_ok);
    }
  }
  EXPECT_EQ(WaitExit(Spawn({"-i", "v1", "-w", dir_ + "/x.pcap", "--write_method", "mmap"})), 2);
}

}  // namespace
}  // namespace pktkit
