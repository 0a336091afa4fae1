// Unit tests for the TPACKET_V3 block walker over synthetic in-memory blocks.
#include "pktkit/io/tpacket_ring.h"

#include <linux/if_packet.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "tests/capture/synthetic_block.h"

namespace pktkit {
namespace {

using testing::SyntheticBlock;

// dst MAC, src MAC, EtherType, then `payload` bytes counting up.
std::vector<uint8_t> Frame(uint16_t ethertype, size_t payload) {
  std::vector<uint8_t> f = {0x02, 0, 0, 0, 0, 0x01,   // destination MAC
                            0x02, 0, 0, 0, 0, 0x02};  // source MAC
  f.push_back(static_cast<uint8_t>(ethertype >> 8));  // EtherType
  f.push_back(static_cast<uint8_t>(ethertype));
  for (size_t i = 0; i < payload; ++i) f.push_back(static_cast<uint8_t>(i));
  return f;
}

// The frame with a tag (TPID, TCI) inserted after the MAC addresses: what the wire carried.
std::vector<uint8_t> Tagged(const std::vector<uint8_t>& f, uint16_t tpid, uint16_t tci) {
  std::vector<uint8_t> t(f.begin(), f.begin() + 12);
  t.push_back(static_cast<uint8_t>(tpid >> 8));
  t.push_back(static_cast<uint8_t>(tpid));
  t.push_back(static_cast<uint8_t>(tci >> 8));
  t.push_back(static_cast<uint8_t>(tci));
  t.insert(t.end(), f.begin() + 12, f.end());
  return t;
}

std::vector<uint8_t> Bytes(const PacketView& v) { return {v.data, v.data + v.caplen}; }

std::vector<PacketView> WalkAll(BlockWalker* w, uint8_t* block, size_t size) {
  std::vector<PacketView> out;
  if (!w->Begin(block, size)) return out;
  PacketView v;
  while (w->Next(&v)) out.push_back(v);
  return out;
}

TEST(TpacketRingTest, WalksEveryPacketByteIdentical) {
  SyntheticBlock b(1 << 16);
  const std::vector<std::vector<uint8_t>> frames = {Frame(0x0800, 46), Frame(0x86dd, 1486),
                                                    Frame(0x0806, 28)};
  for (const auto& f : frames) ASSERT_NE(b.Add(f, TP_STATUS_TS_SOFTWARE, 0, 0, 0, 5, 6), 0u);
  b.Finish(1);
  ASSERT_TRUE(BlockOwnedByUser(b.data()));
  RingCounters c;
  BlockWalker w(&c);
  std::vector<PacketView> got = WalkAll(&w, b.data(), b.size());
  ASSERT_EQ(got.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(Bytes(got[i]), frames[i]);
    EXPECT_EQ(got[i].wire_len, frames[i].size());
    EXPECT_EQ(got[i].timestamp_ns, 5000000006);
    EXPECT_EQ(got[i].ts_source, TimestampSource::kKernel);
    EXPECT_EQ(got[i].ifindex, 7u);
    EXPECT_EQ(got[i].vlan_count, 0);
    EXPECT_EQ(got[i].checksum, ChecksumStatus::kUnknown);
  }
  EXPECT_EQ(c.packets, 3u);
  EXPECT_EQ(c.blocks, 1u);
  EXPECT_EQ(c.vlan_reinserted, 0u);
  ReturnBlockToKernel(b.data());
  EXPECT_FALSE(BlockOwnedByUser(b.data()));
}

TEST(TpacketRingTest, ReportsClockChecksumAndSnap) {
  SyntheticBlock b(1 << 14);
  b.Add(Frame(0x0800, 50), TP_STATUS_TS_RAW_HARDWARE | TP_STATUS_CSUM_VALID, 0, 0, 0, 0xffffffffu,
        999999999);
  b.Add(Frame(0x0800, 50), TP_STATUS_CSUMNOTREADY, /*wire_len=*/9000);
  b.Finish(1);
  RingCounters c;
  BlockWalker w(&c);
  std::vector<PacketView> got = WalkAll(&w, b.data(), b.size());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].ts_source, TimestampSource::kHardware);
  EXPECT_EQ(got[0].checksum, ChecksumStatus::kValid);
  EXPECT_EQ(got[0].timestamp_ns, int64_t{0xffffffff} * 1000000000 + 999999999);
  EXPECT_EQ(got[1].checksum, ChecksumStatus::kNotReady);
  EXPECT_EQ(got[1].caplen, 64u);
  EXPECT_EQ(got[1].wire_len, 9000u);
  EXPECT_EQ(c.snapped, 1u);
}

