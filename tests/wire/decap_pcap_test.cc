// Real captures (../shared/pcaps, from Zeek's test suite) through DecapsulateFrame. Expected
// values were read off `tshark -r <file> -V` (Wireshark's independent dissectors).
#include <pcap/pcap.h>

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pktkit/wire/decap.h"
#include "pktkit/wire/geneve.h"
#include "tests/testing/shared_pcaps.h"

namespace pktkit {
namespace {

using Bytes = std::vector<uint8_t>;

struct Frame {
  Bytes bytes;
  uint32_t wire_len = 0;
};

// Reads every frame of a pcap or pcapng file; fails the test (not skip) if it is missing.
std::vector<Frame> ReadCapture(const std::string& name, int* dlt) {
  const std::string path = "../shared_pcaps/" + name;
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  std::vector<Frame> frames;
  EXPECT_NE(p, nullptr) << path << ": " << err;
  if (p == nullptr) return frames;
  *dlt = pcap_datalink(p);
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(p, &h, &data) == 1) {
    frames.push_back(Frame{Bytes(data, data + h->caplen), h->len});
  }
  pcap_close(p);
  return frames;
}

DecapConfig Mode() {
  DecapConfig cfg;
  cfg.mode = EncapMode::kGeneve;
  return cfg;
}

uint16_t InnerEtherType(ByteSpan inner) { return LoadBe16(inner.data + 12); }
uint16_t InnerIpv4TotalLength(ByteSpan inner) { return LoadBe16(inner.data + 14 + 2); }

TEST(DecapPcapTest, VxlanCapture) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  int dlt = 0;
  const auto frames = ReadCapture("vxlan.pcap", &dlt);
  ASSERT_EQ(dlt, DLT_EN10MB);
  ASSERT_EQ(frames.size(), 10u);
  for (size_t i = 0; i < frames.size(); ++i) {
    const Bytes& f = frames[i].bytes;
    const DecapResult r = DecapsulateFrame(ByteSpan(f.data(), f.size()), LinkType::kEthernet,
                                           kVxlanDefaultPort, DecapConfig());
    ASSERT_EQ(r.error, DecapError::kOk) << i;
    EXPECT_EQ(r.meta.vni.value().value(), 123u);
    EXPECT_EQ(r.link_type, LinkType::kEthernet);
    EXPECT_EQ(r.meta.outer_src.family, 4);
    EXPECT_EQ(r.meta.outer_dst.port, 4789);
    EXPECT_EQ(r.inner.data + r.inner.size, f.data() + f.size());
    EXPECT_EQ(r.inner.size, f.size() - 50);  // Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8
    if (i < 2) {
      EXPECT_EQ(InnerEtherType(r.inner), kEtherTypeArp);  // frames 1-2: ARP, 42 bytes
      EXPECT_EQ(r.inner.size, 42u);
    } else {
      EXPECT_EQ(InnerEtherType(r.inner), kEtherTypeIpv4);  // ICMP echo, IPv4 length 84
      EXPECT_EQ(InnerIpv4TotalLength(r.inner) + 14u, r.inner.size);
    }
  }
  // Frame 1: 192.168.56.11 → .12, source port 39924; inner src MAC ba:09:2b:6e:f8:be, ARP.
  const Bytes& f = frames[0].bytes;
  const DecapResult r =
      DecapsulateFrame(ByteSpan(f.data(), f.size()), LinkType::kEthernet, 0, DecapConfig());
  const uint8_t src_ip[4] = {192, 168, 56, 11};
  EXPECT_EQ(Bytes(r.meta.outer_src.addr, r.meta.outer_src.addr + 4), Bytes(src_ip, src_ip + 4));
  EXPECT_EQ(r.meta.outer_src.port, 39924);
  const uint8_t inner_src[6] = {0xba, 0x09, 0x2b, 0x6e, 0xf8, 0xbe};
  EXPECT_EQ(Bytes(r.inner.data + 6, r.inner.data + 12), Bytes(inner_src, inner_src + 6));
  // VXLAN's first byte (0x08) also reads as GENEVE version 0, so the port filter is what keeps
  // the modes apart on a capture: asking for GENEVE's port 6081 matches nothing here.
  EXPECT_EQ(DecapsulateFrame(ByteSpan(f.data(), f.size()), LinkType::kEthernet, kGeneveDefaultPort,
                             Mode())
                .error,
            DecapError::kNotTunnelPort);
}

