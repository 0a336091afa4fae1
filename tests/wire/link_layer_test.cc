// ParseLinkLayer: Ethernet (tags), Linux SLL / SLL2 (with a VLAN tag), NFLOG, raw IP; every
// shorter length of each fixture is an error, never a read past the end.
#include "pktkit/wire/link_layer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace pktkit {
namespace {

// A minimal IPv4 header (20 bytes, total length 20).
const std::vector<uint8_t> kIpv4 = {0x45, 0, 0, 20, 0, 1, 0, 0, 64, 17, 0, 0,
                                    10,   0, 0, 1,  10, 0, 0, 2};

std::vector<uint8_t> Cat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

ByteSpan Span(const std::vector<uint8_t>& v) { return ByteSpan(v.data(), v.size()); }

std::vector<uint8_t> EthernetVlanFrame() {
  return Cat({1, 2, 3, 4, 5, 6,       // destination MAC
              7, 8, 9, 10, 11, 12,    // source MAC
              0x81, 0x00, 0x20, 0x0a,  // 802.1Q, PCP 1, VID 10
              0x08, 0x00},             // IPv4
             kIpv4);
}

std::vector<uint8_t> SllFrame() {
  return Cat({0x00, 0x00,              // packet type: to us
              0x00, 0x01,              // ARPHRD_ETHER
              0x00, 0x06,              // address length
              1, 2, 3, 4, 5, 6, 0, 0,  // address, padded to 8
              0x08, 0x00},             // protocol: IPv4
             kIpv4);
}

std::vector<uint8_t> Sll2VlanFrame() {
  return Cat({0x81, 0x00,              // protocol: 802.1Q, the tag follows in the payload
              0x00, 0x00,              // reserved
              0x00, 0x00, 0x00, 0x03,  // ifindex
              0x00, 0x01,              // ARPHRD_ETHER
              0x00,                    // packet type
              0x06,                    // address length
              1, 2, 3, 4, 5, 6, 0, 0,  // address
              0x00, 0x07,              // TCI: VID 7
              0x08, 0x00},             // inner EtherType: IPv4
             kIpv4);
}

// NFLOG in this host's TLV byte order (little-endian on every machine pktkit runs on).
std::vector<uint8_t> NflogRecordBytes(uint8_t family) {
  std::vector<uint8_t> r = {family, 0, 0, 5};  // nfgenmsg: family, version 0, group 5
  // A prefix TLV "ab\0" (len 7, padded to 8), then the payload TLV.
  const uint16_t plen = 7;
  const uint8_t prefix[] = {static_cast<uint8_t>(plen), 0, 10, 0, 'a', 'b', 0, 0};
  r.insert(r.end(), prefix, prefix + sizeof prefix);
  const uint16_t len = static_cast<uint16_t>(4 + kIpv4.size());
  const uint8_t hdr[] = {static_cast<uint8_t>(len & 0xff), static_cast<uint8_t>(len >> 8), 9, 0};
  r.insert(r.end(), hdr, hdr + sizeof hdr);
  return Cat(r, kIpv4);
}

void ExpectIpv4At(const LinkLayer& ll, const std::vector<uint8_t>& frame, size_t offset) {
  EXPECT_EQ(ll.ethertype, kEtherTypeIpv4);
  EXPECT_EQ(ll.l3.data, frame.data() + offset);
  EXPECT_EQ(ll.l3.size, kIpv4.size());
  EXPECT_TRUE(IsIp(ll));
}

TEST(LinkLayerTest, EthernetWithTag) {
  const auto f = EthernetVlanFrame();
  LinkLayer ll;
  ASSERT_EQ(ParseLinkLayer(Span(f), LinkType::kEthernet, &ll), LinkLayerError::kOk);
  ExpectIpv4At(ll, f, 18);
  ASSERT_EQ(ll.vlan_count, 1);
  EXPECT_EQ(ll.vlans[0].vid(), 10);
  EXPECT_EQ(ll.vlans[0].pcp(), 1);
  EXPECT_TRUE(ll.has_macs);
  EXPECT_EQ(ll.src[5], 12);
}

TEST(LinkLayerTest, LinuxSll) {
  const auto f = SllFrame();
  LinkLayer ll;
  ASSERT_EQ(ParseLinkLayer(Span(f), LinkType::kLinuxSll, &ll), LinkLayerError::kOk);
  ExpectIpv4At(ll, f, 16);
  EXPECT_EQ(ll.vlan_count, 0);
  EXPECT_FALSE(ll.has_macs);
}

TEST(LinkLayerTest, LinuxSll2WithTagInPayload) {
  const auto f = Sll2VlanFrame();
  LinkLayer ll;
  ASSERT_EQ(ParseLinkLayer(Span(f), LinkType::kLinuxSll2, &ll), LinkLayerError::kOk);
  ExpectIpv4At(ll, f, 24);
  ASSERT_EQ(ll.vlan_count, 1);
  EXPECT_EQ(ll.vlans[0].tpid, kTpid8021Q);
  EXPECT_EQ(ll.vlans[0].vid(), 7);
}

TEST(LinkLayerTest, NflogFindsThePayloadTlv) {
  const auto f = NflogRecordBytes(kNflogFamilyIpv4);
  LinkLayer ll;
  ASSERT_EQ(ParseLinkLayer(Span(f), LinkType::kNflog, &ll), LinkLayerError::kOk);
  ExpectIpv4At(ll, f, 4 + 8 + 4);
}

TEST(LinkLayerTest, NflogWithoutPayloadOrBadVersion) {
  std::vector<uint8_t> f = {2, 0, 0, 5, 8, 0, 10, 0, 'a', 'b', 'c', 0};  // prefix only
  LinkLayer ll;
  EXPECT_EQ(ParseLinkLayer(Span(f), LinkType::kNflog, &ll), LinkLayerError::kBadNflog);
  auto g = NflogRecordBytes(kNflogFamilyIpv4);
  g[1] = 1;  // nfgenmsg.version
  EXPECT_EQ(ParseLinkLayer(Span(g), LinkType::kNflog, &ll), LinkLayerError::kBadNflog);
  auto h = NflogRecordBytes(7);  // AF_BRIDGE: told by the payload's version nibble
  EXPECT_EQ(ParseLinkLayer(Span(h), LinkType::kNflog, &ll), LinkLayerError::kOk);
  EXPECT_EQ(ll.ethertype, kEtherTypeIpv4);
}

TEST(LinkLayerTest, RawIpByVersionNibble) {
  LinkLayer ll;
  ASSERT_EQ(ParseLinkLayer(Span(kIpv4), LinkType::kRaw, &ll), LinkLayerError::kOk);
  ExpectIpv4At(ll, kIpv4, 0);
  std::vector<uint8_t> v6(40, 0);
  v6[0] = 0x60;
  ASSERT_EQ(ParseLinkLayer(Span(v6), LinkType::kRaw, &ll), LinkLayerError::kOk);
  EXPECT_EQ(ll.ethertype, kEtherTypeIpv6);
  std::vector<uint8_t> bad = {0x50, 0, 0, 0};
  EXPECT_EQ(ParseLinkLayer(Span(bad), LinkType::kRaw, &ll), LinkLayerError::kNotIp);
}

TEST(LinkLayerTest, UnsupportedLinkType) {
  LinkLayer ll;
  EXPECT_EQ(ParseLinkLayer(Span(kIpv4), LinkType::kPpp, &ll),
            LinkLayerError::kUnsupportedLinkType);
  EXPECT_FALSE(IsKnownLinkType(LinkType::kPpp));
  EXPECT_TRUE(IsKnownLinkType(LinkType::kLinuxSll2));
}

TEST(LinkLayerTest, EveryShorterLengthIsAnErrorOrInside) {
  struct Case {
    std::vector<uint8_t> frame;
    LinkType lt;
    size_t header;  // bytes before the network layer
  };
  const Case cases[] = {{EthernetVlanFrame(), LinkType::kEthernet, 18},
                        {SllFrame(), LinkType::kLinuxSll, 16},
                        {Sll2VlanFrame(), LinkType::kLinuxSll2, 24},
                        {NflogRecordBytes(2), LinkType::kNflog, 16}};
  for (const Case& c : cases) {
    for (size_t n = 0; n < c.frame.size(); ++n) {
      std::vector<uint8_t> cut(c.frame.begin(), c.frame.begin() + static_cast<long>(n));
      LinkLayer ll;
      const LinkLayerError e = ParseLinkLayer(Span(cut), c.lt, &ll);
      if (n < c.header) {
        EXPECT_NE(e, LinkLayerError::kOk) << static_cast<int>(c.lt) << " n=" << n;
      } else if (e == LinkLayerError::kOk) {
        EXPECT_EQ(ll.l3.data + ll.l3.size, cut.data() + cut.size());
      }
    }
  }
}

TEST(LinkLayerTest, SynthesizedEthernet) {
  uint8_t eth[kEthernetHeaderSize];
  WriteSynthesizedEthernet(kEtherTypeIpv6, eth);
  EthernetHeader h;
  ASSERT_EQ(ParseEthernet(ByteSpan(eth, sizeof eth), &h), EthernetError::kOk);
  EXPECT_EQ(h.ethertype, kEtherTypeIpv6);
  EXPECT_EQ(h.src[0], 0x02);  // locally administered
  EXPECT_EQ(h.dst[5], 0x02);
  EXPECT_EQ(h.src[5], 0x01);
}

}  // namespace
}  // namespace pktkit
