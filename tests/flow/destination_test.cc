// Tests for pktkit/flow/destination.h: every packet of a flow (both directions, fragments)
// gets one hash, port and destination over generated traffic; rendezvous hashing moves only
// flows to a new destination; the source port range; symmetry for IP and non-IP frames.
#include "pktkit/flow/destination.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "pktkit/wire/ethernet.h"
#include "tools/gen/generator.h"

namespace pktkit {
namespace {

// A minimal IPv4/UDP packet 10.0.0.1 -> 10.0.0.2 (checksums irrelevant here).
std::vector<uint8_t> Ipv4Packet() {
  return {0x45, 0, 0,  28, 0, 1, 0,    0,    64,   17,   0, 0, 10, 0,
          0,    1, 10, 0,  0, 2, 0x30, 0x39, 0x00, 0x35, 0, 8, 0,  0};
}

TEST(DestinationTest, EveryPacketOfAFlowBothDirectionsAndFragmentsSharesHashPortAndDestination) {
  gen::GenOptions o;
  o.flows = 300;
  o.seed = 4;
  o.ipv6_share = 0.5;
  o.vlan_share = 0.3;
  o.qinq_share = 0.2;
  const auto pkts = gen::Generate(o);
  const FlowDestinationChooser chooser(
      {DestinationKey("a|4789"), DestinationKey("b|4789"), DestinationKey("c|4789")}, 99, 49152,
      65535);
  std::map<uint32_t, std::pair<uint16_t, size_t>> per_flow;
  std::set<bool> directions;
  size_t fragments = 0;
  for (const auto& g : pkts) {
    const ByteSpan frame(g.bytes.data(), g.bytes.size());
    const FlowChoice c = chooser.Choose(frame, LinkType::kEthernet);
    EXPECT_GE(c.source_port, 49152);
    auto it = per_flow.find(g.flow);
    if (it == per_flow.end()) {
      per_flow[g.flow] = {c.source_port, c.destination};
    } else {
      EXPECT_EQ(it->second.first, c.source_port) << "flow " << g.flow;
      EXPECT_EQ(it->second.second, c.destination) << "flow " << g.flow;
    }
    directions.insert(g.from_client);
    EthernetHeader eth;
    ASSERT_EQ(ParseEthernet(frame, &eth), EthernetError::kOk);
    const ByteSpan l3 = eth.payload;
    if ((eth.ethertype == kEtherTypeIpv4 && (LoadBe16(l3.data + 6) & 0x3fff) != 0) ||
        (eth.ethertype == kEtherTypeIpv6 && l3.data[6] == 44)) {
      ++fragments;
    }
  }
  EXPECT_EQ(directions.size(), 2u);
  EXPECT_GT(fragments, 20u);
  std::set<size_t> used;
  for (const auto& kv : per_flow) used.insert(kv.second.second);
  EXPECT_EQ(used.size(), 3u);  // all three destinations get flows
}

TEST(DestinationTest, RendezvousMovesOnlyFlowsToTheNewDestination) {
  std::vector<uint64_t> keys = {DestinationKey("10.0.0.1|4789"), DestinationKey("10.0.0.2|4789"),
                                DestinationKey("10.0.0.3|4789")};
  std::vector<size_t> before(20000);
  for (uint32_t h = 0; h < before.size(); ++h) {
    before[h] = PickDestination(Mix64(h), keys.data(), 3);
  }
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

TEST(DestinationTest, SourcePortStaysInRange) {
  for (uint32_t h : {0u, 1u, 16383u, 16384u, 0xffffffffu, 0x12345678u}) {
    const uint16_t p = SourcePortForHash(h, 49152, 65535);
    EXPECT_GE(p, 49152);
    EXPECT_LE(p, 65535);
    EXPECT_EQ(SourcePortForHash(h, 4000, 4000), 4000);
    EXPECT_GE(SourcePortForHash(h, 1, 65535), 1);
    EXPECT_EQ(SourcePortForHash(h, 9, 2), 9);  // an empty range gives its low end
  }
  EXPECT_EQ(SourcePortForHash(16384, 49152, 65535), 49152);  // hash mod 16384
}

TEST(DestinationTest, HashIsSymmetricForSwappedAddresses) {
  auto a = Ipv4Packet();
  auto b = a;
  std::swap_ranges(b.begin() + 12, b.begin() + 16, b.begin() + 16);
  for (uint64_t seed : {0ull, 1ull, 0xdeadbeefull}) {
    EXPECT_EQ(SymmetricFrameHash(ByteSpan(a.data(), a.size()), LinkType::kRaw, seed),
              SymmetricFrameHash(ByteSpan(b.data(), b.size()), LinkType::kRaw, seed));
  }
  auto c = a;
  c[19] = 3;
  EXPECT_NE(SymmetricFrameHash(ByteSpan(a.data(), a.size()), LinkType::kRaw, 0),
            SymmetricFrameHash(ByteSpan(c.data(), c.size()), LinkType::kRaw, 0));
  // The same packet behind an Ethernet header (with a VLAN tag) hashes the same.
  std::vector<uint8_t> eth = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x81, 0, 0, 5, 0x08, 0};
  eth.insert(eth.end(), a.begin(), a.end());
  EXPECT_EQ(SymmetricFrameHash(ByteSpan(eth.data(), eth.size()), LinkType::kEthernet, 7),
            SymmetricFrameHash(ByteSpan(a.data(), a.size()), LinkType::kRaw, 7));
}

TEST(DestinationTest, NonIpEthernetHashesItsMacPairSymmetrically) {
  std::vector<uint8_t> arp = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x06};
  arp.resize(42, 0);
  std::vector<uint8_t> reply = arp;
  std::swap_ranges(reply.begin(), reply.begin() + 6, reply.begin() + 6);
  std::vector<uint8_t> other = arp;
  other[5] = 0x66;
  const auto h = [](const std::vector<uint8_t>& f, uint64_t seed) {
    return SymmetricFrameHash(ByteSpan(f.data(), f.size()), LinkType::kEthernet, seed);
  };
  EXPECT_EQ(h(arp, 3), h(reply, 3));
  EXPECT_NE(h(arp, 3), h(other, 3));
  EXPECT_NE(h(arp, 3), h(arp, 4));  // seeded
  // Unparsable input: one constant per seed.
  const uint8_t junk[] = {0x10, 0, 0, 0};
  EXPECT_EQ(SymmetricFrameHash(ByteSpan(junk, 4), LinkType::kRaw, 5),
            SymmetricFrameHash(ByteSpan(junk, 3), LinkType::kRaw, 5));
}

TEST(DestinationTest, ChooserWithOneDestinationAlwaysPicksIt) {
  const FlowDestinationChooser one({DestinationKey("x|1")}, 0, 1000, 1999);
  for (uint32_t h = 0; h < 1000; ++h) {
    const FlowChoice c = one.ChooseForHash(h);
    EXPECT_EQ(c.destination, 0u);
    EXPECT_EQ(c.source_port, 1000 + h);
    EXPECT_EQ(c.hash, h);
  }
}

}  // namespace
}  // namespace pktkit
