// PcapMmapReader against libpcap reading the same files: generated traces (pktkit-gen's
// generator) written by libpcap in microsecond and nanosecond pcap, converted to pcapng by
// editcap, hand-built big-endian pcap and pcapng, every truncated prefix, and the shared real
// captures (../shared/pcaps, skipped with one line when absent).
#include "pktkit/io/pcap_mmap_reader.h"

#include <dirent.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tools/gen/generator.h"

namespace pktkit {
namespace {

using Bytes = std::vector<uint8_t>;

std::string TmpDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t != nullptr ? t : "/tmp";
}

struct Rec {
  Bytes data;
  uint32_t wire_len = 0;
  int64_t ts_ns = 0;
};
struct ReadAll {
  bool opened = false;
  std::vector<Rec> recs;
  bool error_at_end = false;  // damaged (vs clean end)
  int link_type = -1;
};

ReadAll WithLibpcap(const std::string& path) {
  ReadAll out;
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  if (p == nullptr) return out;
  out.opened = true;
  out.link_type = pcap_datalink(p);
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
    out.recs.push_back(Rec{Bytes(d, d + h->caplen), h->len,
                           // 128-bit, truncated like the reader's: fuzz seeds carry
                           // timestamps whose nanoseconds overflow 64 bits.
                           static_cast<int64_t>(static_cast<__int128>(h->ts.tv_sec) * 1000000000 +
                                                h->ts.tv_usec)});
  }
  out.error_at_end = rc != PCAP_ERROR_BREAK;
  pcap_close(p);
  return out;
}

ReadAll WithMmap(const std::string& path) {
  ReadAll out;
  auto r = PcapMmapReader::Open(path);
  if (!r.ok()) return out;
  out.opened = true;
  out.link_type = static_cast<int>((*r)->link_type());
  while (true) {
    absl::StatusOr<PacketBatch> b = (*r)->NextBatch(0);
    if (!b.ok()) {
      out.error_at_end = !absl::IsOutOfRange(b.status());
      EXPECT_TRUE(absl::IsOutOfRange(b.status()) || absl::IsDataLoss(b.status())) << b.status();
      break;
    }
    for (const PacketView& v : *b) {
      EXPECT_EQ(v.ts_source, TimestampSource::kFile);
      EXPECT_GE(v.wire_len, v.caplen);
      out.recs.push_back(Rec{Bytes(v.data, v.data + v.caplen), v.wire_len, v.timestamp_ns});
    }
    (*r)->ReleaseBatch();
  }
  return out;
}

// Both readers agree on every record of `path`; returns the number of packets.
size_t ExpectSame(const std::string& path) {
  SCOPED_TRACE(path);
  const ReadAll a = WithLibpcap(path);
  const ReadAll b = WithMmap(path);
  EXPECT_EQ(a.opened, b.opened);
  if (!a.opened || !b.opened) return 0;
  // DLT_RAW vs LINKTYPE_RAW: libpcap maps 101 to 12 (or 14); everything else is equal.
  if (a.link_type != DLT_RAW) {
    EXPECT_EQ(a.link_type, b.link_type);
  }
  EXPECT_EQ(a.recs.size(), b.recs.size());
  EXPECT_EQ(a.error_at_end, b.error_at_end);
  for (size_t i = 0; i < a.recs.size() && i < b.recs.size(); ++i) {
    EXPECT_EQ(a.recs[i].data, b.recs[i].data) << "packet " << i;
    EXPECT_EQ(a.recs[i].wire_len, b.recs[i].wire_len) << "packet " << i;
    EXPECT_EQ(a.recs[i].ts_ns, b.recs[i].ts_ns) << "packet " << i;
  }
  return a.recs.size();
}

