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

// The per-destination template must write exactly what the full builder writes, for every
// family, tunnel, checksum policy, option set, source port, IPv4 id and inner size.
TEST(EncapTemplateTest, ByteIdenticalToBuilderOverRandomPackets) {
  uint64_t rng = 0x9e3779b97f4a7c15ULL;
  auto next = [&rng] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  // Option sets: none, the two above, and 252 bytes (the most GENEVE carries).
  static uint8_t big[120];
  for (size_t i = 0; i < sizeof big; ++i) big[i] = static_cast<uint8_t>(i * 13 + 1);
  const GeneveOptionSpec big_opts[] = {{0x0101, 0x7f, ByteSpan(big, 120)},
                                       {0xffff, 0x80, ByteSpan(big, 116)},
                                       {0x0000, 0x01, ByteSpan(big, 4)}};
  size_t compared = 0;
  for (int round = 0; round < 4000; ++round) {
    const bool v6 = (next() & 1) != 0;
    const bool geneve = (next() & 1) != 0;
    OuterSpec outer = Outer(v6);
    outer.udp_checksum = (next() & 1) != 0;
    outer.ttl = static_cast<uint8_t>(next());
    outer.tos = static_cast<uint8_t>(next());
    for (size_t i = 0; i < 16; ++i) {
      outer.src.addr[i] = static_cast<uint8_t>(next());
      outer.dst.addr[i] = static_cast<uint8_t>(next());
    }
    outer.dst.port = static_cast<uint16_t>(next());
    EncapSpec spec = Spec(geneve ? EncapMode::kGeneve : EncapMode::kVxlan,
                          static_cast<uint32_t>(next()) & 0xffffff);
    if (geneve) {
      const uint64_t pick = next() % 3;
      spec.options = pick == 2 ? big_opts : kOptions;
      spec.option_count = pick == 0 ? 0 : pick == 1 ? 2 : 3;
      spec.geneve_oam = (next() & 1) != 0;
      spec.geneve_protocol = static_cast<uint16_t>(next());
    }
    EncapTemplate t;
    ASSERT_TRUE(t.Init(outer, spec));
    static const size_t kSizes[] = {0, 1, 14, 63, 64, 65, 512, 1500, 9000, 65000};
    size_t n = (next() & 1) != 0 ? kSizes[next() % 10] : next() % 9100;
    Bytes inner(n);
    for (uint8_t& b : inner) b = static_cast<uint8_t>(next());
    outer.src.port = static_cast<uint16_t>(next());
    outer.ip_id = static_cast<uint16_t>(next());
    const size_t want = EncapsulatedFrameSize(outer, spec, n);
    ASSERT_EQ(t.FrameSize(n), want) << "round " << round << " inner " << n;
    if (want == 0) continue;
    Bytes a(want), b(want);
    ByteWriter wa(a.data(), a.size()), wb(b.data(), b.size());
    ASSERT_TRUE(WriteEncapsulatedFrame(outer, spec, ByteSpan(inner.data(), n), &wa));
    ASSERT_TRUE(t.WriteFrame(outer.src.port, outer.ip_id, ByteSpan(inner.data(), n), &wb));
    ASSERT_EQ(wb.size(), want);
    ASSERT_EQ(a, b) << "round " << round << " v6 " << v6 << " geneve " << geneve << " inner "
                    << n << " csum " << outer.udp_checksum;
    ++compared;
  }
  EXPECT_GT(compared, 3900u);
}

// Every IPv4 id against every few total lengths: the incremental checksum (RFC 1624) never
// differs from a full recomputation, including where the sum folds to 0xffff (-0).
TEST(EncapTemplateTest, IncrementalIpv4ChecksumMatchesFullForEveryId) {
  OuterSpec outer = Outer(false);
  outer.udp_checksum = false;
  const EncapSpec spec = Spec(EncapMode::kVxlan, 7);
  EncapTemplate t;
  ASSERT_TRUE(t.Init(outer, spec));
  Bytes inner(1500, 0xab);
  Bytes frame(t.FrameSize(inner.size()));
  for (uint32_t id = 0; id <= 0xffff; ++id) {
    const size_t n = (id * 37u) % 1500;
    ASSERT_TRUE(t.WriteHeaders(1234, static_cast<uint16_t>(id), ByteSpan(inner.data(), n),
                               frame.data()));
    const uint8_t* ip = frame.data() + 14;
    ASSERT_EQ(InternetChecksum(ip, 20), 0) << "id " << id << " inner " << n;
    Bytes ip_copy(ip, ip + 20);
    ip_copy[10] = ip_copy[11] = 0;
    ASSERT_EQ(LoadBe16(ip + 10), InternetChecksum(ip_copy.data(), 20)) << "id " << id;
  }
}

TEST(EncapTemplateTest, ZeroUdpChecksumOverIpv4ButAlwaysOneOverIpv6) {
  const Bytes inner = InnerFrame(100);
  for (bool v6 : {false, true}) {
    OuterSpec outer = Outer(v6);
    outer.udp_checksum = false;  // honoured over IPv4 only
    EncapTemplate t;
    ASSERT_TRUE(t.Init(outer, Spec(EncapMode::kVxlan, 1)));
    EXPECT_EQ(t.writes_udp_checksum(), v6);
    Bytes f(t.FrameSize(inner.size()));
    ByteWriter w(f.data(), f.size());
    ASSERT_TRUE(t.WriteFrame(4000, 9, ByteSpan(inner.data(), inner.size()), &w));
    const uint16_t csum = LoadBe16(f.data() + t.udp_offset() + 6);
    if (v6) {
      EXPECT_NE(csum, 0);
    } else {
      EXPECT_EQ(csum, 0);
    }
  }
}

TEST(EncapTemplateTest, RejectsWhatTheBuilderRejects) {
  EncapTemplate t;
  OuterSpec mixed = Outer(false);
  mixed.dst.family = 6;
  EXPECT_FALSE(t.Init(mixed, Spec(EncapMode::kVxlan, 1)));
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(t.FrameSize(10), 0u);
  EncapSpec bad = Spec(EncapMode::kRaw, 1);
  EXPECT_FALSE(t.Init(Outer(false), bad));
  ASSERT_TRUE(t.Init(Outer(false), Spec(EncapMode::kVxlan, 1)));
  // IPv4 total length must fit 16 bits: 20 + 8 + 8 + inner <= 65535.
  EXPECT_EQ(t.FrameSize(65535 - 36), 14u + 65535u);
  EXPECT_EQ(t.FrameSize(65535 - 35), 0u);
  uint8_t small[8];
  ByteWriter w(small, sizeof small);
  const Bytes inner = InnerFrame(64);
  EXPECT_FALSE(t.WriteFrame(1, 1, ByteSpan(inner.data(), inner.size()), &w));
  EXPECT_FALSE(w.ok());
}

}  // namespace
}  // namespace pktkit
