// Unit tests for tools/fwd/forwarder.h: inner-frame policies per link type, the symmetric and
// fragment-safe flow hash (over generated traffic), rendezvous stability, source port range.
#include "tools/fwd/forwarder.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "tools/gen/generator.h"

namespace pktkit::fwd {
namespace {

// A minimal IPv4/UDP packet 10.0.0.1 -> 10.0.0.2 (checksums irrelevant here).
std::vector<uint8_t> Ipv4Packet() {
  std::vector<uint8_t> p = {0x45, 0, 0,  28, 0, 1, 0,    0,    64,   17,   0, 0, 10, 0,
                            0,    1, 10, 0,  0, 2, 0x30, 0x39, 0x00, 0x35, 0, 8, 0,  0};
  return p;
}

TEST(ForwarderTest, EthernetPassesThroughWithVlanId) {
  std::vector<uint8_t> f = {1,  2,  3,  4,    5,    6,    7,    8,    9,
                            10, 11, 12, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00};
  const auto ip = Ipv4Packet();
  f.insert(f.end(), ip.begin(), ip.end());
  Inner in;
  ASSERT_EQ(PrepareInner(ByteSpan(f.data(), f.size()), LinkType::kEthernet, EncapMode::kVxlan, &in),
            PrepareError::kOk);
  EXPECT_EQ(in.prefix_len, 0u);
  EXPECT_EQ(in.body.data, f.data());
  EXPECT_EQ(in.body.size, f.size());
  EXPECT_EQ(in.outer_vid, 100);
  EXPECT_EQ(in.l3_ethertype, kEtherTypeIpv4);
  EXPECT_EQ(in.l3.size, ip.size());
  EXPECT_EQ(in.geneve_protocol, kEtherTypeTransparentEthernet);
}

TEST(ForwarderTest, RawIpGetsSyntheticEthernetForVxlanAndProtocolTypeForGeneve) {
  const auto ip = Ipv4Packet();
  Inner in;
  ASSERT_EQ(PrepareInner(ByteSpan(ip.data(), ip.size()), LinkType::kRaw, EncapMode::kVxlan, &in),
            PrepareError::kOk);
  ASSERT_EQ(in.prefix_len, 14u);
  EXPECT_TRUE(in.synthesized_ethernet);
  EXPECT_EQ(0, std::memcmp(in.prefix, kSynthDstMac, 6));
  EXPECT_EQ(0, std::memcmp(in.prefix + 6, kSynthSrcMac, 6));
  EXPECT_EQ(LoadBe16(in.prefix + 12), kEtherTypeIpv4);
  EXPECT_EQ(in.size(), 14 + ip.size());

  ASSERT_EQ(PrepareInner(ByteSpan(ip.data(), ip.size()), LinkType::kRaw, EncapMode::kGeneve, &in),
            PrepareError::kOk);
  EXPECT_EQ(in.prefix_len, 0u);
  EXPECT_FALSE(in.synthesized_ethernet);
  EXPECT_EQ(in.geneve_protocol, kEtherTypeIpv4);

  std::vector<uint8_t> v6(40, 0);
  v6[0] = 0x60;
  ASSERT_EQ(PrepareInner(ByteSpan(v6.data(), v6.size()), LinkType::kRaw, EncapMode::kGeneve, &in),
            PrepareError::kOk);
  EXPECT_EQ(in.geneve_protocol, kEtherTypeIpv6);
}

TEST(ForwarderTest, CookedCapturesAndNflogBecomeIp) {
  const auto ip = Ipv4Packet();
  std::vector<uint8_t> sll(16, 0);
  sll[14] = 0x08;  // protocol 0x0800 at offset 14
  sll.insert(sll.end(), ip.begin(), ip.end());
  std::vector<uint8_t> sll2(20, 0);
  sll2[0] = 0x08;  // protocol at offset 0
  sll2.insert(sll2.end(), ip.begin(), ip.end());
  // NFLOG: family AF_INET, version 0, res id 0; a prefix TLV (type 10, len 7 -> padded to 8),
  // then the payload TLV (type 9).
  std::vector<uint8_t> nflog = {2, 0, 0, 0, 7, 0, 10, 0, 'a', 'b', 'c', 0};
  nflog.push_back(static_cast<uint8_t>(4 + ip.size()));
  nflog.insert(nflog.end(), {0, 9, 0});
  nflog.insert(nflog.end(), ip.begin(), ip.end());
  struct Case {
    const std::vector<uint8_t>* frame;
    LinkType lt;
  } cases[] = {
      {&sll, LinkType::kLinuxSll}, {&sll2, LinkType::kLinuxSll2}, {&nflog, LinkType::kNflog}};
  for (const Case& c : cases) {
    Inner in;
    ASSERT_EQ(
        PrepareInner(ByteSpan(c.frame->data(), c.frame->size()), c.lt, EncapMode::kVxlan, &in),
        PrepareError::kOk)
        << static_cast<int>(c.lt);
    EXPECT_EQ(in.body.size, ip.size());
    EXPECT_EQ(0, std::memcmp(in.body.data, ip.data(), ip.size()));
    EXPECT_EQ(LoadBe16(in.prefix + 12), kEtherTypeIpv4);
    // Every shorter length fails cleanly (never reads past the end).
    for (size_t n = 0; n < c.frame->size() - ip.size(); ++n) {
      EXPECT_NE(PrepareInner(ByteSpan(c.frame->data(), n), c.lt, EncapMode::kVxlan, &in),
                PrepareError::kOk)
          << n;
    }
  }
}

TEST(ForwarderTest, RejectsWhatItCannotCarry) {
  Inner in;
  std::vector<uint8_t> arp(20, 0);
  arp[0] = 0x08;
  arp[1] = 0x06;
  EXPECT_EQ(
      PrepareInner(ByteSpan(arp.data(), arp.size()), LinkType::kLinuxSll2, EncapMode::kVxlan, &in),
      PrepareError::kNotIp);
  const uint8_t junk[] = {0x10, 0, 0, 0};
  EXPECT_EQ(PrepareInner(ByteSpan(junk, 4), LinkType::kRaw, EncapMode::kGeneve, &in),
            PrepareError::kNotIp);
  EXPECT_EQ(PrepareInner(ByteSpan(junk, 4), LinkType::kPpp, EncapMode::kGeneve, &in),
            PrepareError::kUnsupportedLinkType);
  EXPECT_EQ(PrepareInner(ByteSpan(junk, 4), LinkType::kEthernet, EncapMode::kGeneve, &in),
            PrepareError::kTruncated);
  EXPECT_STREQ(PrepareErrorName(PrepareError::kNotIp), "not_ip");
  EXPECT_STREQ(PrepareErrorName(PrepareError::kUnsupportedLinkType), "unsupported_link_type");
}

TEST(ForwarderTest, EveryPacketOfAFlowBothDirectionsAndFragmentsSharesHashPortAndDestination) {
  gen::GenOptions o;
  o.flows = 300;
  o.seed = 4;
  o.ipv6_share = 0.5;
  o.vlan_share = 0.3;
  o.qinq_share = 0.2;
  const auto pkts = gen::Generate(o);
  const uint64_t keys[3] = {DestinationKey("a|4789"), DestinationKey("b|4789"),
                            DestinationKey("c|4789")};
  std::map<uint32_t, std::pair<uint16_t, size_t>> per_flow;
  std::set<bool> directions;
  size_t fragments = 0;
  for (const auto& g : pkts) {
    Inner in;
    ASSERT_EQ(PrepareInner(ByteSpan(g.bytes.data(), g.bytes.size()), LinkType::kEthernet,
                           EncapMode::kVxlan, &in),
              PrepareError::kOk);
    const uint32_t h = SymmetricHash(in.l3, in.l3_ethertype, 99);
    const uint16_t port = SourcePort(h, 49152, 65535);
    const size_t dest = PickDestination(h, keys, 3);
    EXPECT_GE(port, 49152);
    auto it = per_flow.find(g.flow);
    if (it == per_flow.end()) {
      per_flow[g.flow] = {port, dest};
    } else {
      EXPECT_EQ(it->second.first, port) << "flow " << g.flow;
      EXPECT_EQ(it->second.second, dest) << "flow " << g.flow;
    }
    directions.insert(g.from_client);
    const uint16_t et = in.l3_ethertype;
    if ((et == kEtherTypeIpv4 && (LoadBe16(in.l3.data + 6) & 0x3fff) != 0) ||
        (et == kEtherTypeIpv6 && in.l3.data[6] == 44)) {
      ++fragments;
    }
  }
  EXPECT_EQ(directions.size(), 2u);
  EXPECT_GT(fragments, 20u);
  std::set<size_t> used;
  for (const auto& kv : per_flow) used.insert(kv.second.second);
  EXPECT_EQ(used.size(), 3u);  // all three destinations get flows
}

TEST(ForwarderTest, RendezvousMovesOnlyFlowsToTheNewDestination) {
  std::vector<uint64_t> keys = {DestinationKey("10.0.0.1|4789"), DestinationKey("10.0.0.2|4789"),
                                DestinationKey("10.0.0.3|4789")};
  std::vector<size_t> before(20000);
  for (uint32_t h = 0; h < before.size(); ++h)
    before[h] = PickDestination(Mix64(h), keys.data(), 3);
  keys.push_back(DestinationKey("10.0.0.4|4789"));
  size_t moved = 0;
  for (uint32_t h = 0; h < before.size(); ++h) {
    const size_t now = PickDestination(Mix64(h), keys.data(), 4);
    if (now != before[h]) {
      EXPECT_EQ(now, 3u);  // a flow only ever moves to the new destination
      ++moved;
    }
  }
  // About a quarter moves (binomial, 20000 draws: far outside 20%..30% is a broken hash).
  EXPECT_GT(moved, before.size() / 5);
  EXPECT_LT(moved, before.size() * 3 / 10);
}

TEST(ForwarderTest, SourcePortStaysInRange) {
  for (uint32_t h : {0u, 1u, 16383u, 16384u, 0xffffffffu, 0x12345678u}) {
    const uint16_t p = SourcePort(h, 49152, 65535);
    EXPECT_GE(p, 49152);
    EXPECT_LE(p, 65535);
    EXPECT_EQ(SourcePort(h, 4000, 4000), 4000);
    const uint16_t q = SourcePort(h, 1, 65535);
    EXPECT_GE(q, 1);
  }
  EXPECT_EQ(SourcePort(16384, 49152, 65535), 49152);  // hash mod 16384
}

TEST(ForwarderTest, HashIsSymmetricForSwappedAddresses) {
  auto a = Ipv4Packet();
  auto b = a;
  std::swap_ranges(b.begin() + 12, b.begin() + 16, b.begin() + 16);
  for (uint64_t seed : {0ull, 1ull, 0xdeadbeefull}) {
    EXPECT_EQ(SymmetricHash(ByteSpan(a.data(), a.size()), kEtherTypeIpv4, seed),
              SymmetricHash(ByteSpan(b.data(), b.size()), kEtherTypeIpv4, seed));
  }
  auto c = a;
  c[19] = 3;
  EXPECT_NE(SymmetricHash(ByteSpan(a.data(), a.size()), kEtherTypeIpv4, 0),
            SymmetricHash(ByteSpan(c.data(), c.size()), kEtherTypeIpv4, 0));
}

}  // namespace
}  // namespace pktkit::fwd