// A generated trace (TCP, HTTP, DNS, ICMP, fragments; VLAN/QinQ; IPv6), plus frames of every
// size class, written by libpcap with the given precision and snap length.
std::string WriteTrace(const std::string& name, int precision, int snaplen, uint64_t seed) {
  gen::GenOptions o;
  o.seed = seed;
  o.flows = 60;
  const std::vector<gen::GenPacket> pkts = gen::Generate(o);
  const std::string path = TmpDir() + "/" + name;
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, snaplen, precision);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  EXPECT_NE(d, nullptr);
  int64_t ts = 1700000000LL * 1000000000LL + 123456789;
  auto dump = [&](const Bytes& f, int64_t t) {
    pcap_pkthdr h = {};
    h.len = static_cast<bpf_u_int32>(f.size());
    h.caplen = f.size() < static_cast<size_t>(snaplen) ? h.len : static_cast<bpf_u_int32>(snaplen);
    h.ts.tv_sec = t / 1000000000;
    h.ts.tv_usec = precision == PCAP_TSTAMP_PRECISION_NANO ? t % 1000000000 : t % 1000000000 / 1000;
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
  };
  for (const gen::GenPacket& p : pkts) dump(p.bytes, p.timestamp_ns);
  for (size_t n : {0, 1, 14, 60, 64, 512, 1500, 9000, 65535}) {
    Bytes f(n);
    for (size_t i = 0; i < n; ++i) f[i] = static_cast<uint8_t>(i * 7 + n);
    dump(f, ts += 1000);
  }
  pcap_dump_close(d);
  pcap_close(dead);
  return path;
}

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void WriteFile(const std::string& path, const Bytes& b) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

TEST(PcapMmapReaderTest, SameAsLibpcapOnGeneratedPcap) {
  EXPECT_GT(ExpectSame(WriteTrace("usec.pcap", PCAP_TSTAMP_PRECISION_MICRO, 262144, 1)), 300u);
  EXPECT_GT(ExpectSame(WriteTrace("nsec.pcap", PCAP_TSTAMP_PRECISION_NANO, 262144, 2)), 300u);
  // Snapped: records cut to 96 bytes, wire length kept.
  EXPECT_GT(ExpectSame(WriteTrace("snap.pcap", PCAP_TSTAMP_PRECISION_NANO, 96, 3)), 300u);
}

TEST(PcapMmapReaderTest, SameAsLibpcapOnPcapngFromEditcap) {
  if (system("command -v editcap >/dev/null 2>&1") != 0) GTEST_SKIP() << "SKIP: no editcap";
  for (int prec : {PCAP_TSTAMP_PRECISION_MICRO, PCAP_TSTAMP_PRECISION_NANO}) {
    const std::string in = WriteTrace("ng_in.pcap", prec, 262144, 7 + prec);
    const std::string out = TmpDir() + "/trace.pcapng";
    ASSERT_EQ(system(("editcap -F pcapng '" + in + "' '" + out + "'").c_str()), 0);
    auto r = PcapMmapReader::Open(out);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE((*r)->pcapng());
    EXPECT_GT(ExpectSame(out), 300u);
  }
}

