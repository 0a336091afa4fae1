#include "pktkit/wire/encap.h"

#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pktkit/wire/checksum.h"
#include "pktkit/wire/decap.h"

namespace pktkit {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes InnerFrame(size_t n) {
  Bytes f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00};
  for (int i = 0; f.size() < n; ++i) f.push_back(static_cast<uint8_t>(i * 7));
  return f;
}

OuterSpec Outer(bool v6) {
  OuterSpec o;
  const uint8_t smac[6] = {0x02, 0xaa, 0, 0, 0, 1};
  const uint8_t dmac[6] = {0x02, 0xbb, 0, 0, 0, 2};
  std::memcpy(o.src_mac, smac, 6);
  std::memcpy(o.dst_mac, dmac, 6);
  o.src.family = o.dst.family = v6 ? 6 : 4;
  if (v6) {
    o.src.addr[0] = o.dst.addr[0] = 0xfd;
    o.src.addr[15] = 1;
    o.dst.addr[15] = 2;
  } else {
    const uint8_t s[4] = {192, 0, 2, 1}, d[4] = {192, 0, 2, 2};
    std::memcpy(o.src.addr, s, 4);
    std::memcpy(o.dst.addr, d, 4);
  }
  o.src.port = 51000;
  o.ip_id = 0x1234;
  return o;
}

const uint8_t kOpt1[8] = {1, 2, 3, 4, 5, 6, 7, 8};
const uint8_t kOpt2[4] = {0xc0, 0xff, 0xee, 0x01};
const GeneveOptionSpec kOptions[] = {
    {kGeneveClassAwsGwlb, 1, ByteSpan(kOpt1, 8)},
    {kGeneveClassAwsGwlb, 3, ByteSpan(kOpt2, 4)},
};

EncapSpec Spec(EncapMode mode, uint32_t vni) {
  EncapSpec s;
  s.mode = mode;
  s.vni = Vni::FromMasked(vni);
  if (mode == EncapMode::kGeneve) {
    s.options = kOptions;
    s.option_count = 2;
  }
  return s;
}

Bytes Build(OuterSpec outer, const EncapSpec& spec, const Bytes& inner) {
  outer.dst.port = spec.mode == EncapMode::kVxlan ? kVxlanDefaultPort : kGeneveDefaultPort;
  Bytes f(EncapsulatedFrameSize(outer, spec, inner.size()));
  EXPECT_FALSE(f.empty());
  ByteWriter w(f.data(), f.size());
  EXPECT_TRUE(WriteEncapsulatedFrame(outer, spec, ByteSpan(inner.data(), inner.size()), &w));
  EXPECT_EQ(w.size(), f.size());
  return f;
}

TEST(EncapTest, VxlanTunnelHeaderBytes) {
  const EncapSpec spec = Spec(EncapMode::kVxlan, 0xabcdef);
  EXPECT_EQ(TunnelHeaderSize(spec), 8u);
  uint8_t b[8];
  ByteWriter w(b, sizeof b);
  ASSERT_TRUE(WriteTunnelHeader(spec, &w));
  const uint8_t want[8] = {0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0};
  EXPECT_EQ(Bytes(b, b + 8), Bytes(want, want + 8));
  ByteWriter short_w(b, 7);
  EXPECT_FALSE(WriteTunnelHeader(spec, &short_w));
}

TEST(EncapTest, GeneveTunnelHeaderBytes) {
  const EncapSpec spec = Spec(EncapMode::kGeneve, 0x000102);
  ASSERT_EQ(TunnelHeaderSize(spec), 8u + 12 + 8);
  uint8_t b[28];
  ByteWriter w(b, sizeof b);
  ASSERT_TRUE(WriteTunnelHeader(spec, &w));
  const uint8_t want[28] = {0x05, 0x00, 0x65, 0x58, 0x00, 0x01, 0x02, 0x00,  // Opt Len 5 words
                            0x01, 0x08, 0x01, 0x02, 1,    2,    3,    4,
                            5,    6,    7,    8,  // 2 data words
                            0x01, 0x08, 0x03, 0x01, 0xc0, 0xff, 0xee, 0x01};
  EXPECT_EQ(Bytes(b, b + 28), Bytes(want, want + 28));
}

