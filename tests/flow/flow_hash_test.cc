#include "pktkit/flow/flow_hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pktkit/flow/flow_key.h"
#include "pktkit/flow/toeplitz.h"
#include "tests/flow/test_frames.h"
#include "tests/testing/shared_pcaps.h"

namespace pktkit {
namespace {

using testing::BuildFrame;
using testing::Endpoints;
using testing::ReadPcap;
using testing::Swapped;

constexpr uint64_t kSeeds[] = {0, 1, 0x9e3779b97f4a7c15ull};

std::vector<std::vector<uint8_t>> MustRead(const std::string& name, int* linktype) {
  bool ok = false;
  auto packets = ReadPcap("../shared_pcaps/" + name, linktype, &ok);
  EXPECT_TRUE(ok) << "missing capture ../shared_pcaps/" << name;
  EXPECT_FALSE(packets.empty()) << name;
  return packets;
}

uint32_t Hash(const std::vector<uint8_t>& f, uint64_t seed, FlowHashFields fields,
              LinkType lt = LinkType::kEthernet) {
  bool ok = false;
  const uint32_t h = SymmetricFlowHash(ByteSpan(f.data(), f.size()), lt, seed, fields, &ok);
  EXPECT_TRUE(ok);
  return h;
}

// A UDP datagram of 3000 bytes sent as three IPv4 fragments, and the unfragmented reply.
TEST(FlowHashTest, FragmentedIpv4UdpDatagramAndReplyShareTheDefaultHash) {
  Endpoints e;
  const uint8_t s[4] = {198, 51, 100, 7}, d[4] = {203, 0, 113, 9};
  std::memcpy(e.src, s, 4);
  std::memcpy(e.dst, d, 4);
  e.sport = 5353;
  e.dport = 53;
  std::vector<std::vector<uint8_t>> frags;
  const uint16_t offsets[] = {0, 185, 370};  // 8-byte units: 1480-byte fragments
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> f = BuildFrame(e, LinkType::kEthernet, {}, 1472);
    const uint16_t ff = static_cast<uint16_t>((i < 2 ? kIpv4FlagMf : 0) | offsets[i]);
    StoreBe16(f.data() + 14 + 6, ff);
    if (i > 0) std::memset(f.data() + 14 + 20, 0xa5, 8);  // fragment data, no UDP header
    frags.push_back(f);
  }
  const std::vector<uint8_t> reply = BuildFrame(Swapped(e));
  for (uint64_t seed : kSeeds) {
    const uint32_t want = Hash(reply, seed, FlowHashFields::kAddressesAndProtocol);
    for (const auto& f : frags) {
      EXPECT_EQ(Hash(f, seed, FlowHashFields::kAddressesAndProtocol), want);
    }
    // kFiveTuple is not fragment-safe: fragments carry no ports, the reply does.
    EXPECT_NE(Hash(frags[0], seed, FlowHashFields::kFiveTuple),
              Hash(reply, seed, FlowHashFields::kFiveTuple));
    EXPECT_EQ(Hash(BuildFrame(e), seed, FlowHashFields::kFiveTuple),
              Hash(reply, seed, FlowHashFields::kFiveTuple));
  }
}

// Zeek's ipv6-fragmented-dns.pcap: queries, a three-fragment reply and a lone fragment,
// all between the same two hosts over UDP: every packet gets the same default hash.
TEST(FlowHashTest, FragmentedIpv6DnsCaptureSharesTheDefaultHash) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  int lt = 0;
  const auto packets = MustRead("ipv6-fragmented-dns.pcap", &lt);
  ASSERT_EQ(lt, 1);
  size_t fragments = 0;
  for (uint64_t seed : kSeeds) {
    std::set<uint32_t> hashes;
    std::set<uint32_t> sym_toeplitz;
    fragments = 0;
    for (const auto& p : packets) {
      FlowKeyInfo info;
      ASSERT_EQ(ExtractFlowKey(ByteSpan(p.data(), p.size()), LinkType::kEthernet, &info),
                FlowKeyError::kOk);
      EXPECT_EQ(info.key.family, 6);
      EXPECT_EQ(info.key.protocol, kIpProtoUdp);
      if (info.is_fragment) ++fragments;
      hashes.insert(Hash(p, seed, FlowHashFields::kAddressesAndProtocol));
      sym_toeplitz.insert(SymmetricToeplitzHash(info.key, false));
    }
    EXPECT_EQ(hashes.size(), 1u);
    EXPECT_EQ(sym_toeplitz.size(), 1u);
  }
  EXPECT_EQ(fragments, 4u);
}

