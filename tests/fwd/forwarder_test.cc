// The forwarder's packet policies, through the core pieces pktkit-fwd wires together
// (tools/fwd/pktkit_fwd.cc): NormalizeTransform (VXLAN: IP-only cooked/NFLOG/raw input, then
// Ethernet; GENEVE: Ethernet or raw IP) -> TunnelSink in frames mode. Per link type: what inner
// frame goes into the tunnel (synthesized Ethernet for VXLAN, Protocol Type for GENEVE), what is
// refused and why, the VNI by outer VLAN; truncation at every shorter length never passes.
// The flow hash, destination choice and source port are tested in tests/flow/destination_test.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pktkit/io/normalize_transform.h"
#include "pktkit/io/tunnel_sink.h"
#include "pktkit/wire/decap.h"
#include "pktkit/wire/link_layer.h"

namespace pktkit {
namespace {

// A minimal IPv4/UDP packet 10.0.0.1 -> 10.0.0.2 (checksums irrelevant here).
std::vector<uint8_t> Ipv4Packet() {
  return {0x45, 0, 0,  28, 0, 1, 0,    0,    64,   17,   0, 0, 10, 0,
          0,    1, 10, 0,  0, 2, 0x30, 0x39, 0x00, 0x35, 0, 8, 0,  0};
}

class Collect : public PacketSink {
 public:
  absl::Status Write(const PacketBatch& b) override {
    for (const PacketView& p : b) frames.emplace_back(p.data, p.data + p.caplen);
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  SinkStats stats() const override { return SinkStats{frames.size(), 0, 0}; }
  std::vector<std::vector<uint8_t>> frames;
};

struct Forwarded {
  bool sent = false;
  std::vector<uint8_t> inner;  // the tunnel's payload
  uint16_t geneve_protocol = 0;
  uint32_t vni = 0;
  std::string drop;  // the cause when not sent
};

// One packet through the forwarder's chain.
Forwarded Forward(const std::vector<uint8_t>& frame, size_t len, LinkType lt, EncapMode mode,
                  const std::vector<std::pair<uint16_t, Vni>>& vni_map = {}) {
  NormalizeTransform ip_only(NormalizeTarget::kEthernetOrRaw);
  NormalizeTransform to_ethernet(NormalizeTarget::kEthernet);
  Collect out;
  TunnelSinkOptions o;
  o.mode = mode;
  o.vni = Vni::FromMasked(9);
  o.vni_by_vlan = vni_map;
  auto dest = ParseTunnelDestination("192.0.2.10", mode == EncapMode::kVxlan ? 4789 : 6081);
  auto sink = TunnelSink::OpenFrames({*dest}, o, TunnelFrameOptions(), &out);
  EXPECT_TRUE(sink.ok()) << sink.status();
  PacketView v;
  v.data = frame.data();
  v.caplen = v.wire_len = static_cast<uint32_t>(len);
  v.link_type = lt;
  PacketBatch b = ip_only.Apply(PacketBatch{&v, 1});
  if (mode == EncapMode::kVxlan) b = to_ethernet.Apply(b);
  Forwarded f;
  EXPECT_TRUE((*sink)->Write(b).ok());
  for (size_t e = 0; e < static_cast<size_t>(LinkLayerError::kCount); ++e) {
    if (ip_only.stats().dropped_by[e] + to_ethernet.stats().dropped_by[e] != 0) {
      f.drop = LinkLayerErrorName(static_cast<LinkLayerError>(e));
    }
  }
  const TunnelSinkStats ts = (*sink)->tunnel_stats();
  for (size_t e = 0; e < static_cast<size_t>(TunnelDrop::kCount); ++e) {
    if (ts.dropped_by[e] != 0) f.drop = TunnelDropName(static_cast<TunnelDrop>(e));
  }
  if (out.frames.empty()) return f;
  const std::vector<uint8_t>& w = out.frames[0];
  DecapConfig cfg;
  cfg.mode = mode;
  DecapResult r = DecapsulateFrame(ByteSpan(w.data(), w.size()), LinkType::kEthernet,
                                   mode == EncapMode::kVxlan ? 4789 : 6081, cfg);
  EXPECT_EQ(r.error, DecapError::kOk) << DecapErrorName(r.error);
  f.sent = true;
  f.inner.assign(r.inner.data, r.inner.data + r.inner.size);
  f.vni = r.meta.vni.value().value();
  if (mode == EncapMode::kGeneve) f.geneve_protocol = LoadBe16(w.data() + 14 + 20 + 8 + 2);
  return f;
}

Forwarded Forward(const std::vector<uint8_t>& frame, LinkType lt, EncapMode mode) {
  return Forward(frame, frame.size(), lt, mode);
}

TEST(ForwarderTest, EthernetPassesThroughWithVlanId) {
  std::vector<uint8_t> f = {1,  2,  3,  4,    5,    6,    7,    8,    9,
                            10, 11, 12, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00};
  const auto ip = Ipv4Packet();
  f.insert(f.end(), ip.begin(), ip.end());
  for (EncapMode mode : {EncapMode::kVxlan, EncapMode::kGeneve}) {
    const Forwarded out =
        Forward(f, f.size(), LinkType::kEthernet, mode, {{100, Vni::FromMasked(1000)}});
    ASSERT_TRUE(out.sent) << out.drop;
    EXPECT_EQ(out.inner, f);    // untouched, tag included
    EXPECT_EQ(out.vni, 1000u);  // the outer tag's VID (100) picked the VNI
    if (mode == EncapMode::kGeneve) {
      EXPECT_EQ(out.geneve_protocol, kEtherTypeTransparentEthernet);
    }
  }
}

TEST(ForwarderTest, RawIpGetsSyntheticEthernetForVxlanAndProtocolTypeForGeneve) {
  const auto ip = Ipv4Packet();
  Forwarded out = Forward(ip, LinkType::kRaw, EncapMode::kVxlan);
  ASSERT_TRUE(out.sent) << out.drop;
  ASSERT_EQ(out.inner.size(), 14 + ip.size());
  EXPECT_EQ(0, std::memcmp(out.inner.data(), kSynthesizedDstMac, 6));
  EXPECT_EQ(0, std::memcmp(out.inner.data() + 6, kSynthesizedSrcMac, 6));
  const uint8_t want_macs[12] = {0x02, 0x70, 0x6b, 0x74, 0x00, 0x02,
                                 0x02, 0x70, 0x6b, 0x74, 0x00, 0x01};  // "pkt" ...:02 <- ...:01
  EXPECT_EQ(0, std::memcmp(out.inner.data(), want_macs, 12));
  EXPECT_EQ(LoadBe16(out.inner.data() + 12), kEtherTypeIpv4);
  EXPECT_EQ(std::vector<uint8_t>(out.inner.begin() + 14, out.inner.end()), ip);

  out = Forward(ip, LinkType::kRaw, EncapMode::kGeneve);
  ASSERT_TRUE(out.sent) << out.drop;
  EXPECT_EQ(out.inner, ip);  // no Ethernet header
  EXPECT_EQ(out.geneve_protocol, kEtherTypeIpv4);

  std::vector<uint8_t> v6(40, 0);
  v6[0] = 0x60;
  out = Forward(v6, LinkType::kRaw, EncapMode::kGeneve);
  ASSERT_TRUE(out.sent) << out.drop;
  EXPECT_EQ(out.geneve_protocol, kEtherTypeIpv6);
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
    const Forwarded out = Forward(*c.frame, c.lt, EncapMode::kVxlan);
    ASSERT_TRUE(out.sent) << static_cast<int>(c.lt) << " " << out.drop;
    ASSERT_EQ(out.inner.size(), 14 + ip.size());
    EXPECT_EQ(std::vector<uint8_t>(out.inner.begin() + 14, out.inner.end()), ip);
    EXPECT_EQ(LoadBe16(out.inner.data() + 12), kEtherTypeIpv4);
    // Every shorter length fails cleanly (never reads past the end).
    for (size_t n = 0; n < c.frame->size() - ip.size(); ++n) {
      EXPECT_FALSE(Forward(*c.frame, n, c.lt, EncapMode::kVxlan).sent) << n;
    }
  }
}

TEST(ForwarderTest, RejectsWhatItCannotCarry) {
  std::vector<uint8_t> arp(20, 0);
  arp[0] = 0x08;
  arp[1] = 0x06;
  const std::vector<uint8_t> junk = {0x10, 0, 0, 0};
  struct Case {
    const std::vector<uint8_t>* frame;
    LinkType lt;
    EncapMode mode;
    const char* cause;
  } cases[] = {
      {&arp, LinkType::kLinuxSll2, EncapMode::kVxlan, "not_ip"},
      {&junk, LinkType::kRaw, EncapMode::kGeneve, "not_ip"},
      {&junk, LinkType::kPpp, EncapMode::kGeneve, "unsupported_link_type"},
      {&junk, LinkType::kEthernet, EncapMode::kGeneve, "truncated"},
      {&junk, LinkType::kEthernet, EncapMode::kVxlan, "truncated"},
  };
  for (const Case& c : cases) {
    const Forwarded out = Forward(*c.frame, c.lt, c.mode);
    EXPECT_FALSE(out.sent) << c.cause;
    EXPECT_EQ(out.drop, c.cause);
  }
}

}  // namespace
}  // namespace pktkit