TEST(EncapTest, InvalidSpecsHaveNoSize) {
  EncapSpec raw = Spec(EncapMode::kRaw, 1);
  EXPECT_EQ(TunnelHeaderSize(raw), 0u);
  uint8_t b[300];
  ByteWriter w(b, sizeof b);
  EXPECT_FALSE(WriteTunnelHeader(raw, &w));
  const uint8_t odd[3] = {};
  const GeneveOptionSpec bad[] = {{1, 1, ByteSpan(odd, 3)}};
  EncapSpec g = Spec(EncapMode::kGeneve, 1);
  g.options = bad;
  g.option_count = 1;
  EXPECT_EQ(TunnelHeaderSize(g), 0u);
  OuterSpec mixed = Outer(false);
  mixed.dst.family = 6;
  EXPECT_EQ(EncapsulatedFrameSize(mixed, Spec(EncapMode::kVxlan, 1), 60), 0u);
  OuterSpec none;
  EXPECT_EQ(EncapsulatedFrameSize(none, Spec(EncapMode::kVxlan, 1), 60), 0u);
  // IPv4 total length: 20 + 8 + 8 + inner <= 65535.
  EXPECT_NE(EncapsulatedFrameSize(Outer(false), Spec(EncapMode::kVxlan, 1), 65535 - 36), 0u);
  EXPECT_EQ(EncapsulatedFrameSize(Outer(false), Spec(EncapMode::kVxlan, 1), 65535 - 35), 0u);
  // IPv6 payload length excludes the 40-byte header: 8 + 8 + inner <= 65535.
  EXPECT_NE(EncapsulatedFrameSize(Outer(true), Spec(EncapMode::kVxlan, 1), 65535 - 16), 0u);
  EXPECT_EQ(EncapsulatedFrameSize(Outer(true), Spec(EncapMode::kVxlan, 1), 65535 - 15), 0u);
}

TEST(EncapTest, ShortCapacityFailsWithoutOverrun) {
  const Bytes inner = InnerFrame(60);
  const EncapSpec spec = Spec(EncapMode::kGeneve, 1);
  const OuterSpec outer = Outer(true);
  const size_t n = EncapsulatedFrameSize(outer, spec, inner.size());
  Bytes buf(n + 1, 0xee);
  for (size_t cap = 0; cap < n; ++cap) {
    ByteWriter w(buf.data(), cap);
    EXPECT_FALSE(WriteEncapsulatedFrame(outer, spec, ByteSpan(inner.data(), inner.size()), &w));
    EXPECT_EQ(buf[n], 0xee);
  }
}

// Frame → DecapsulateFrame gives back the inner frame, VNI and options; every checksum verifies.
TEST(EncapTest, FullFrameRoundTripsThroughDecap) {
  for (bool v6 : {false, true}) {
    for (EncapMode mode : {EncapMode::kVxlan, EncapMode::kGeneve}) {
      for (size_t len : {14, 60, 1500, 9000}) {
        const Bytes inner = InnerFrame(len);
        const EncapSpec spec = Spec(mode, 0xffffff);
        const Bytes f = Build(Outer(v6), spec, inner);
        DecapConfig cfg;
        cfg.mode = mode;
        const uint16_t port = mode == EncapMode::kVxlan ? kVxlanDefaultPort : kGeneveDefaultPort;
        const DecapResult r =
            DecapsulateFrame(ByteSpan(f.data(), f.size()), LinkType::kEthernet, port, cfg);
        ASSERT_EQ(r.error, DecapError::kOk) << v6 << " " << len;
        EXPECT_EQ(Bytes(r.inner.begin(), r.inner.end()), inner);
        EXPECT_EQ(r.meta.vni.value().value(), 0xffffffu);
        EXPECT_EQ(r.meta.outer_src.port, 51000);
        if (mode == EncapMode::kGeneve) {
          EXPECT_EQ(r.meta.geneve_options.size, 20u);
          GeneveOptionIterator it(r.meta.geneve_options);
          GeneveOption o;
          ASSERT_EQ(it.Next(&o), GeneveError::kOk);
          EXPECT_EQ(Bytes(o.data.begin(), o.data.end()), Bytes(kOpt1, kOpt1 + 8));
          ASSERT_EQ(it.Next(&o), GeneveError::kOk);
          EXPECT_EQ(o.type, 3);
          EXPECT_EQ(Bytes(o.data.begin(), o.data.end()), Bytes(kOpt2, kOpt2 + 4));
        }
        // Checksums: IPv4 header sums to 0; UDP with its pseudo-header sums to 0.
        const size_t ip_len = v6 ? 40 : 20;
        const uint8_t* ip = f.data() + 14;
        const uint8_t* udp = ip + ip_len;
        const size_t udp_len = f.size() - 14 - ip_len;
        EXPECT_EQ(LoadBe16(udp + 4), udp_len);
        ChecksumAccumulator sum;
        if (v6) {
          EXPECT_EQ(LoadBe16(ip + 4), udp_len);  // payload length
          sum.AddIpv6PseudoHeader(ip + 8, ip + 24, static_cast<uint32_t>(udp_len), 17);
        } else {
          EXPECT_EQ(LoadBe16(ip + 2), 20 + udp_len);  // total length
          EXPECT_EQ(InternetChecksum(ip, 20), 0);
          EXPECT_EQ(LoadBe16(ip + 4), 0x1234);  // identification
          sum.AddIpv4PseudoHeader(ip + 12, ip + 16, static_cast<uint16_t>(udp_len), 17);
        }
        EXPECT_NE(LoadBe16(udp + 6), 0);
        sum.Add(udp, udp_len);
        EXPECT_EQ(sum.Finish(), 0) << v6 << " " << len;
      }
    }
  }
}