TEST(DecapPcapTest, GeneveCapture) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  int dlt = 0;
  const auto frames = ReadCapture("geneve.pcap", &dlt);
  ASSERT_EQ(frames.size(), 6u);
  for (size_t i = 0; i < frames.size(); ++i) {
    const Bytes& f = frames[i].bytes;
    const DecapResult r = DecapsulateFrame(ByteSpan(f.data(), f.size()), LinkType::kEthernet,
                                           kGeneveDefaultPort, Mode());
    ASSERT_EQ(r.error, DecapError::kOk) << i;
    EXPECT_EQ(r.meta.type, TunnelType::kGeneve);
    EXPECT_EQ(r.meta.vni.value().value(), 0u);
    EXPECT_EQ(r.meta.geneve_protocol, 0x6558);
    EXPECT_EQ(r.link_type, LinkType::kEthernet);
    EXPECT_EQ(r.inner.size, 98u);  // ICMP echo: 14 + IPv4 length 84
    EXPECT_EQ(InnerIpv4TotalLength(r.inner), 84);
    // Frames 1, 3, 5 (from 20.0.0.1): one 8-byte option, class 0 type 0; the replies: none.
    if (i % 2 == 0) {
      ASSERT_EQ(r.meta.geneve_options.size, 8u);
      GeneveOptionIterator it(r.meta.geneve_options);
      GeneveOption o;
      ASSERT_EQ(it.Next(&o), GeneveError::kOk);
      EXPECT_EQ(o.option_class, 0);
      EXPECT_EQ(o.type, 0);
      EXPECT_EQ(o.data.size, 4u);
      EXPECT_TRUE(it.Done());
    } else {
      EXPECT_EQ(r.meta.geneve_options.size, 0u);
    }
  }
}

TEST(DecapPcapTest, GeneveManyOptionsCapture) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  int dlt = 0;
  const auto frames = ReadCapture("geneve-many-options.pcap", &dlt);
  ASSERT_EQ(frames.size(), 10u);
  const size_t want_data[3] = {16, 36, 12};  // tshark: lengths 20, 40, 16 with headers
  for (size_t i = 0; i < frames.size(); ++i) {
    const Bytes& f = frames[i].bytes;
    const DecapResult r = DecapsulateFrame(ByteSpan(f.data(), f.size()), LinkType::kEthernet,
                                           kGeneveDefaultPort, Mode());
    ASSERT_EQ(r.error, DecapError::kOk) << i;
    EXPECT_EQ(r.meta.vni.value().value(), 0x0c012eu);
    EXPECT_EQ(r.meta.geneve_options.size, 76u);
    EXPECT_EQ(r.inner.size, f.size() - 126);  // 14 + 20 + 8 + 8 + 76
    EXPECT_EQ(InnerEtherType(r.inner), kEtherTypeIpv4);
    EXPECT_EQ(InnerIpv4TotalLength(r.inner) + 14u, r.inner.size);
    GeneveOptionIterator it(r.meta.geneve_options);
    GeneveOption o;
    for (uint8_t t = 1; t <= 3; ++t) {
      ASSERT_EQ(it.Next(&o), GeneveError::kOk);
      EXPECT_EQ(o.option_class, 0x0100);  // "Linux"
      EXPECT_EQ(o.type, t);
      EXPECT_FALSE(o.critical);
      EXPECT_EQ(o.data.size, want_data[t - 1]);
      if (t == 1) {
        EXPECT_EQ(std::string(o.data.data, o.data.data + 15), "1234567890abcde");
      }
    }
    EXPECT_TRUE(it.Done());
  }
}

TEST(DecapPcapTest, GeneveIpv6Capture) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  int dlt = 0;
  const auto frames = ReadCapture("geneve-ipv6.pcap", &dlt);
  ASSERT_EQ(frames.size(), 2u);
  for (size_t i = 0; i < frames.size(); ++i) {
    const Bytes& f = frames[i].bytes;
    const DecapResult r = DecapsulateFrame(ByteSpan(f.data(), f.size()), LinkType::kEthernet,
                                           kGeneveDefaultPort, Mode());
    ASSERT_EQ(r.error, DecapError::kOk) << i;
    EXPECT_EQ(r.meta.vni.value().value(), 0x123456u);
    EXPECT_EQ(r.meta.geneve_protocol, kEtherTypeIpv6);
    EXPECT_EQ(r.link_type, LinkType::kRaw);
    ASSERT_EQ(r.inner.size, 53u);  // IPv6 40 + UDP 8 + 5 bytes
    EXPECT_EQ(r.inner.data[0] >> 4, 6);
    EXPECT_EQ(r.inner.data[6], 17);  // next header UDP
    // fd00::1 → fd00::2, ports 40000 → 40001, then the reverse.
    EXPECT_EQ(r.inner.data[8 + 15], i == 0 ? 1 : 2);
    EXPECT_EQ(LoadBe16(r.inner.data + 40), 40000 + i);
    EXPECT_EQ(LoadBe16(r.inner.data + 42), 40001 - i);
  }
}

TEST(DecapPcapTest, GeneveTruncatedCapture) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  int dlt = 0;
  const auto frames = ReadCapture("geneve-truncated.pcapng", &dlt);
  ASSERT_EQ(frames.size(), 1u);
  const Frame& f = frames[0];
  EXPECT_EQ(f.bytes.size(), 58u);  // captured 58 of 156 bytes: cut right after the options
  EXPECT_EQ(f.wire_len, 156u);
  const DecapResult r = DecapsulateFrame(ByteSpan(f.bytes.data(), f.bytes.size()),
                                         LinkType::kEthernet, kGeneveDefaultPort, Mode());
  EXPECT_EQ(r.error, DecapError::kTruncated);
  EXPECT_TRUE(r.inner.empty());
  EXPECT_STREQ(DecapErrorName(r.error), "truncated");
}

}  // namespace
}  // namespace pktkit
