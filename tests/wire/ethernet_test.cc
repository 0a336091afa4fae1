#include "pktkit/wire/ethernet.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "pktkit/wire/vlan.h"

namespace pktkit {
namespace {

// dst 00:11:22:33:44:55, src 66:77:88:99:aa:bb, S-tag 0x88a8 TCI 0xe064 (PCP 7, VID 100),
// C-tag 0x8100 TCI 0x1fff (DEI, VID 4095), EtherType IPv4, 4 payload bytes.
const uint8_t kQinQ[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                         0x99, 0xaa, 0xbb, 0x88, 0xa8, 0xe0, 0x64, 0x81, 0x00,
                         0x1f, 0xff, 0x08, 0x00, 0x45, 0x00, 0x00, 0x14};

TEST(EthernetTest, ParsesQinQ) {
  EthernetHeader h;
  ASSERT_EQ(ParseEthernet(ByteSpan(kQinQ, sizeof kQinQ), &h), EthernetError::kOk);
  EXPECT_EQ(h.vlan_count, 2);
  EXPECT_EQ(h.vlans[0].tpid, kTpid8021AD);
  EXPECT_EQ(h.vlans[0].vid(), 100);
  EXPECT_EQ(h.vlans[0].pcp(), 7);
  EXPECT_EQ(h.vlans[1].tpid, kTpid8021Q);
  EXPECT_EQ(h.vlans[1].vid(), 4095);
  EXPECT_TRUE(h.vlans[1].dei());
  EXPECT_EQ(h.ethertype, kEtherTypeIpv4);
  EXPECT_EQ(h.payload_offset, 22u);
  EXPECT_EQ(h.payload.size, 4u);
  EXPECT_EQ(h.src[5], 0xbb);
}

TEST(EthernetTest, EveryShorterLengthIsTruncated) {
  for (size_t len = 0; len < 22; ++len) {
    EthernetHeader h;
    EXPECT_EQ(ParseEthernet(ByteSpan(kQinQ, len), &h), EthernetError::kTruncated) << len;
  }
}

TEST(EthernetTest, RoundTripsAndLegacyTpid) {
  std::vector<uint8_t> f(kQinQ, kQinQ + sizeof kQinQ);
  f[12] = 0x91;  // legacy QinQ TPID 0x9100
  f[13] = 0x00;
  EthernetHeader h;
  ASSERT_EQ(ParseEthernet(ByteSpan(f.data(), f.size()), &h), EthernetError::kOk);
  EXPECT_EQ(h.vlans[0].tpid, kTpidLegacyQinQ);
  uint8_t out[64];
  ByteWriter w(out, sizeof out);
  ASSERT_TRUE(SerializeEthernet(h, &w));
  ASSERT_EQ(w.size(), h.payload_offset);
  EXPECT_EQ(0, memcmp(out, f.data(), w.size()));
  EXPECT_EQ(EthernetHeaderSize(h), 22u);
}

TEST(EthernetTest, TooManyTagsIsReported) {
  std::vector<uint8_t> f(12, 0);
  for (int i = 0; i < 5; ++i) f.insert(f.end(), {0x81, 0x00, 0x00, 0x01});
  f.insert(f.end(), {0x08, 0x00});
  EthernetHeader h;
  EXPECT_EQ(ParseEthernet(ByteSpan(f.data(), f.size()), &h), EthernetError::kTooManyTags);
}

TEST(VlanTest, ReinsertsTagWithPcpDeiVidAndTpid) {
  for (uint16_t tpid : {kTpid8021Q, kTpid8021AD, kTpidLegacyQinQ}) {
    // 4 bytes of headroom, then an untagged frame: MACs, EtherType IPv4, payload.
    std::vector<uint8_t> buf(4 + 18, 0xcc);
    uint8_t* frame = buf.data() + 4;
    for (int i = 0; i < 12; ++i) frame[i] = static_cast<uint8_t>(i + 1);
    frame[12] = 0x08;
    frame[13] = 0x00;
    const VlanTag tag{tpid, 0xffff};  // every TCI bit set: PCP 7, DEI 1, VID 4095
    VlanInsertResult r = InsertVlanTag(frame, 18, 4, tag);
    ASSERT_EQ(r.error, VlanInsertError::kOk);
    EXPECT_EQ(r.frame, buf.data());
    EXPECT_EQ(r.length, 22u);
    EthernetHeader h;
    ASSERT_EQ(ParseEthernet(ByteSpan(r.frame, r.length), &h), EthernetError::kOk);
    ASSERT_EQ(h.vlan_count, 1);
    EXPECT_EQ(h.vlans[0].tpid, tpid);
    EXPECT_EQ(h.vlans[0].tci, 0xffff);
    EXPECT_EQ(h.ethertype, kEtherTypeIpv4);
    EXPECT_EQ(h.dst[0], 1);
    EXPECT_EQ(h.src[5], 12);
    EXPECT_EQ(h.payload.size, 4u);
    EXPECT_EQ(h.payload.data[0], 0xcc);
  }
}

TEST(VlanTest, ReinsertedTagBecomesOutermostOverExistingTag) {
  std::vector<uint8_t> buf(4, 0);
  buf.insert(buf.end(), kQinQ + 0, kQinQ + 12);
  buf.insert(buf.end(), {0x81, 0x00, 0x00, 0x05, 0x86, 0xdd});  // C-tag VID 5, IPv6
  VlanInsertResult r = InsertVlanTag(buf.data() + 4, buf.size() - 4, 4, {kTpid8021AD, 0x0064});
  ASSERT_EQ(r.error, VlanInsertError::kOk);
  EthernetHeader h;
  ASSERT_EQ(ParseEthernet(ByteSpan(r.frame, r.length), &h), EthernetError::kOk);
  ASSERT_EQ(h.vlan_count, 2);
  EXPECT_EQ(h.vlans[0].tpid, kTpid8021AD);
  EXPECT_EQ(h.vlans[0].vid(), 100);
  EXPECT_EQ(h.vlans[1].vid(), 5);
  EXPECT_EQ(h.ethertype, kEtherTypeIpv6);
}

TEST(VlanTest, RefusesWithoutHeadroomAndLeavesBytesAlone) {
  std::vector<uint8_t> buf(kQinQ, kQinQ + sizeof kQinQ);
  const std::vector<uint8_t> before = buf;
  for (size_t headroom = 0; headroom < 4; ++headroom) {
    VlanInsertResult r = InsertVlanTag(buf.data(), buf.size(), headroom, {kTpid8021Q, 1});
    EXPECT_EQ(r.error, VlanInsertError::kNoHeadroom);
    EXPECT_EQ(r.frame, buf.data());
    EXPECT_EQ(r.length, buf.size());
  }
  std::vector<uint8_t> small(4 + 11, 0);
  EXPECT_EQ(InsertVlanTag(small.data() + 4, 11, 4, {kTpid8021Q, 1}).error,
            VlanInsertError::kTruncated);
  EXPECT_EQ(buf, before);
}

}  // namespace
}  // namespace pktkit