TEST(EncapTest, Ipv4UdpChecksumCanBeOmitted) {
  OuterSpec outer = Outer(false);
  outer.udp_checksum = false;
  const Bytes f = Build(outer, Spec(EncapMode::kVxlan, 1), InnerFrame(60));
  EXPECT_EQ(LoadBe16(f.data() + 14 + 20 + 6), 0);
  // IPv6 ignores the request (RFC 8200 §8.1).
  OuterSpec outer6 = Outer(true);
  outer6.udp_checksum = false;
  const Bytes f6 = Build(outer6, Spec(EncapMode::kVxlan, 1), InnerFrame(60));
  EXPECT_NE(LoadBe16(f6.data() + 14 + 40 + 6), 0);
}

// Runs a command and returns its standard output.
std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Wireshark's dissectors, independent of ours, read our frames the same way.
TEST(EncapTest, TsharkAgreesWithEncapsulatedFrames) {
  if (RunCommand("command -v tshark").empty()) GTEST_SKIP() << "tshark not installed";
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/encap_tshark.pcap";
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  ASSERT_NE(dead, nullptr);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(d, nullptr) << pcap_geterr(dead);
  Bytes frames[] = {Build(Outer(false), Spec(EncapMode::kVxlan, 0x123456), InnerFrame(60)),
                    Build(Outer(true), Spec(EncapMode::kGeneve, 0xfedcba), InnerFrame(98)),
                    Build(Outer(false), Spec(EncapMode::kVxlan, 1), InnerFrame(60))};
  frames[2].back() ^= 0x01;  // one flipped inner bit: tshark must call that UDP checksum bad
  for (const Bytes& f : frames) {
    pcap_pkthdr h = {};
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
  const std::string out = RunCommand(
      "HOME=\"${TEST_TMPDIR:-/tmp}\" tshark -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE "
      "-r '" +
      path +
      "' -T fields -E separator=, -e vxlan.vni -e geneve.vni -e geneve.option.class "
      "-e geneve.option.type -e udp.checksum.status -e ip.checksum.status -e eth.type "
      "2>/dev/null");
  // Frame 1: VXLAN VNI 0x123456 = 1193046, UDP and IPv4 checksums good (Wireshark's checksum
  // status 1 = good, 0 = bad), inner EtherType IPv4.
  // Frame 2: GENEVE VNI 0xfedcba, options class 0x0108 types 1 and 3, UDP checksum good.
  EXPECT_EQ(out,
            "1193046,,,,1,1,0x0800,0x0800\n"
            ",0xfedcba,0x0108,0x0108,0x01,0x03,1,,0x86dd,0x0800\n"
            "1,,,,0,1,0x0800,0x0800\n")
      << out;
}

}  // namespace
}  // namespace pktkit