TEST(TpacketRingTest, ReinsertsStrippedTagWithRealTpidPcpDei) {
  struct Case {
    uint32_t status;
    uint16_t tpid_field;
    uint16_t tci;
    uint16_t want_tpid;
  };
  const Case cases[] = {
      {TP_STATUS_VLAN_VALID, 0, 0x0064, kTpid8021Q},  // no TPID: 0x8100
      {TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID, kTpid8021Q, 0xa00a, kTpid8021Q},
      {TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID, kTpid8021AD, 0x3123, kTpid8021AD},
      {TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID, kTpid8021AD, 0xffff, kTpid8021AD},  // max
      {TP_STATUS_VLAN_VALID, 0, 0x0000, kTpid8021Q},  // priority tag, VID 0
  };
  for (const Case& k : cases) {
    SyntheticBlock b(1 << 14);
    const std::vector<uint8_t> stripped = Frame(0x0800, 60);
    b.Add(stripped, k.status, 0, k.tci, k.tpid_field);
    b.Finish(1);
    RingCounters c;
    BlockWalker w(&c);
    std::vector<PacketView> got = WalkAll(&w, b.data(), b.size());
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(Bytes(got[0]), Tagged(stripped, k.want_tpid, k.tci));
    EXPECT_EQ(got[0].wire_len, stripped.size() + 4);
    EXPECT_EQ(got[0].vlan_count, 0);
    EXPECT_EQ(c.vlan_reinserted, 1u);
  }
}

// Fuzzer find: tp_len at its maximum plus the 4 reinserted bytes must not wrap below caplen.
TEST(TpacketRingTest, WireLengthAtMaximumSaturatesOnReinsertion) {
  SyntheticBlock b(1 << 14);
  b.Add(Frame(0x0800, 60), TP_STATUS_VLAN_VALID, /*wire_len=*/0xffffffff, 7, 0);
  b.Finish(1);
  RingCounters c;
  BlockWalker w(&c);
  std::vector<PacketView> got = WalkAll(&w, b.data(), b.size());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].caplen, 78u);
  EXPECT_EQ(got[0].wire_len, 0xffffffffu);
}

TEST(TpacketRingTest, QinQInnerTagStaysWhereTheKernelLeftIt) {
  // The kernel stripped the outer S-tag; the inner C-tag (VID 20) is still in the bytes.
  const std::vector<uint8_t> inner_tagged = Tagged(Frame(0x0800, 40), kTpid8021Q, 20);
  SyntheticBlock b(1 << 14);
  b.Add(inner_tagged, TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID, 0, 10, kTpid8021AD);
  b.Finish(1);
  RingCounters c;
  BlockWalker w(&c);
  std::vector<PacketView> got = WalkAll(&w, b.data(), b.size());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Bytes(got[0]), Tagged(inner_tagged, kTpid8021AD, 10));
}

TEST(TpacketRingTest, TagWithoutHeadroomIsReportedBesideTheBytes) {
  SyntheticBlock b(1 << 14);
  const std::vector<uint8_t> f = Frame(0x0800, 40);
  const size_t off = b.Add(f, TP_STATUS_VLAN_VALID, 0, 0x0005, 0);
  b.Finish(1);
  // Move the frame right up against the sockaddr_ll: no headroom left.
  std::memmove(b.data() + off + TPACKET3_HDRLEN, b.data() + off + 82, f.size());
  b.Put16(off + offsetof(tpacket3_hdr, tp_mac), TPACKET3_HDRLEN);
  RingCounters c;
  BlockWalker w(&c);
  std::vector<PacketView> got = WalkAll(&w, b.data(), b.size());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(Bytes(got[0]), f);
  EXPECT_EQ(got[0].vlan_count, 1);
  EXPECT_EQ(got[0].vlan[0].tpid, kTpid8021Q);
  EXPECT_EQ(got[0].vlan[0].tci, 5);
  EXPECT_EQ(c.error(RingError::kVlanNoHeadroom), 1u);
  EXPECT_EQ(c.vlan_reinserted, 0u);
}

TEST(TpacketRingTest, RuntFrameWithTagIsTruncatedNotRead) {
  SyntheticBlock b(1 << 14);
  b.Add({1, 2, 3, 4, 5}, TP_STATUS_VLAN_VALID, 0, 1, 0);
  b.Finish(1);
  RingCounters c;
  BlockWalker w(&c);
  std::vector<PacketView> got = WalkAll(&w, b.data(), b.size());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].caplen, 5u);
  EXPECT_EQ(c.error(RingError::kVlanTruncated), 1u);
}

TEST(TpacketRingTest, CountsSequenceGapsAndRegressions) {
  RingCounters c;
  BlockWalker w(&c);
  for (uint64_t seq : {1, 2, 5, 6, 6, 7}) {
    SyntheticBlock b(1 << 12);
    b.Add(Frame(0x0800, 46), 0);
    b.Finish(seq);
    EXPECT_EQ(WalkAll(&w, b.data(), b.size()).size(), 1u);
  }
  EXPECT_EQ(c.seq_gaps, 2u);  // 3 and 4
  EXPECT_EQ(c.seq_regressions, 1u);
  EXPECT_EQ(c.blocks, 6u);
}

TEST(TpacketRingTest, EmptyTimedOutBlockHasNothingToWalk) {
  SyntheticBlock b(1 << 12);
  b.Finish(1);
  RingCounters c;
  BlockWalker w(&c);
  EXPECT_FALSE(w.Begin(b.data(), b.size()));
  EXPECT_EQ(c.packets, 0u);
  for (uint64_t e : c.errors) EXPECT_EQ(e, 0u);
}

