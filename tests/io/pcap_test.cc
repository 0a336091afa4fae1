#include "pktkit/io/pcap.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "pktkit/io/bpf.h"

namespace pktkit {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

std::vector<uint8_t> Frame(uint8_t fill, size_t n) {
  std::vector<uint8_t> f(n, fill);
  f[12] = 0x08;  // EtherType IPv4 so BPF "ip" can tell frames apart
  f[13] = 0x00;
  return f;
}

TEST(PcapTest, WriteThenReadKeepsBytesLengthsAndNanoseconds) {
  const std::string path = TempPath("rt.pcap");
  std::vector<std::vector<uint8_t>> frames;
  {
    auto w = PcapWriter::Open(path, LinkType::kEthernet, 1000);
    ASSERT_TRUE(w.ok()) << w.status();
    for (int i = 0; i < 150; ++i) {
      frames.push_back(Frame(static_cast<uint8_t>(i), 60 + i));
      ASSERT_TRUE((*w)->Write(ByteSpan(frames.back().data(), frames.back().size()),
                              static_cast<uint32_t>(frames.back().size() + 5),
                              1700000000123456789LL + i)
                      .ok());
    }
    // Longer than the snap length: cut to 1000, wire length kept.
    std::vector<uint8_t> big = Frame(0xee, 1500);
    ASSERT_TRUE((*w)->Write(ByteSpan(big.data(), big.size()), 1500, 5).ok());
    ASSERT_TRUE((*w)->Close().ok());
    EXPECT_EQ((*w)->packets_written(), 151u);
  }
  auto r = PcapReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->link_type(), LinkType::kEthernet);
  size_t i = 0;
  while (true) {
    auto b = (*r)->NextBatch(0);
    if (absl::IsOutOfRange(b.status())) break;
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_LE(b->size, PcapReader::kMaxBatch);
    for (const PacketView& v : *b) {
      if (i < frames.size()) {
        ASSERT_EQ(v.caplen, frames[i].size());
        EXPECT_EQ(v.wire_len, frames[i].size() + 5);
        EXPECT_EQ(0, memcmp(v.data, frames[i].data(), v.caplen));
        EXPECT_EQ(v.timestamp_ns, 1700000000123456789LL + static_cast<int64_t>(i));
        EXPECT_EQ(v.ts_source, TimestampSource::kFile);
      } else {
        EXPECT_EQ(v.caplen, 1000u);
        EXPECT_EQ(v.wire_len, 1500u);
      }
      ++i;
    }
  }
  EXPECT_EQ(i, 151u);
  EXPECT_EQ((*r)->packets_read(), 151u);
}

TEST(PcapTest, TruncatedFileGivesDataLossAfterTheGoodPackets) {
  const std::string path = TempPath("trunc.pcap");
  {
    auto w = PcapWriter::Open(path, LinkType::kEthernet);
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 10; ++i) {
      auto f = Frame(1, 100);
      ASSERT_TRUE((*w)->Write(ByteSpan(f.data(), f.size()), 100, i).ok());
    }
  }
  // 24-byte file header + 10 records of 16 + 100; cut the last record in half.
  ASSERT_EQ(truncate(path.c_str(), 24 + 9 * 116 + 60), 0);
  auto r = PcapReader::Open(path);
  ASSERT_TRUE(r.ok());
  auto b = (*r)->NextBatch(0);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size, 9u);
  auto end = (*r)->NextBatch(0);
  EXPECT_EQ(end.status().code(), absl::StatusCode::kDataLoss) << end.status();
  EXPECT_NE(std::string(end.status().message()).find("after 9 packets"), std::string::npos);
}

TEST(PcapTest, GarbageFileIsAClearError) {
  const std::string path = TempPath("garbage.pcap");
  std::ofstream(path) << "this is not a capture file at all";
  auto r = PcapReader::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find(path), std::string::npos);
  EXPECT_FALSE(PcapReader::Open(TempPath("missing.pcap")).ok());
}

TEST(PcapTest, ReaderAppliesBpf) {
  const std::string path = TempPath("bpf.pcap");
  {
    auto w = PcapWriter::Open(path, LinkType::kEthernet);
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 20; ++i) {
      auto f = Frame(2, 64);
      if (i % 2) f[12] = 0x86, f[13] = 0xdd;  // odd frames claim IPv6
      ASSERT_TRUE((*w)->Write(ByteSpan(f.data(), f.size()), 64, i).ok());
    }
  }
  auto r = PcapReader::Open(path, "ip6");
  ASSERT_TRUE(r.ok()) << r.status();
  auto b = (*r)->NextBatch(0);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size, 10u);
  EXPECT_FALSE(PcapReader::Open(path, "tcp port banana").ok());
}

TEST(PcapTest, WritesThroughAFifo) {
  const std::string path = TempPath("fifo");
  unlink(path.c_str());
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  std::vector<uint8_t> got;
  std::thread reader([&] {
    std::ifstream in(path, std::ios::binary);
    got.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  });
  {
    auto w = PcapWriter::Open(path, LinkType::kRaw);
    ASSERT_TRUE(w.ok()) << w.status();
    auto f = Frame(3, 40);
    ASSERT_TRUE((*w)->Write(ByteSpan(f.data(), f.size()), 40, 1).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  reader.join();
  ASSERT_EQ(got.size(), 24u + 16u + 40u);
  // Nanosecond pcap magic, little-endian on this machine, and LINKTYPE_RAW.
  EXPECT_EQ(got[0], 0x4d);
  EXPECT_EQ(got[3], 0xa1);
  EXPECT_EQ(got[20], 101);
}

TEST(BpfFilterTest, MatchesAndRejects) {
  auto f = BpfFilter::Compile("ip6", LinkType::kEthernet);
  ASSERT_TRUE(f.ok()) << f.status();
  auto v4 = Frame(0, 60);
  auto v6 = Frame(0, 60);
  v6[12] = 0x86;
  v6[13] = 0xdd;
  EXPECT_FALSE(f->Matches(ByteSpan(v4.data(), v4.size()), 60));
  EXPECT_TRUE(f->Matches(ByteSpan(v6.data(), v6.size()), 60));
  auto bad = BpfFilter::Compile("port 99999999", LinkType::kEthernet);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("port 99999999"), std::string::npos);
  auto all = BpfFilter::Compile("", LinkType::kRaw);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->Matches(ByteSpan(v4.data(), v4.size()), 60));
}

}  // namespace
}  // namespace pktkit