// Byte order: the same records in a big-endian pcap (nanosecond magic) and a big-endian
// pcapng section with an if_tsresol of 10^-3 and an if_tsoffset, then a second little-endian
// section with a simple packet block.
void Be32(Bytes* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(static_cast<uint8_t>(v >> s));
}
void Le32(Bytes* b, uint32_t v) {
  for (int s = 0; s < 32; s += 8) b->push_back(static_cast<uint8_t>(v >> s));
}
void Be16(Bytes* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}
TEST(PcapMmapReaderTest, BigEndianPcapAndTwoSectionPcapngAsLibpcap) {
  Bytes pcap;
  Be32(&pcap, 0xa1b23c4d);
  Be16(&pcap, 2);
  Be16(&pcap, 4);
  Be32(&pcap, 0);
  Be32(&pcap, 0);
  Be32(&pcap, 65535);
  Be32(&pcap, 1);
  for (uint32_t i = 0; i < 5; ++i) {
    Be32(&pcap, 1700000000 + i);
    Be32(&pcap, 999999999 - i);
    Be32(&pcap, 20 + i);
    Be32(&pcap, 100 + i);
    for (uint32_t k = 0; k < 20 + i; ++k) pcap.push_back(static_cast<uint8_t>(k ^ i));
  }
  const std::string p1 = TmpDir() + "/be.pcap";
  WriteFile(p1, pcap);
  EXPECT_EQ(ExpectSame(p1), 5u);

  Bytes ng;
  auto block = [&ng](bool be, uint32_t type, const Bytes& body) {
    const uint32_t total = static_cast<uint32_t>(12 + body.size());
    (be ? Be32 : Le32)(&ng, type);
    (be ? Be32 : Le32)(&ng, total);
    ng.insert(ng.end(), body.begin(), body.end());
    (be ? Be32 : Le32)(&ng, total);
  };
  Bytes shb;
  Be32(&shb, 0x1a2b3c4d);
  Be16(&shb, 1);
  Be16(&shb, 0);
  for (int i = 0; i < 8; ++i) shb.push_back(0xff);  // section length unknown
  block(true, 0x0a0d0d0a, shb);
  Bytes idb;
  Be16(&idb, 1);
  Be16(&idb, 0);
  Be32(&idb, 0);  // snaplen 0: no limit
  Be16(&idb, 9);  // if_tsresol = 10^-3
  Be16(&idb, 1);
  idb.insert(idb.end(), {3, 0, 0, 0});
  Be16(&idb, 14);  // if_tsoffset = 1000 s
  Be16(&idb, 8);
  Be32(&idb, 0);
  Be32(&idb, 1000);
  Be32(&idb, 0);  // opt_endofopt
  block(true, 1, idb);
  for (uint32_t i = 0; i < 3; ++i) {
    Bytes epb;
    Be32(&epb, 0);
    const uint64_t t = 1700000000123ULL + i;
    Be32(&epb, static_cast<uint32_t>(t >> 32));
    Be32(&epb, static_cast<uint32_t>(t));
    Be32(&epb, 13 + i);
    Be32(&epb, 60);
    for (uint32_t k = 0; k < 13 + i; ++k) epb.push_back(static_cast<uint8_t>(k + i));
    while (epb.size() % 4) epb.push_back(0);
    block(true, 6, epb);
  }
  // A second section (same byte order: libpcap refuses a change) with its own interface (raw
  // IP, ids restart at 0), a packet, and an Interface Statistics block, which is skipped.
  const Bytes first_section = ng;
  block(true, 0x0a0d0d0a, shb);
  Bytes idb2;
  Be16(&idb2, 101);
  Be16(&idb2, 0);
  Be32(&idb2, 0);
  block(true, 1, idb2);
  Bytes epb2;
  Be32(&epb2, 0);
  Be32(&epb2, 0x0006);
  Be32(&epb2, 0x12345678);
  Be32(&epb2, 8);
  Be32(&epb2, 8);
  for (int k = 0; k < 8; ++k) epb2.push_back(static_cast<uint8_t>(0x45 + k));
  block(true, 6, epb2);
  block(true, 5, Bytes(8, 0));
  const std::string p2 = TmpDir() + "/two_sections.pcapng";
  WriteFile(p2, ng);
  // libpcap refuses the raw-IP interface of section 2 (different link type): compare the
  // first section, then check our reading of both.
  const std::string p3 = TmpDir() + "/one_section.pcapng";
  WriteFile(p3, first_section);
  EXPECT_EQ(ExpectSame(p3), 3u);
  const ReadAll all = WithMmap(p2);
  ASSERT_EQ(all.recs.size(), 4u);
  EXPECT_FALSE(all.error_at_end);
  // if_tsresol 10^-3 and if_tsoffset 1000 s: 1700000000123 ms + 1000 s.
  EXPECT_EQ(all.recs[0].ts_ns, (1700000000123LL + 1000000) * 1000000);
  EXPECT_EQ(all.recs[3].data, Bytes({0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c}));
  // default resolution 10^-6 in section 2
  EXPECT_EQ(all.recs[3].ts_ns, ((int64_t{6} << 32) | 0x12345678) * 1000);
  auto r = PcapMmapReader::Open(p2);
  ASSERT_TRUE(r.ok());
  auto b = (*r)->NextBatch(0);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size, 4u);
  EXPECT_EQ((*b)[0].link_type, LinkType::kEthernet);
  EXPECT_EQ((*b)[3].link_type, LinkType::kRaw);
}

