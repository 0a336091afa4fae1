#include "pktkit/flow/flow_key.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "tests/flow/test_frames.h"

namespace pktkit {
namespace {

using testing::BuildFrame;
using testing::Endpoints;
using testing::Swapped;

Endpoints V4Udp() {
  Endpoints e;
  const uint8_t s[4] = {10, 0, 0, 1};
  const uint8_t d[4] = {192, 168, 1, 2};
  std::memcpy(e.src, s, 4);
  std::memcpy(e.dst, d, 4);
  e.sport = 40000;
  e.dport = 53;
  return e;
}

Endpoints V6Tcp() {
  Endpoints e;
  e.family = 6;
  for (int i = 0; i < 16; ++i) {
    e.src[i] = static_cast<uint8_t>(0xfe - i);
    e.dst[i] = static_cast<uint8_t>(0x20 + i);
  }
  e.sport = 443;
  e.dport = 51234;
  e.protocol = kIpProtoTcp;
  return e;
}

FlowKeyInfo Extract(const std::vector<uint8_t>& f, LinkType lt = LinkType::kEthernet) {
  FlowKeyInfo info;
  EXPECT_EQ(ExtractFlowKey(ByteSpan(f.data(), f.size()), lt, &info), FlowKeyError::kOk);
  return info;
}

TEST(FlowKeyTest, Ipv4UdpKeyIsCanonicalAndSymmetric) {
  const Endpoints e = V4Udp();
  const FlowKeyInfo a = Extract(BuildFrame(e));
  const FlowKeyInfo b = Extract(BuildFrame(Swapped(e)));
  EXPECT_EQ(a.key, b.key);
  EXPECT_NE(a.reversed, b.reversed);
  EXPECT_TRUE(a.key.IsCanonical());
  EXPECT_EQ(a.key.family, 4);
  EXPECT_EQ(a.key.protocol, kIpProtoUdp);
  EXPECT_EQ(a.key.addr_lo[0], 10);  // 10.0.0.1 < 192.168.1.2
  EXPECT_EQ(a.key.port_lo, 40000);
  EXPECT_EQ(a.key.port_hi, 53);
  EXPECT_FALSE(a.reversed);
  EXPECT_EQ(a.network_offset, 14u);
}

TEST(FlowKeyTest, Ipv6TcpThroughAnyNumberOfTags) {
  const Endpoints e = V6Tcp();
  const FlowKeyInfo plain = Extract(BuildFrame(e));
  for (size_t n = 1; n <= kMaxVlanTags; ++n) {
    std::vector<VlanTag> tags;
    const uint16_t tpids[] = {kTpid8021AD, kTpidLegacyQinQ, kTpid8021Q, kTpid8021Q};
    for (size_t i = 0; i < n; ++i) tags.push_back(VlanTag{tpids[i], 0xffff});
    const FlowKeyInfo info = Extract(BuildFrame(e, LinkType::kEthernet, tags));
    EXPECT_EQ(info.key, plain.key) << n;
    EXPECT_EQ(info.vlan_count, n);
    EXPECT_EQ(info.network_offset, 14 + 4 * n);
    EXPECT_EQ(Extract(BuildFrame(Swapped(e), LinkType::kEthernet, tags)).key, plain.key);
  }
  EXPECT_TRUE(plain.reversed);  // 0xfe.. > 0x20..
  EXPECT_EQ(plain.key.port_lo, 51234);
  EXPECT_EQ(plain.key.port_hi, 443);
  EXPECT_EQ(plain.key.protocol, kIpProtoTcp);
}

TEST(FlowKeyTest, TooManyTagsAndNonIpAreReported) {
  std::vector<VlanTag> tags(kMaxVlanTags, VlanTag{kTpid8021Q, 1});
  std::vector<uint8_t> f = BuildFrame(V4Udp(), LinkType::kEthernet, tags);
  const uint8_t extra[4] = {0x81, 0x00, 0x00, 0x01};  // one tag more than kMaxVlanTags
  f.insert(f.begin() + 12, extra, extra + 4);
  FlowKeyInfo info;
  EXPECT_EQ(ExtractFlowKey(ByteSpan(f.data(), f.size()), LinkType::kEthernet, &info),
            FlowKeyError::kTooManyVlanTags);
  std::vector<uint8_t> arp = BuildFrame(V4Udp());
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_EQ(ExtractFlowKey(ByteSpan(arp.data(), arp.size()), LinkType::kEthernet, &info),
            FlowKeyError::kNotIp);
  EXPECT_EQ(ExtractFlowKey(ByteSpan(arp.data(), arp.size()), LinkType::kLinuxSll, &info),
            FlowKeyError::kUnsupportedLinkType);
  EXPECT_STREQ(FlowKeyErrorName(FlowKeyError::kTooManyVlanTags), "flow_too_many_vlan_tags");
}

TEST(FlowKeyTest, RawLinkTypeMatchesEthernet) {
  for (const Endpoints& e : {V4Udp(), V6Tcp()}) {
    EXPECT_EQ(Extract(BuildFrame(e, LinkType::kRaw), LinkType::kRaw).key,
              Extract(BuildFrame(e)).key);
  }
}

TEST(FlowKeyTest, EveryShorterLengthFailsWithoutReadingPast) {
  for (const Endpoints& e : {V4Udp(), V6Tcp()}) {
    const std::vector<uint8_t> f = BuildFrame(e, LinkType::kEthernet, {VlanTag{kTpid8021Q, 7}});
    const size_t ports_end = 18 + (e.family == 6 ? 40 : 20) + 4;
    for (size_t len = 0; len < f.size(); ++len) {
      // A heap copy of exactly `len` bytes so ASan sees any over-read.
      std::vector<uint8_t> cut(f.begin(), f.begin() + static_cast<long>(len));
      FlowKeyInfo info;
      const FlowKeyError err =
          ExtractFlowKey(ByteSpan(cut.data(), cut.size()), LinkType::kEthernet, &info);
      if (len < ports_end) {
        EXPECT_NE(err, FlowKeyError::kOk) << len;
      } else {
        EXPECT_EQ(err, FlowKeyError::kOk) << len;  // snapped payload still keys
      }
    }
  }
}

TEST(FlowKeyTest, IcmpEchoUsesIdentifierAndMatchesReply) {
  Endpoints e = V4Udp();
  e.protocol = kIpProtoIcmp;
  e.sport = (8 << 8) | 0;  // type 8 (echo request), code 0
  e.dport = 0;             // checksum
  std::vector<uint8_t> req = BuildFrame(e);
  req[14 + 20 + 4] = 0x12;  // identifier 0x1234
  req[14 + 20 + 5] = 0x34;
  Endpoints r = Swapped(e);
  r.sport = 0;  // type 0 (echo reply)
  r.dport = 0;
  std::vector<uint8_t> rep = BuildFrame(r);
  rep[14 + 20 + 4] = 0x12;
  rep[14 + 20 + 5] = 0x34;
  const FlowKeyInfo a = Extract(req);
  EXPECT_EQ(a.key, Extract(rep).key);
  EXPECT_EQ(a.key.port_lo, 0x1234);
  EXPECT_EQ(a.key.port_hi, 0x1234);
  // A non-echo ICMP message has no ports.
  req[14 + 20] = 3;  // destination unreachable
  EXPECT_FALSE(Extract(req).key.has_ports());
}

TEST(FlowKeyTest, Ipv4FragmentsHaveNoPortsAndSameAddressKey) {
  const Endpoints e = V4Udp();
  std::vector<uint8_t> first = BuildFrame(e, LinkType::kEthernet, {}, 64);
  first[14 + 6] = 0x20;  // MF, offset 0
  std::vector<uint8_t> later = BuildFrame(e, LinkType::kEthernet, {}, 64);
  later[14 + 6] = 0x00;
  later[14 + 7] = 0x09;   // offset 9 (72 bytes), last fragment
  later[14 + 20] = 0xaa;  // fragment data where ports would be
  const FlowKeyInfo whole = Extract(BuildFrame(e));
  for (const auto& f : {first, later}) {
    const FlowKeyInfo info = Extract(f);
    EXPECT_TRUE(info.is_fragment);
    EXPECT_FALSE(info.key.has_ports());
    EXPECT_EQ(info.key, whole.key.AddressesAndProtocol());
  }
}

TEST(FlowKeyTest, EqualAddressesOrderedByPort) {
  Endpoints e = V4Udp();
  std::memcpy(e.dst, e.src, 4);
  const FlowKeyInfo a = Extract(BuildFrame(e));
  EXPECT_EQ(a.key, Extract(BuildFrame(Swapped(e))).key);
  EXPECT_EQ(a.key.port_lo, 53);
  EXPECT_TRUE(a.reversed);
}

TEST(FlowKeyTest, MaxFieldValues) {
  Endpoints e = V6Tcp();
  std::memset(e.src, 0xff, 16);
  e.sport = 0xffff;
  e.dport = 0xffff;
  const FlowKeyInfo a = Extract(BuildFrame(e, LinkType::kEthernet, {VlanTag{kTpid8021Q, 0xffff}}));
  EXPECT_EQ(a.key.port_lo, 0xffff);
  EXPECT_EQ(a.key.addr_hi[15], 0xff);
  EXPECT_TRUE(a.key.IsCanonical());
}

}  // namespace
}  // namespace pktkit
