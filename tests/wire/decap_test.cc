#include "pktkit/wire/decap.h"

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pktkit/wire/encap.h"
#include "tests/testing/wire_samples.h"

namespace pktkit {
namespace {

using Bytes = std::vector<uint8_t>;

ByteSpan Span(const Bytes& b) { return ByteSpan(b.data(), b.size()); }
Bytes ToBytes(ByteSpan s) { return Bytes(s.begin(), s.end()); }

// A 60-byte inner Ethernet frame: dst, src, EtherType IPv4, then a counting pattern.
Bytes InnerFrame() {
  Bytes f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00};
  for (int i = 0; f.size() < 60; ++i) f.push_back(static_cast<uint8_t>(i));
  return f;
}

Bytes VxlanDatagram(uint32_t vni, const Bytes& inner) {
  Bytes b = {0x08,
             0,
             0,
             0,
             static_cast<uint8_t>(vni >> 16),
             static_cast<uint8_t>(vni >> 8),
             static_cast<uint8_t>(vni),
             0};
  b.insert(b.end(), inner.begin(), inner.end());
  return b;
}

Bytes GeneveDatagram(uint16_t protocol, uint32_t vni, const GeneveOptionSpec* opts, size_t n,
                     const Bytes& payload) {
  GeneveHeader h;
  h.protocol_type = protocol;
  h.vni = Vni::FromMasked(vni);
  Bytes b(kMaxTunnelHeaderSize);
  ByteWriter w(b.data(), b.size());
  EXPECT_TRUE(SerializeGeneve(h, opts, n, &w));
  b.resize(w.size());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

IpEndpoint Endpoint4(uint8_t last, uint16_t port) {
  IpEndpoint e;
  e.family = 4;
  const uint8_t a[4] = {10, 0, 0, last};
  std::memcpy(e.addr, a, 4);
  e.port = port;
  return e;
}

IpEndpoint Endpoint6(uint8_t last, uint16_t port) {
  IpEndpoint e;
  e.family = 6;
  e.addr[0] = 0xfd;
  e.addr[15] = last;
  e.port = port;
  return e;
}

// A full Ethernet/IP/UDP/VXLAN/inner frame built by encap.h.
Bytes VxlanFrame(bool v6, uint32_t vni, const Bytes& inner) {
  OuterSpec outer;
  outer.src = v6 ? Endpoint6(1, 40000) : Endpoint4(1, 40000);
  outer.dst = v6 ? Endpoint6(2, kVxlanDefaultPort) : Endpoint4(2, kVxlanDefaultPort);
  EncapSpec spec;
  spec.vni = Vni::FromMasked(vni);
  Bytes f(EncapsulatedFrameSize(outer, spec, inner.size()));
  ByteWriter w(f.data(), f.size());
  EXPECT_TRUE(WriteEncapsulatedFrame(outer, spec, Span(inner), &w));
  return f;
}

using samples::kGwlbOptions;

// GENEVE (IPv4 or IPv6 protocol, GWLB options, VNI 7) → IP → UDP → VXLAN (VNI 300) → inner.
Bytes GwlbDatagram(bool inner_v6, const Bytes& inner) {
  const Bytes vx = VxlanFrame(inner_v6, 300, inner);
  const Bytes ip(vx.begin() + kEthernetHeaderSize, vx.end());
  return GeneveDatagram(inner_v6 ? kEtherTypeIpv6 : kEtherTypeIpv4, 7, kGwlbOptions, 3, ip);
}

DecapConfig Mode(const char* text) {
  DecapConfig cfg;
  EXPECT_TRUE(ParseEncapMode(text, &cfg)) << text;
  return cfg;
}

TEST(DecapTest, ParsesEncapModes) {
  DecapConfig cfg;
  EXPECT_TRUE(ParseEncapMode("geneve", &cfg));
  EXPECT_EQ(cfg.mode, EncapMode::kGeneve);
  EXPECT_TRUE(ParseEncapMode("geneve+vxlan", &cfg));
  EXPECT_EQ(cfg.mode, EncapMode::kGeneveVxlan);
  EXPECT_TRUE(ParseEncapMode("raw", &cfg));
  EXPECT_EQ(cfg.mode, EncapMode::kRaw);
  EXPECT_TRUE(ParseEncapMode("skip=42", &cfg));
  EXPECT_EQ(cfg.mode, EncapMode::kSkip);
  EXPECT_EQ(cfg.skip_bytes, 42u);
  EXPECT_TRUE(ParseEncapMode("vxlan", &cfg));
  EXPECT_EQ(cfg.mode, EncapMode::kVxlan);
  for (const char* bad :
       {"", "VXLAN", "skip=", "skip=-1", "skip=65536", "skip=1x", "geneve+", "vxlan ", "skip"}) {
    DecapConfig c;
    c.skip_bytes = 5;
    EXPECT_FALSE(ParseEncapMode(bad, &c)) << bad;
    EXPECT_EQ(c.mode, EncapMode::kVxlan) << bad;
    EXPECT_EQ(c.skip_bytes, 5u) << bad;
  }
  EXPECT_FALSE(ParseEncapMode(nullptr, &cfg));
}

TEST(DecapTest, ErrorNamesAreDistinctSnakeCase) {
  std::set<std::string> names;
  for (int i = 0; i < static_cast<int>(DecapError::kCount); ++i) {
    const std::string name = DecapErrorName(static_cast<DecapError>(i));
    EXPECT_NE(name, "unknown") << i;
    for (char c : name) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(DecapError::kCount));
  EXPECT_STREQ(DecapErrorName(DecapError::kNotTunnelPort), "not_tunnel_port");
}

TEST(DecapTest, VxlanGivesEthernetAndVni) {
  const Bytes inner = InnerFrame();
  const Bytes d = VxlanDatagram(0xffffff, inner);
  const DecapResult r = Decapsulate(Span(d), DecapConfig());
  ASSERT_EQ(r.error, DecapError::kOk);
  EXPECT_EQ(r.inner.data, d.data() + 8);
  EXPECT_EQ(ToBytes(r.inner), inner);
  EXPECT_EQ(r.link_type, LinkType::kEthernet);
  EXPECT_EQ(r.meta.type, TunnelType::kVxlan);
  ASSERT_TRUE(r.meta.vni.has_value());
  EXPECT_EQ(r.meta.vni.value().value(), 0xffffffu);
  EXPECT_FALSE(r.meta.outer_vni.has_value());
}

TEST(DecapTest, VxlanTruncatedAtEveryShorterLength) {
  const Bytes d = VxlanDatagram(5, InnerFrame());
  for (size_t n = 0; n < 8 + kEthernetHeaderSize; ++n) {
    const DecapResult r = Decapsulate(ByteSpan(d.data(), n), DecapConfig());
    EXPECT_EQ(r.error, DecapError::kTruncated) << n;
    EXPECT_TRUE(r.inner.empty());
  }
  EXPECT_EQ(Decapsulate(ByteSpan(d.data(), 8 + kEthernetHeaderSize), DecapConfig()).error,
            DecapError::kOk);
}

TEST(DecapTest, VxlanBadFlags) {
  Bytes d = VxlanDatagram(5, InnerFrame());
  d[0] = 0;
  EXPECT_EQ(Decapsulate(Span(d), DecapConfig()).error, DecapError::kBadVxlanFlags);
}

TEST(DecapTest, GeneveLinkTypeFollowsProtocol) {
  const Bytes inner = InnerFrame();
  const DecapConfig cfg = Mode("geneve");
  const Bytes eth = GeneveDatagram(0x6558, 9, nullptr, 0, inner);  // r.inner points into it
  DecapResult r = Decapsulate(Span(eth), cfg);
  ASSERT_EQ(r.error, DecapError::kOk);
  EXPECT_EQ(r.link_type, LinkType::kEthernet);
  EXPECT_EQ(ToBytes(r.inner), inner);
  EXPECT_EQ(r.meta.type, TunnelType::kGeneve);
  EXPECT_EQ(r.meta.vni.value().value(), 9u);
  EXPECT_EQ(r.meta.geneve_protocol, 0x6558);
  const Bytes ip(inner.begin() + 14, inner.end());
  for (uint16_t proto : {kEtherTypeIpv4, kEtherTypeIpv6}) {
    const Bytes d = GeneveDatagram(proto, 9, kGwlbOptions, 3, ip);
    r = Decapsulate(Span(d), cfg);
    ASSERT_EQ(r.error, DecapError::kOk);
    EXPECT_EQ(r.link_type, LinkType::kRaw);
    EXPECT_EQ(ToBytes(r.inner), ip);
    EXPECT_EQ(r.meta.geneve_options.data, d.data() + 8);
    EXPECT_EQ(r.meta.geneve_options.size, 32u);  // 3 headers + 8 + 8 + 4
  }
  r = Decapsulate(Span(GeneveDatagram(0x1234, 9, nullptr, 0, inner)), cfg);
  EXPECT_EQ(r.error, DecapError::kUnsupportedProtocol);
  EXPECT_TRUE(r.inner.empty());
}

TEST(DecapTest, GeneveErrorsMapToDecapErrors) {
  const DecapConfig cfg = Mode("geneve");
  Bytes d = GeneveDatagram(0x6558, 9, kGwlbOptions, 3, InnerFrame());
  for (size_t n = 0; n < 8 + 32 + kEthernetHeaderSize; ++n) {
    EXPECT_EQ(Decapsulate(ByteSpan(d.data(), n), cfg).error, DecapError::kTruncated) << n;
  }
  Bytes bad = d;
  bad[0] |= 0x40;  // version 1
  EXPECT_EQ(Decapsulate(Span(bad), cfg).error, DecapError::kBadGeneveVersion);
  bad = d;
  bad[8 + 3] = 0x1f;  // first option claims 31 words
  EXPECT_EQ(Decapsulate(Span(bad), cfg).error, DecapError::kGeneveOptionOverrun);
  bad = d;
  bad[8 + 1] = 0x09;  // class 0x0109, type 0x81: critical and unknown
  bad[8 + 2] = 0x81;
  EXPECT_EQ(Decapsulate(Span(bad), cfg).error, DecapError::kUnknownCriticalOption);
  DecapConfig accept = cfg;
  accept.accept_unknown_critical = true;
  EXPECT_EQ(Decapsulate(Span(bad), accept).error, DecapError::kOk);
  const GeneveOptionKey known[] = {{0x0109, 0x81}};
  DecapConfig custom = cfg;
  custom.geneve_known = known;
  custom.geneve_known_count = 1;
  EXPECT_EQ(Decapsulate(Span(bad), custom).error, DecapError::kOk);
  // The AWS GWLB class is known by default even with the critical bit.
  bad[8 + 1] = 0x08;
  EXPECT_EQ(Decapsulate(Span(bad), cfg).error, DecapError::kOk);
}

TEST(DecapTest, GeneveVxlanOverIpv4AndIpv6) {
  const Bytes inner = InnerFrame();
  for (bool v6 : {false, true}) {
    const Bytes d = GwlbDatagram(v6, inner);
    const DecapResult r = Decapsulate(Span(d), Mode("geneve+vxlan"));
    ASSERT_EQ(r.error, DecapError::kOk) << v6;
    EXPECT_EQ(ToBytes(r.inner), inner);
    EXPECT_EQ(r.inner.data + r.inner.size, d.data() + d.size());
    EXPECT_EQ(r.link_type, LinkType::kEthernet);
    EXPECT_EQ(r.meta.type, TunnelType::kGeneveVxlan);
    EXPECT_EQ(r.meta.vni.value().value(), 300u);
    EXPECT_EQ(r.meta.outer_vni.value().value(), 7u);
    EXPECT_EQ(r.meta.geneve_protocol, v6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
    // The options are the GWLB ones, in order.
    GeneveOptionIterator it(r.meta.geneve_options);
    GeneveOption o;
    for (uint8_t type = 1; type <= 3; ++type) {
      ASSERT_EQ(it.Next(&o), GeneveError::kOk);
      EXPECT_EQ(o.option_class, kGeneveClassAwsGwlb);
      EXPECT_EQ(o.type, type);
    }
    EXPECT_TRUE(it.Done());
    // Plain "geneve" mode hands out the IP packet instead.
    const DecapResult g = Decapsulate(Span(d), Mode("geneve"));
    ASSERT_EQ(g.error, DecapError::kOk);
    EXPECT_EQ(g.link_type, LinkType::kRaw);
  }
}

// A whole AWS GWLB frame: outer Ethernet/IPv6/UDP 6081, GENEVE (protocol IPv4, GWLB options),
// IPv4/UDP 4789, VXLAN, Ethernet; built with the encapsulation builder, read from the outside.
TEST(DecapTest, GeneveVxlanFrameOverIpv6) {
  const Bytes inner = InnerFrame();
  const Bytes vx = VxlanFrame(false, 300, inner);
  const Bytes mid(vx.begin() + kEthernetHeaderSize, vx.end());  // IPv4/UDP/VXLAN/inner
  OuterSpec outer;
  outer.src = Endpoint6(1, 55555);
  outer.dst = Endpoint6(2, kGeneveDefaultPort);
  EncapSpec spec;
  spec.mode = EncapMode::kGeneve;
  spec.vni = Vni::FromMasked(7);
  spec.geneve_protocol = kEtherTypeIpv4;
  spec.options = kGwlbOptions;
  spec.option_count = 3;
  Bytes f(EncapsulatedFrameSize(outer, spec, mid.size()));
  ByteWriter w(f.data(), f.size());
  ASSERT_TRUE(WriteEncapsulatedFrame(outer, spec, Span(mid), &w));
  const DecapResult r =
      DecapsulateFrame(Span(f), LinkType::kEthernet, kGeneveDefaultPort, Mode("geneve+vxlan"));
  ASSERT_EQ(r.error, DecapError::kOk);
  EXPECT_EQ(ToBytes(r.inner), inner);
  EXPECT_EQ(r.meta.vni.value().value(), 300u);
  EXPECT_EQ(r.meta.outer_vni.value().value(), 7u);
  EXPECT_EQ(r.meta.outer_src.family, 6);
  EXPECT_EQ(r.meta.outer_src.port, 55555);
  EXPECT_EQ(r.meta.outer_dst.addr[15], 2);
}

TEST(DecapTest, GeneveVxlanTruncatedAtEveryShorterLength) {
  const Bytes inner = InnerFrame();
  for (bool v6 : {false, true}) {
    const Bytes d = GwlbDatagram(v6, inner);
    for (size_t n = 0; n < d.size(); ++n) {
      const DecapResult r = Decapsulate(ByteSpan(d.data(), n), Mode("geneve+vxlan"));
      EXPECT_EQ(r.error, DecapError::kTruncated) << v6 << " " << n;
      EXPECT_TRUE(r.inner.empty());
    }
  }
}

TEST(DecapTest, GeneveVxlanRejectsWhatCannotReachVxlan) {
  const Bytes inner = InnerFrame();
  const DecapConfig cfg = Mode("geneve+vxlan");
  const size_t ip_at = 8 + 32;  // GENEVE header + GWLB options
  // Ethernet protocol: not the GWLB shape.
  EXPECT_EQ(Decapsulate(Span(GeneveDatagram(0x6558, 1, nullptr, 0, inner)), cfg).error,
            DecapError::kUnsupportedProtocol);
  // IPv4 carrying TCP (protocol 6) instead of UDP; fix the header checksum so only that differs.
  Bytes d = GwlbDatagram(false, inner);
  d[ip_at + 9] = 6;
  d[ip_at + 10] = d[ip_at + 11] = 0;
  uint16_t csum = InternetChecksum(d.data() + ip_at, 20);
  d[ip_at + 10] = static_cast<uint8_t>(csum >> 8);
  d[ip_at + 11] = static_cast<uint8_t>(csum);
  EXPECT_EQ(Decapsulate(Span(d), cfg).error, DecapError::kInnerNotUdp);
  // An IPv4 fragment (MF set).
  d = GwlbDatagram(false, inner);
  d[ip_at + 6] |= 0x20;
  d[ip_at + 10] = d[ip_at + 11] = 0;
  csum = InternetChecksum(d.data() + ip_at, 20);
  d[ip_at + 10] = static_cast<uint8_t>(csum >> 8);
  d[ip_at + 11] = static_cast<uint8_t>(csum);
  EXPECT_EQ(Decapsulate(Span(d), cfg).error, DecapError::kInnerFragment);
  // Not an IP packet at all (version nibble 5).
  d = GwlbDatagram(false, inner);
  d[ip_at] = 0x55;
  EXPECT_EQ(Decapsulate(Span(d), cfg).error, DecapError::kBadInnerIp);
  // IPv6 with a next header other than UDP.
  d = GwlbDatagram(true, inner);
  d[ip_at + 6] = 6;
  EXPECT_EQ(Decapsulate(Span(d), cfg).error, DecapError::kInnerNotUdp);
}

TEST(DecapTest, RawUsesConfiguredLinkType) {
  const Bytes ip = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  DecapConfig cfg = Mode("raw");
  cfg.raw_link_type = LinkType::kRaw;
  DecapResult r = Decapsulate(Span(ip), cfg);
  ASSERT_EQ(r.error, DecapError::kOk);
  EXPECT_EQ(r.inner.data, ip.data());
  EXPECT_EQ(r.inner.size, ip.size());
  EXPECT_EQ(r.link_type, LinkType::kRaw);
  EXPECT_EQ(r.meta.type, TunnelType::kRaw);
  EXPECT_FALSE(r.meta.vni.has_value());
  cfg.raw_link_type = LinkType::kLinuxSll;
  EXPECT_EQ(Decapsulate(Span(ip), cfg).link_type, LinkType::kLinuxSll);
  EXPECT_EQ(Decapsulate(ByteSpan(), cfg).error, DecapError::kTruncated);
}

TEST(DecapTest, SkipDropsLeadingBytes) {
  const Bytes inner = InnerFrame();
  Bytes d = {0xaa, 0xbb, 0xcc};
  d.insert(d.end(), inner.begin(), inner.end());
  DecapConfig cfg = Mode("skip=3");
  DecapResult r = Decapsulate(Span(d), cfg);
  ASSERT_EQ(r.error, DecapError::kOk);
  EXPECT_EQ(r.inner.data, d.data() + 3);
  EXPECT_EQ(ToBytes(r.inner), inner);
  EXPECT_EQ(r.link_type, LinkType::kEthernet);
  EXPECT_EQ(r.meta.type, TunnelType::kSkip);
  for (size_t n = 0; n <= 3; ++n) {
    EXPECT_EQ(Decapsulate(ByteSpan(d.data(), n), cfg).error, DecapError::kTruncated) << n;
  }
  EXPECT_EQ(Decapsulate(ByteSpan(d.data(), 4), cfg).inner.size, 1u);
  cfg = Mode("skip=0");
  EXPECT_EQ(Decapsulate(Span(d), cfg).inner.size, d.size());
}

TEST(DecapTest, FrameOverIpv4AndIpv6FillsOuterEndpoints) {
  const Bytes inner = InnerFrame();
  for (bool v6 : {false, true}) {
    const Bytes f = VxlanFrame(v6, 77, inner);
    const DecapResult r =
        DecapsulateFrame(Span(f), LinkType::kEthernet, kVxlanDefaultPort, DecapConfig());
    ASSERT_EQ(r.error, DecapError::kOk);
    EXPECT_EQ(ToBytes(r.inner), inner);
    EXPECT_EQ(r.meta.vni.value().value(), 77u);
    EXPECT_EQ(r.meta.outer_src.family, v6 ? 6 : 4);
    EXPECT_EQ(r.meta.outer_src.port, 40000);
    EXPECT_EQ(r.meta.outer_dst.port, kVxlanDefaultPort);
    EXPECT_EQ(r.meta.outer_src.addr[v6 ? 15 : 3], 1);
    EXPECT_EQ(r.meta.outer_dst.addr[v6 ? 15 : 3], 2);
    // Port filter; 0 = any.
    EXPECT_EQ(DecapsulateFrame(Span(f), LinkType::kEthernet, 4790, DecapConfig()).error,
              DecapError::kNotTunnelPort);
    EXPECT_EQ(DecapsulateFrame(Span(f), LinkType::kEthernet, 0, DecapConfig()).error,
              DecapError::kOk);
    // The same datagram without its Ethernet header, as LINKTYPE_RAW.
    const ByteSpan ip(f.data() + kEthernetHeaderSize, f.size() - kEthernetHeaderSize);
    const DecapResult raw = DecapsulateFrame(ip, LinkType::kRaw, 0, DecapConfig());
    ASSERT_EQ(raw.error, DecapError::kOk);
    EXPECT_EQ(ToBytes(raw.inner), inner);
    EXPECT_EQ(DecapsulateFrame(ip, LinkType::kLinuxSll, 0, DecapConfig()).error,
              DecapError::kUnsupportedLinkType);
    // Every shorter capture fails (cut in the outer headers or inside the tunnel).
    for (size_t n = 0; n < f.size(); ++n) {
      const DecapResult t =
          DecapsulateFrame(ByteSpan(f.data(), n), LinkType::kEthernet, 0, DecapConfig());
      EXPECT_EQ(t.error, DecapError::kTruncated) << v6 << " " << n;
      EXPECT_TRUE(t.inner.empty());
    }
  }
}

// Outer IPv6 with a Fragment extension header: an atomic fragment (offset 0, no MF) still
// carries the UDP header; a later fragment does not, and is not mistaken for one.
TEST(DecapTest, FrameOverIpv6FragmentHeader) {
  const Bytes inner = InnerFrame();
  const Bytes f = VxlanFrame(true, 12, inner);
  const size_t ip = kEthernetHeaderSize;
  for (uint16_t offset_words : {0, 1}) {
    Bytes g(f.begin(), f.begin() + ip + 40);
    const uint8_t frag[8] = {17,
                             0,
                             static_cast<uint8_t>(offset_words >> 5),
                             static_cast<uint8_t>(offset_words << 3),
                             0,
                             0,
                             0,
                             9};
    g.insert(g.end(), frag, frag + 8);
    g.insert(g.end(), f.begin() + ip + 40, f.end());
    g[ip + 6] = 44;  // Next Header: Fragment
    StoreBe16(g.data() + ip + 4, static_cast<uint16_t>(LoadBe16(g.data() + ip + 4) + 8));
    const DecapResult r = DecapsulateFrame(Span(g), LinkType::kEthernet, 0, DecapConfig());
    if (offset_words == 0) {
      ASSERT_EQ(r.error, DecapError::kOk);
      EXPECT_EQ(ToBytes(r.inner), inner);
    } else {
      EXPECT_EQ(r.error, DecapError::kBadOuterHeaders);
    }
  }
}

TEST(DecapTest, FrameWithVlanTagsAndNonUdp) {
  const Bytes inner = InnerFrame();
  Bytes f = VxlanFrame(false, 3, inner);
  // Insert an 802.1Q tag (VID 100) after the MAC addresses.
  const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x64};
  f.insert(f.begin() + 12, tag, tag + 4);
  DecapResult r = DecapsulateFrame(Span(f), LinkType::kEthernet, 0, DecapConfig());
  ASSERT_EQ(r.error, DecapError::kOk);
  EXPECT_EQ(ToBytes(r.inner), inner);
  // ARP outer EtherType: not IP.
  Bytes arp = VxlanFrame(false, 3, inner);
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_EQ(DecapsulateFrame(Span(arp), LinkType::kEthernet, 0, DecapConfig()).error,
            DecapError::kBadOuterHeaders);
}

}  // namespace
}  // namespace pktkit
