// PcapSink: records read back by libpcap are the packets written (both write methods, any link
// type), the file appears under its name only on a committed Close, a failed run leaves an
// existing file untouched, /dev/full reports the real error and counts nothing as written.
#include "pktkit/io/pcap_sink.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "pktkit/io/pcap.h"
#include "pktkit/io/shared_sink.h"
#include "tests/testing/packet_samples.h"

namespace pktkit {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

bool Exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

std::string ReadAll(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

using Packets = samples::OwnedPackets;

Packets Make(size_t n, LinkType lt = LinkType::kEthernet) {
  Packets p;
  for (size_t i = 0; i < n; ++i) {  // some snapped
    p.Add(i, 60 + (i * 37) % 1400, i % 3 == 0 ? 100 : 0,
          1700000000123456789LL + static_cast<int64_t>(i) * 1000, lt);
  }
  return p;
}

void ExpectFileHolds(const std::string& path, const Packets& p, LinkType lt) {
  auto r = PcapReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->link_type(), lt);
  size_t i = 0;
  while (true) {
    auto b = (*r)->NextBatch(0);
    if (!b.ok()) {
      EXPECT_TRUE(absl::IsOutOfRange(b.status())) << b.status();
      break;
    }
    for (const PacketView& v : *b) {
      ASSERT_LT(i, p.views.size());
      EXPECT_EQ(v.caplen, p.views[i].caplen) << i;
      EXPECT_EQ(v.wire_len, p.views[i].wire_len) << i;
      EXPECT_EQ(v.timestamp_ns, p.views[i].timestamp_ns) << i;
      EXPECT_EQ(std::vector<uint8_t>(v.data, v.data + v.caplen), p.bytes[i]) << i;
      ++i;
    }
  }
  EXPECT_EQ(i, p.views.size());
}

class PcapSinkMethodTest : public ::testing::TestWithParam<PcapSinkOptions::Method> {};

TEST_P(PcapSinkMethodTest, WritesWhatLibpcapReadsBack) {
  const std::string path = TempPath("sink_" + std::to_string(static_cast<int>(GetParam())));
  Packets p = Make(1500);  // more than one writev chunk and several buffer flushes
  PcapSinkOptions o;
  o.method = GetParam();
  o.buffer_bytes = 64 * 1024;
  auto s = PcapSink::Open(path, o);
  ASSERT_TRUE(s.ok()) << s.status();
  for (size_t off = 0; off < p.views.size(); off += 100) {
    const size_t n = std::min<size_t>(100, p.views.size() - off);
    ASSERT_TRUE((*s)->Write(PacketBatch{p.views.data() + off, n}).ok());
  }
  EXPECT_FALSE(Exists(path)) << "visible before the run committed";
  ASSERT_TRUE((*s)->Close(true).ok());
  EXPECT_EQ((*s)->stats().packets, p.views.size());
  EXPECT_EQ((*s)->stats().dropped, 0u);
  ExpectFileHolds(path, p, LinkType::kEthernet);
}

INSTANTIATE_TEST_SUITE_P(Methods, PcapSinkMethodTest,
                         ::testing::Values(PcapSinkOptions::Method::kAuto,
                                           PcapSinkOptions::Method::kBuffered,
                                           PcapSinkOptions::Method::kWritev));

// kAuto switches between buffering (small packets) and writev (jumbo frames) per batch: the
// records stay in order across the switches.
TEST(PcapSinkTest, AutoKeepsOrderAcrossMethods) {
  const std::string path = TempPath("auto.pcap");
  Packets p;
  for (size_t i = 0; i < 30; ++i) {
    const size_t size = (i / 10) % 2 == 1 ? 9000 : 64 + i;  // small, jumbo, small
    p.Add(i, size, 0, static_cast<int64_t>(i) * 1000);
  }
  auto s = PcapSink::Open(path, PcapSinkOptions{});
  ASSERT_TRUE(s.ok());
  for (size_t off = 0; off < 30; off += 10) {
    ASSERT_TRUE((*s)->Write(PacketBatch{p.views.data() + off, 10}).ok());
  }
  ASSERT_TRUE((*s)->Close().ok());
  EXPECT_GE((*s)->pcap_stats().writes, 3u);  // the jumbo batch went out in its own writev
  ExpectFileHolds(path, p, LinkType::kEthernet);
}

TEST(PcapSinkTest, AnyLinkTypeAndSnaplen) {
  const std::string path = TempPath("nflog.pcap");
  Packets p = Make(10, LinkType::kNflog);
  PcapSinkOptions o;
  o.link_type = LinkType::kNflog;
  o.snaplen = 100;
  auto s = PcapSink::Open(path, o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Write(p.batch()).ok());
  ASSERT_TRUE((*s)->Close().ok());
  auto r = PcapReader::Open(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->link_type(), LinkType::kNflog);
  EXPECT_EQ((*r)->snaplen(), 100u);
  auto b = (*r)->NextBatch(0);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size, 10u);
  EXPECT_EQ((*b)[1].caplen, 97u < 100u ? 97u : 100u);
  EXPECT_EQ((*b)[2].caplen, 100u);
  EXPECT_EQ((*b)[2].wire_len, p.views[2].wire_len);
}

