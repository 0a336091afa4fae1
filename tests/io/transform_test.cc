// The core's batch transforms: link-type normalisation (every link type to Ethernet / raw IP)
// and tunnel decapsulation over captured frames, including captures cut by a snap length
// (`editcap -s 128`): decapsulated as far as captured, the inner wire length kept, counted as
// snapped.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "pktkit/io/decap_transform.h"
#include "pktkit/io/normalize_transform.h"
#include "pktkit/wire/encap.h"

namespace pktkit {
namespace {

std::vector<uint8_t> Ipv4Udp(size_t payload) {
  std::vector<uint8_t> p(20 + 8 + payload, 0xab);
  const uint16_t total = static_cast<uint16_t>(p.size());
  const uint8_t h[28] = {0x45, 0, static_cast<uint8_t>(total >> 8), static_cast<uint8_t>(total), 0,
                         1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
                         0x30, 0x39, 0x00, 0x35,  // ports 12345 -> 53
                         static_cast<uint8_t>((8 + payload) >> 8),
                         static_cast<uint8_t>(8 + payload), 0, 0};
  std::memcpy(p.data(), h, sizeof h);
  return p;
}

std::vector<uint8_t> Ethernet(uint16_t ethertype, const std::vector<uint8_t>& l3,
                              bool vlan = false) {
  std::vector<uint8_t> f = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  if (vlan) f.insert(f.end(), {0x81, 0x00, 0x00, 0x2a});
  f.push_back(static_cast<uint8_t>(ethertype >> 8));
  f.push_back(static_cast<uint8_t>(ethertype));
  f.insert(f.end(), l3.begin(), l3.end());
  return f;
}

PacketView View(const std::vector<uint8_t>& b, LinkType lt, uint32_t wire_len = 0) {
  PacketView v;
  v.data = b.data();
  v.caplen = static_cast<uint32_t>(b.size());
  v.wire_len = wire_len != 0 ? wire_len : v.caplen;
  v.link_type = lt;
  v.timestamp_ns = 1234;
  return v;
}

std::vector<uint8_t> Sll(const std::vector<uint8_t>& l3) {
  std::vector<uint8_t> f = {0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00};
  f.insert(f.end(), l3.begin(), l3.end());
  return f;
}

TEST(NormalizeTransformTest, EthernetOrRawKeepsEthernetAndStripsTheRest) {
  const auto ip = Ipv4Udp(10);
  const auto eth = Ethernet(kEtherTypeIpv4, ip, /*vlan=*/true);
  const auto sll = Sll(ip);
  const PacketView in[] = {View(eth, LinkType::kEthernet), View(sll, LinkType::kLinuxSll),
                           View(ip, LinkType::kRaw)};
  NormalizeTransform t(NormalizeTarget::kEthernetOrRaw);
  PacketBatch out = t.Apply(PacketBatch{in, 3});
  ASSERT_EQ(out.size, 3u);
  EXPECT_EQ(out[0].data, eth.data());  // no copy
  EXPECT_EQ(out[0].link_type, LinkType::kEthernet);
  EXPECT_EQ(out[1].data, sll.data() + 16);
  EXPECT_EQ(out[1].caplen, ip.size());
  EXPECT_EQ(out[1].link_type, LinkType::kRaw);
  EXPECT_EQ(out[1].timestamp_ns, 1234);
  EXPECT_EQ(out[2].data, ip.data());
  EXPECT_EQ(t.stats().passed, 3u);
  EXPECT_EQ(t.stats().synthesized, 0u);
}

TEST(NormalizeTransformTest, RawIpDropsNonIpAndKeepsTags) {
  const auto ip = Ipv4Udp(10);
  const auto eth = Ethernet(kEtherTypeIpv4, ip, /*vlan=*/true);
  const auto arp = Ethernet(kEtherTypeArp, std::vector<uint8_t>(28, 0));
  const PacketView in[] = {View(eth, LinkType::kEthernet), View(arp, LinkType::kEthernet),
                           View(ip, LinkType::kPpp)};
  NormalizeTransform t(NormalizeTarget::kRawIp);
  PacketBatch out = t.Apply(PacketBatch{in, 3});
  ASSERT_EQ(out.size, 1u);
  EXPECT_EQ(out[0].data, eth.data() + 18);
  EXPECT_EQ(out[0].link_type, LinkType::kRaw);
  ASSERT_EQ(out[0].vlan_count, 1);
  EXPECT_EQ(out[0].vlan[0].vid(), 42);
  EXPECT_EQ(t.stats().dropped, 2u);
  EXPECT_EQ(t.stats().dropped_by[static_cast<size_t>(LinkLayerError::kNotIp)], 1u);
  EXPECT_EQ(t.stats().dropped_by[static_cast<size_t>(LinkLayerError::kUnsupportedLinkType)], 1u);
}

TEST(NormalizeTransformTest, EthernetSynthesizesAHeaderAndKeepsTheSnappedTail) {
  const auto ip = Ipv4Udp(100);
  const auto sll = Sll(ip);
  const std::vector<uint8_t> cut(sll.begin(), sll.begin() + 60);  // snapped at 60 bytes
  const PacketView in[] = {View(cut, LinkType::kLinuxSll, static_cast<uint32_t>(sll.size())),
                           View(ip, LinkType::kRaw)};
  NormalizeTransform t(NormalizeTarget::kEthernet);
  PacketBatch out = t.Apply(PacketBatch{in, 2});
  ASSERT_EQ(out.size, 2u);
  EXPECT_EQ(out[0].link_type, LinkType::kEthernet);
  EXPECT_EQ(out[0].caplen, 14u + 44u);
  EXPECT_EQ(out[0].wire_len, 14u + ip.size());
  EthernetHeader h;
  ASSERT_EQ(ParseEthernet(out[0].bytes(), &h), EthernetError::kOk);
  EXPECT_EQ(h.ethertype, kEtherTypeIpv4);
  EXPECT_EQ(std::memcmp(h.payload.data, ip.data(), 44), 0);
  // The second view has its own scratch: the first is still intact.
  EXPECT_EQ(std::memcmp(out[1].data + 14, ip.data(), ip.size()), 0);
  EXPECT_EQ(std::memcmp(out[0].data + 14, ip.data(), 44), 0);
  EXPECT_EQ(t.stats().synthesized, 2u);
}

std::vector<uint8_t> TunnelFrame(EncapMode mode, const std::vector<uint8_t>& inner, uint32_t vni) {
  OuterSpec outer;
  outer.src.family = outer.dst.family = 4;
  const uint8_t s[4] = {192, 0, 2, 1}, d[4] = {192, 0, 2, 2};
  std::memcpy(outer.src.addr, s, 4);
  std::memcpy(outer.dst.addr, d, 4);
  outer.src.port = 50000;
  outer.dst.port = mode == EncapMode::kVxlan ? 4789 : 6081;
  EncapSpec spec;
  spec.mode = mode;
  spec.vni = Vni::FromMasked(vni);
  std::vector<uint8_t> f(EncapsulatedFrameSize(outer, spec, inner.size()));
  ByteWriter w(f.data(), f.size());
  EXPECT_TRUE(WriteEncapsulatedFrame(outer, spec, ByteSpan(inner.data(), inner.size()), &w));
  return f;
}

TEST(DecapTransformTest, FramesToInnerViews) {
  const auto inner = Ethernet(kEtherTypeIpv4, Ipv4Udp(200));
  const auto f = TunnelFrame(EncapMode::kVxlan, inner, 77);
  const std::vector<uint8_t> junk(30, 0);
  const PacketView in[] = {View(f, LinkType::kEthernet), View(junk, LinkType::kEthernet)};
  DecapConfig cfg;
  DecapTransform t(cfg, 4789);
  PacketBatch out = t.Apply(PacketBatch{in, 2});
  ASSERT_EQ(out.size, 1u);
  EXPECT_EQ(out[0].caplen, inner.size());
  EXPECT_EQ(out[0].wire_len, inner.size());
  EXPECT_EQ(std::memcmp(out[0].data, inner.data(), inner.size()), 0);
  EXPECT_EQ(out[0].tunnel.vni.value().value(), 77u);
  EXPECT_EQ(out[0].timestamp_ns, 1234);
  EXPECT_EQ(t.stats().malformed, 1u);
  EXPECT_EQ(t.stats().snapped, 0u);
}

// What `editcap -s 128` does to a trace: every frame cut to 128 bytes, its length kept.
TEST(DecapTransformTest, SnappedFramesKeepTheInnerWireLength) {
  for (EncapMode mode : {EncapMode::kVxlan, EncapMode::kGeneve}) {
    std::vector<std::vector<uint8_t>> frames;
    std::vector<size_t> inner_len;
    for (size_t payload : {10, 40, 100, 500, 1400}) {
      const auto inner = Ethernet(kEtherTypeIpv4, Ipv4Udp(payload));
      inner_len.push_back(inner.size());
      frames.push_back(TunnelFrame(mode, inner, 5));
    }
    std::vector<std::vector<uint8_t>> cut;
    std::vector<PacketView> in;
    for (const auto& f : frames) cut.emplace_back(f.begin(), f.begin() + std::min<size_t>(128, f.size()));
    for (size_t i = 0; i < frames.size(); ++i) {
      in.push_back(View(cut[i], LinkType::kEthernet, static_cast<uint32_t>(frames[i].size())));
    }
    DecapConfig cfg;
    cfg.mode = mode;
    DecapTransform t(cfg, 0);
    PacketBatch out = t.Apply(PacketBatch{in.data(), in.size()});
    ASSERT_EQ(out.size, frames.size()) << "mode " << static_cast<int>(mode);
    size_t snapped = 0;
    for (size_t i = 0; i < out.size; ++i) {
      EXPECT_EQ(out[i].wire_len, inner_len[i]) << i;
      EXPECT_LE(out[i].caplen, out[i].wire_len);
      if (frames[i].size() > 128) ++snapped;
    }
    EXPECT_EQ(t.stats().snapped, snapped);
    EXPECT_GT(snapped, 0u);
    EXPECT_EQ(t.stats().malformed, 0u);
  }
}

TEST(DecapTransformTest, ACutThatLiesAboutItsLengthIsStillTruncated) {
  // The same cut frame, but claiming it was captured whole: the UDP length is a lie.
  const auto f = TunnelFrame(EncapMode::kVxlan, Ethernet(kEtherTypeIpv4, Ipv4Udp(500)), 5);
  const std::vector<uint8_t> cut(f.begin(), f.begin() + 128);
  const PacketView in[] = {View(cut, LinkType::kEthernet)};
  DecapTransform t(DecapConfig{}, 0);
  EXPECT_EQ(t.Apply(PacketBatch{in, 1}).size, 0u);
  EXPECT_EQ(t.stats().malformed_by[static_cast<size_t>(DecapError::kTruncated)], 1u);
}

TEST(DecapTransformTest, CutInsideTheTunnelHeaderIsTruncated) {
  const auto f = TunnelFrame(EncapMode::kVxlan, Ethernet(kEtherTypeIpv4, Ipv4Udp(500)), 5);
  // 14 + 20 + 8 + 8 (VXLAN) + 10: the inner Ethernet header is incomplete.
  const std::vector<uint8_t> cut(f.begin(), f.begin() + 60);
  const PacketView in[] = {View(cut, LinkType::kEthernet, static_cast<uint32_t>(f.size()))};
  DecapTransform t(DecapConfig{}, 0);
  EXPECT_EQ(t.Apply(PacketBatch{in, 1}).size, 0u);
  EXPECT_EQ(t.stats().malformed_by[static_cast<size_t>(DecapError::kTruncated)], 1u);
}

TEST(DecapTransformTest, NormalisedSllTunnelTrafficDecapsulates) {
  // A VXLAN frame captured on "any" (SLL): normalise to raw IP, then decapsulate.
  const auto inner = Ethernet(kEtherTypeIpv4, Ipv4Udp(64));
  const auto f = TunnelFrame(EncapMode::kVxlan, inner, 9);
  std::vector<uint8_t> sll = {0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00};
  sll.insert(sll.end(), f.begin() + 14, f.end());
  const PacketView in[] = {View(sll, LinkType::kLinuxSll)};
  NormalizeTransform norm(NormalizeTarget::kEthernetOrRaw);
  DecapTransform decap(DecapConfig{}, 4789);
  PacketBatch out = decap.Apply(norm.Apply(PacketBatch{in, 1}));
  ASSERT_EQ(out.size, 1u);
  EXPECT_EQ(out[0].caplen, inner.size());
  EXPECT_EQ(out[0].tunnel.vni.value().value(), 9u);
}

}  // namespace
}  // namespace pktkit