// Each corruption of a kernel-provided offset is counted under its own name and nothing past
// it is read.
TEST(TpacketRingTest, CorruptOffsetsAreCountedNeverRead) {
  const size_t kBd = offsetof(tpacket_block_desc, hdr);
  struct Case {
    const char* what;
    int field;  // 0 blk_len, 1 first offset, 2 tp_mac (pkt 0), 3 snaplen (pkt 0), 4 next (pkt 0)
    uint32_t value;
    RingError want;
    size_t want_packets;
  };
  const Case cases[] = {
      {"blk_len past block", 0, (1 << 12) + 1, RingError::kBadBlockLength, 0},
      {"blk_len inside desc", 0, 8, RingError::kBadBlockLength, 0},
      {"first offset inside desc", 1, 4, RingError::kBadFirstOffset, 0},
      {"first offset past blk_len", 1, 0xffffffff, RingError::kBadFirstOffset, 0},
      {"first offset header overrun", 1, 0, RingError::kPacketHeaderOverrun, 0},
      {"tp_mac into header", 2, 20, RingError::kBadMacOffset, 0},
      {"tp_mac past blk_len", 2, 0xffff, RingError::kBadMacOffset, 0},
      {"snaplen past blk_len", 3, 0x7fffffff, RingError::kCaplenOverrun, 0},
      {"snaplen max", 3, 0xffffffff, RingError::kCaplenOverrun, 0},
      {"next offset zero (loop)", 4, 0, RingError::kBadNextOffset, 1},
      {"next offset into own data", 4, 90, RingError::kBadNextOffset, 1},
      {"next offset past blk_len", 4, 0xfffffff0, RingError::kBadNextOffset, 1},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.what);
    SyntheticBlock b(1 << 12);
    const size_t p0 = b.Add(Frame(0x0800, 46), 0);
    b.Add(Frame(0x0800, 46), 0);
    b.Add(Frame(0x0800, 46), 0);
    b.Finish(1);
    uint32_t blk_len;
    std::memcpy(&blk_len, b.data() + kBd + offsetof(tpacket_hdr_v1, blk_len), 4);
    switch (k.field) {
      case 0:
        b.Put32(kBd + offsetof(tpacket_hdr_v1, blk_len), k.value);
        break;
      case 1:
        b.Put32(kBd + offsetof(tpacket_hdr_v1, offset_to_first_pkt),
                k.value == 0 ? blk_len - 8 : k.value);
        break;
      case 2:
        b.Put16(p0 + offsetof(tpacket3_hdr, tp_mac), static_cast<uint16_t>(k.value));
        break;
      case 3:
        b.Put32(p0 + offsetof(tpacket3_hdr, tp_snaplen), k.value);
        break;
      case 4:
        b.Put32(p0 + offsetof(tpacket3_hdr, tp_next_offset), k.value);
        break;
    }
    RingCounters c;
    BlockWalker w(&c);
    std::vector<PacketView> got = WalkAll(&w, b.data(), b.size());
    EXPECT_EQ(got.size(), k.want_packets);
    EXPECT_EQ(c.error(k.want), 1u) << RingErrorName(k.want);
    EXPECT_EQ(c.packets_skipped, 3 - k.want_packets);
    for (const PacketView& v : got) {
      EXPECT_GE(v.data, b.data());
      EXPECT_LE(v.data + v.caplen, b.data() + blk_len);
    }
  }
}

// Truncation loop: the same block handed over with every shorter block size. Each copy lives
// in an exact-size heap buffer, so a read past its end fails under ASan.
TEST(TpacketRingTest, EveryShorterBlockSizeStaysInBounds) {
  SyntheticBlock b(1 << 11);
  b.Add(Frame(0x0800, 46), 0);
  b.Add(Frame(0x0800, 300), TP_STATUS_VLAN_VALID, 0, 9, 0);
  b.Add(Frame(0x0800, 100), 0);
  b.Finish(1);
  uint32_t blk_len;
  std::memcpy(&blk_len, b.data() + offsetof(tpacket_block_desc, hdr.bh1.blk_len), 4);
  RingCounters c;
  BlockWalker w(&c);
  for (size_t n = 0; n <= blk_len; ++n) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[n]);
    uint8_t* p = copy.get();
    std::memcpy(p, b.data(), n);
    std::vector<PacketView> got = WalkAll(&w, p, n);
    EXPECT_EQ(got.size(), n == blk_len ? 3u : 0u) << n;
    for (const PacketView& v : got) EXPECT_LE(v.data + v.caplen, p + n);
  }
}

TEST(TpacketRingTest, ErrorNamesAreSnakeCase) {
  for (size_t i = 0; i < static_cast<size_t>(RingError::kCount); ++i) {
    const char* name = RingErrorName(static_cast<RingError>(i));
    EXPECT_STRNE(name, "unknown");
    for (const char* p = name; *p; ++p) EXPECT_TRUE((*p >= 'a' && *p <= 'z') || *p == '_');
  }
}

}  // namespace
}  // namespace pktkit