// Every prefix of a small file: both readers open or refuse it alike, hand out the same packets
// and agree whether it ended cleanly or damaged.
TEST(PcapMmapReaderTest, EveryTruncatedPrefixAsLibpcap) {
  const std::string src = WriteTrace("trunc_src.pcap", PCAP_TSTAMP_PRECISION_NANO, 262144, 11);
  Bytes full = ReadFile(src);
  full.resize(24 + 3 * (16 + 200));  // header and about three records
  const std::string path = TmpDir() + "/prefix.pcap";
  for (size_t n = 0; n <= full.size(); ++n) {
    WriteFile(path, Bytes(full.begin(), full.begin() + static_cast<long>(n)));
    SCOPED_TRACE(n);
    ExpectSame(path);
  }
  if (system("command -v editcap >/dev/null 2>&1") != 0) return;
  const std::string ng = TmpDir() + "/prefix_src.pcapng";
  ASSERT_EQ(system(("editcap -F pcapng '" + src + "' '" + ng + "'").c_str()), 0);
  Bytes nfull = ReadFile(ng);
  nfull.resize(nfull.size() < 900 ? nfull.size() : 900);
  for (size_t n = 0; n <= nfull.size(); ++n) {
    WriteFile(path, Bytes(nfull.begin(), nfull.begin() + static_cast<long>(n)));
    SCOPED_TRACE(n);
    ExpectSame(path);
  }
}

// The fuzz seeds (both byte orders, if_tsresol 10^-3 and 2^-20, simple and obsolete packet
// blocks, snapped, truncated, an oversized record) read as libpcap reads them. The two-section
// seed changes byte order and link type, which libpcap refuses; it is left out.
TEST(PcapMmapReaderTest, FuzzSeedsAsLibpcap) {
  const std::string dir = "tests/pcap_mmap/corpus/pcap_mmap_fuzz";
  DIR* d = opendir(dir.c_str());
  ASSERT_NE(d, nullptr);
  size_t files = 0;
  while (dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n[0] == '.' || n == "pcapng_two_sections") continue;
    ExpectSame(dir + "/" + n);
    ++files;
  }
  closedir(d);
  EXPECT_GE(files, 10u);
}

TEST(PcapMmapReaderTest, RefusesWhatIsNotACaptureFileAndPipes) {
  const std::string p = TmpDir() + "/text.txt";
  WriteFile(p, Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  auto r = PcapMmapReader::Open(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("text.txt"), std::string::npos);
  EXPECT_FALSE(PcapMmapReader::Open(TmpDir() + "/does-not-exist.pcap").ok());
  auto pipe_r = PcapMmapReader::Open("/dev/stdin");
  EXPECT_FALSE(pipe_r.ok());
}

TEST(PcapMmapReaderTest, SameAsLibpcapOnSharedCaptures) {
  if (access("../shared_pcaps/ABSENT", F_OK) == 0 || access("../shared_pcaps", F_OK) != 0) {
    GTEST_SKIP() << "SKIP: shared captures absent (no ../shared/pcaps beside the checkout)";
  }
  DIR* d = opendir("../shared_pcaps");
  ASSERT_NE(d, nullptr);
  size_t files = 0, packets = 0;
  while (dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n.size() < 5 || (n.find(".pcap") == std::string::npos)) continue;
    packets += ExpectSame("../shared_pcaps/" + n);
    ++files;
  }
  closedir(d);
  EXPECT_GT(files, 3u);
  EXPECT_GT(packets, 10u);
  std::printf("compared %zu shared captures, %zu packets\n", files, packets);
}

}  // namespace
}  // namespace pktkit
