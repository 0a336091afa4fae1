// TunnelTemplates: the frames its templates start, completed with an inner packet, decapsulate
// (pktkit/wire/decap.h, an independent parser) to that packet with the VNI the map gives its
// outer VLAN ID, the hop's Ethernet and IP addresses, and for GENEVE the Protocol Type of the
// payload kind; a VLAN ID over 4095 is refused and leaves the templates as they were.
#include "pktkit/io/tunnel_templates.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "pktkit/wire/decap.h"

namespace pktkit {
namespace {

NextHop Hop(uint8_t last) {
  NextHop h;
  h.ifindex = 2;
  h.mtu = 1500;
  h.src.family = 4;
  const uint8_t src[4] = {10, 0, 0, 1};
  std::memcpy(h.src.addr, src, 4);
  h.dst.family = 4;
  const uint8_t dst[4] = {10, 0, 0, last};
  std::memcpy(h.dst.addr, dst, 4);
  h.dst.port = 4789;
  const uint8_t smac[6] = {2, 0, 0, 0, 0, 1};
  const uint8_t dmac[6] = {2, 0, 0, 0, 0, last};
  std::memcpy(h.src_mac, smac, 6);
  std::memcpy(h.dst_mac, dmac, 6);
  h.ethernet = true;
  return h;
}

// An Ethernet frame with an 802.1Q tag of `vid` (none for vid < 0), then IPv4 bytes.
std::vector<uint8_t> Inner(int vid) {
  std::vector<uint8_t> f = {0x02, 0, 0, 0, 0, 0xaa, 0x02, 0, 0, 0, 0, 0xbb};
  if (vid >= 0) {
    f.insert(f.end(), {0x81, 0x00, static_cast<uint8_t>(vid >> 8), static_cast<uint8_t>(vid)});
  }
  f.insert(f.end(), {0x08, 0x00, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8});
  return f;
}

PacketView View(const std::vector<uint8_t>& b, LinkType lt = LinkType::kEthernet) {
  PacketView v;
  v.data = b.data();
  v.caplen = static_cast<uint32_t>(b.size());
  v.wire_len = v.caplen;
  v.link_type = lt;
  return v;
}

// The whole frame the template starts, decapsulated.
DecapResult Frame(const EncapTemplate& t, const PacketView& v, uint16_t port, EncapMode mode,
                  std::vector<uint8_t>* frame) {
  frame->assign(t.FrameSize(v.caplen), 0);
  EXPECT_TRUE(t.WriteHeaders(50000, 7, v.bytes(), frame->data()));
  std::memcpy(frame->data() + t.header_size(), v.data, v.caplen);
  DecapConfig cfg;
  cfg.mode = mode;
  return DecapsulateFrame(ByteSpan(frame->data(), frame->size()), LinkType::kEthernet, port, cfg);
}

TEST(TunnelTemplatesTest, VxlanVniByOuterVlanAndHop) {
  TunnelTemplates t;
  EncapSpec spec;
  spec.vni = Vni::FromMasked(42);
  ASSERT_TRUE(t.Build({Hop(2), Hop(3)}, spec,
                      {{100, Vni::FromMasked(1000)}, {0, Vni::FromMasked(7)},
                       {200, Vni::FromMasked(1000)}},
                      {})
                  .ok());
  struct Case {
    int vid;
    size_t hop;
    uint32_t vni;
  } cases[] = {{100, 0, 1000}, {200, 1, 1000}, {-1, 1, 7}, {300, 0, 42}};
  for (const Case& c : cases) {
    const std::vector<uint8_t> in = Inner(c.vid);
    const PacketView v = View(in);
    std::vector<uint8_t> frame;
    const DecapResult r =
        Frame(t.For(v, c.hop, TunnelPayload::kEthernet), v, 4789, EncapMode::kVxlan, &frame);
    ASSERT_EQ(r.error, DecapError::kOk) << DecapErrorName(r.error) << " vid " << c.vid;
    ASSERT_TRUE(r.meta.vni.has_value());
    EXPECT_EQ(r.meta.vni.value().value(), c.vni) << "vid " << c.vid;
    EXPECT_EQ(std::vector<uint8_t>(r.inner.data, r.inner.data + r.inner.size), in);
    EXPECT_EQ(frame[5], c.hop == 0 ? 2 : 3);  // destination MAC of the hop
    EXPECT_EQ(frame[14 + 19], c.hop == 0 ? 2 : 3);  // last byte of the outer IPv4 destination
  }
}

TEST(TunnelTemplatesTest, GeneveProtocolTypeByPayload) {
  TunnelTemplates t;
  EncapSpec spec;
  spec.mode = EncapMode::kGeneve;
  spec.vni = Vni::FromMasked(43);
  NextHop hop = Hop(2);
  hop.dst.port = 6081;
  ASSERT_TRUE(t.Build({hop}, spec, {}, {}).ok());
  const std::vector<uint8_t> eth = Inner(-1);
  const std::vector<uint8_t> ip(eth.begin() + 14, eth.end());
  std::vector<uint8_t> frame;
  const PacketView ve = View(eth);
  DecapResult r = Frame(t.For(ve, 0, TunnelPayload::kEthernet), ve, 6081, EncapMode::kGeneve,
                        &frame);
  ASSERT_EQ(r.error, DecapError::kOk) << DecapErrorName(r.error);
  EXPECT_EQ(r.meta.geneve_protocol, 0x6558);
  const PacketView vi = View(ip, LinkType::kRaw);
  r = Frame(t.For(vi, 0, TunnelPayload::kIpv4), vi, 6081, EncapMode::kGeneve, &frame);
  ASSERT_EQ(r.error, DecapError::kOk) << DecapErrorName(r.error);
  EXPECT_EQ(r.meta.geneve_protocol, 0x0800);
  EXPECT_EQ(r.link_type, LinkType::kRaw);
  EXPECT_EQ(std::vector<uint8_t>(r.inner.data, r.inner.data + r.inner.size), ip);
}

TEST(TunnelTemplatesTest, BadVlanIdIsRefusedAndTheOldTemplatesStay) {
  TunnelTemplates t;
  EncapSpec spec;
  spec.vni = Vni::FromMasked(42);
  ASSERT_TRUE(t.Build({Hop(2)}, spec, {}, {}).ok());
  EXPECT_FALSE(t.Build({Hop(3)}, spec, {{4096, Vni::FromMasked(1)}}, {}).ok());
  const std::vector<uint8_t> in = Inner(-1);
  const PacketView v = View(in);
  std::vector<uint8_t> frame;
  const DecapResult r =
      Frame(t.For(v, 0, TunnelPayload::kEthernet), v, 4789, EncapMode::kVxlan, &frame);
  ASSERT_EQ(r.error, DecapError::kOk);
  EXPECT_EQ(frame[5], 2);  // still the first build's hop
}

}  // namespace
}  // namespace pktkit