TEST(PcapSinkTest, LinkTypeFromFirstPacketAndMismatchCounted) {
  const std::string path = TempPath("first.pcap");
  Packets raw = Make(3, LinkType::kRaw);
  Packets eth = Make(2, LinkType::kEthernet);
  PcapSinkOptions o;
  o.link_type_from_first_packet = true;
  auto s = PcapSink::Open(path, o);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE((*s)->is_open());
  ASSERT_TRUE((*s)->Write(raw.batch()).ok());
  ASSERT_TRUE((*s)->Write(eth.batch()).ok());
  ASSERT_TRUE((*s)->Close().ok());
  EXPECT_EQ((*s)->pcap_stats().link_type_mismatch, 2u);
  EXPECT_EQ((*s)->stats().dropped, 2u);
  ExpectFileHolds(path, raw, LinkType::kRaw);
}

TEST(PcapSinkTest, FailedRunLeavesTheExistingFileAlone) {
  const std::string path = TempPath("keep.pcap");
  { std::ofstream(path) << "precious"; }
  auto s = PcapSink::Open(path, PcapSinkOptions{});
  ASSERT_TRUE(s.ok());
  Packets p = Make(5);
  ASSERT_TRUE((*s)->Write(p.batch()).ok());
  ASSERT_TRUE((*s)->Close(/*commit=*/false).ok());
  EXPECT_EQ(ReadAll(path), "precious");
  // No temporary file left behind.
  const std::string dir = TempPath("");
  std::string ls;
  for (const char* suffix : {".pktkit-"}) {
    FILE* f = popen(("ls -a '" + dir + "'").c_str(), "r");
    char line[512];
    while (fgets(line, sizeof line, f)) ls += line;
    pclose(f);
    EXPECT_EQ(ls.find(std::string("keep.pcap") + suffix), std::string::npos) << ls;
  }
}

TEST(PcapSinkTest, DestructorWithoutCloseDiscards) {
  const std::string path = TempPath("never.pcap");
  {
    auto s = PcapSink::Open(path, PcapSinkOptions{});
    ASSERT_TRUE(s.ok());
    Packets p = Make(5);
    ASSERT_TRUE((*s)->Write(p.batch()).ok());
  }
  EXPECT_FALSE(Exists(path));
}

TEST(PcapSinkTest, DevFullReportsTheRealErrorAndCountsNothing) {
  if (!Exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  for (auto method : {PcapSinkOptions::Method::kBuffered, PcapSinkOptions::Method::kWritev,
                      PcapSinkOptions::Method::kAuto}) {
    PcapSinkOptions o;
    o.method = method;
    auto s = PcapSink::Open("/dev/full", o);
    // The header is written at open: /dev/full fails there already.
    if (s.ok()) {
      Packets p = Make(10);
      absl::Status w = (*s)->Write(p.batch());
      absl::Status f = (*s)->Flush();
      absl::Status st = w.ok() ? f : w;
      ASSERT_FALSE(st.ok());
      EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st;
      EXPECT_EQ((*s)->stats().packets, 0u);
    } else {
      EXPECT_NE(s.status().message().find("No space left on device"), std::string::npos)
          << s.status();
      EXPECT_EQ(s.status().message().find("temporarily unavailable"), std::string::npos);
    }
  }
}

TEST(PcapSinkTest, SameFileIsDetected) {
  const std::string a = TempPath("same_a.pcap");
  const std::string link = TempPath("same_link.pcap");
  { std::ofstream(a) << "x"; }
  unlink(link.c_str());
  ASSERT_EQ(symlink(a.c_str(), link.c_str()), 0);
  EXPECT_TRUE(IsSameFile(a, a));
  EXPECT_TRUE(IsSameFile(a, link));
  EXPECT_FALSE(IsSameFile(a, TempPath("other.pcap")));
  EXPECT_FALSE(IsSameFile("-", "-"));
}

TEST(PcapSinkTest, MissingDirectoryFailsAtOpen) {
  auto s = PcapSink::Open(TempPath("no/such/dir/x.pcap"), PcapSinkOptions{});
  EXPECT_FALSE(s.ok());
}

TEST(SharedSinkTest, BudgetAcrossWritersCutsAndSignalsOnce) {
  const std::string path = TempPath("shared.pcap");
  auto s = PcapSink::Open(path, PcapSinkOptions{});
  ASSERT_TRUE(s.ok());
  int signalled = 0;
  SharedSink shared(s->get(), 25, [&] { ++signalled; });
  Packets p = Make(10);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(shared.Write(p.batch()).ok());
  EXPECT_TRUE(shared.limit_reached());
  EXPECT_EQ(signalled, 1);
  ASSERT_TRUE(shared.Flush().ok());
  EXPECT_EQ(shared.stats().packets, 25u);
  ASSERT_TRUE((*s)->Close().ok());
}

}  // namespace
}  // namespace pktkit