// Zeek's bro.org.pcap: every packet keys; both directions of each TCP connection get equal
// hashes under every hash; the capture holds many distinct connections.
TEST(FlowHashTest, BroOrgCaptureEveryPacketKeysAndDirectionsAgree) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  int lt = 0;
  const auto packets = MustRead("bro.org.pcap", &lt);
  ASSERT_EQ(lt, 1);
  const ToeplitzTable sym(kSymmetricRssKey, sizeof kSymmetricRssKey);
  std::map<FlowKey, std::set<bool>> directions;
  std::map<FlowKey, std::set<uint32_t>> hashes;
  for (const auto& p : packets) {
    FlowKeyInfo info;
    ASSERT_EQ(ExtractFlowKey(ByteSpan(p.data(), p.size()), LinkType::kEthernet, &info),
              FlowKeyError::kOk);
    directions[info.key].insert(info.reversed);
    std::set<uint32_t>& hs = hashes[info.key];
    hs.insert(Hash(p, 42, FlowHashFields::kFiveTuple));
    // Symmetric Toeplitz over the packet's own (uncanonicalised) NIC input.
    FlowKeyInfo again;
    ExtractFlowKey(ByteSpan(p.data(), p.size()), LinkType::kEthernet, &again);
    const FlowKey& k = again.key;
    uint8_t in[kRssInputMaxSize];
    const size_t n = again.reversed
                         ? RssInputIpv4(k.addr_hi, k.addr_lo, k.port_hi, k.port_lo, true, in)
                         : RssInputIpv4(k.addr_lo, k.addr_hi, k.port_lo, k.port_hi, true, in);
    hs.insert(sym.Hash(in, n) ^ 0x80000000u);  // kept apart from the seeded values
  }
  size_t tcp_both_ways = 0;
  for (const auto& [key, dirs] : directions) {
    EXPECT_EQ(hashes[key].size(), 2u);  // one seeded value + one symmetric-Toeplitz value
    if (key.protocol == kIpProtoTcp && dirs.size() == 2) ++tcp_both_ways;
  }
  EXPECT_GT(directions.size(), 10u);
  EXPECT_GT(tcp_both_ways, 10u);
}

// 802.1Q (VID 0) and QinQ captures of the same HTTP session key through the tags.
TEST(FlowHashTest, VlanAndQinQCapturesKeyThroughTags) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  for (const char* name : {"http-vlan-0.pcap", "http-qinq-0.pcap"}) {
    int lt = 0;
    const auto packets = MustRead(name, &lt);
    std::set<uint32_t> hashes;
    for (const auto& p : packets) {
      FlowKeyInfo info;
      ASSERT_EQ(ExtractFlowKey(ByteSpan(p.data(), p.size()), LinkType::kEthernet, &info),
                FlowKeyError::kOk)
          << name;
      EXPECT_GE(info.vlan_count, 1) << name;
      hashes.insert(Hash(p, 7, FlowHashFields::kFiveTuple));
    }
    EXPECT_GE(hashes.size(), 1u);
    EXPECT_LT(hashes.size(), packets.size()) << name;  // directions collapse
  }
}

TEST(FlowHashTest, ErrorsGiveZeroAndNotOk) {
  const uint8_t junk[5] = {1, 2, 3, 4, 5};
  const FlowHashResult r = SymmetricFlowHash(ByteSpan(junk, sizeof junk), LinkType::kEthernet, 1);
  EXPECT_EQ(r.error, FlowKeyError::kEthernetTruncated);
  EXPECT_EQ(r.hash, 0u);
  bool ok = true;
  EXPECT_EQ(SymmetricFlowHash(ByteSpan(junk, sizeof junk), LinkType::kRaw, 1,
                              FlowHashFields::kFiveTuple, &ok),
            0u);
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace pktkit
