// PcapSink with Format::kPcapng, proved by peers: the same packets written as pcap and as
// pcapng (every write method) read back by libpcap, by `tshark -n -r` and by `capinfos` give
// the same packets, nanosecond timestamps, captured and original lengths; the snap length cut;
// an empty file; the IDB's if_name; the Interface Statistics Block at Close; any link type.
// Needs tshark and capinfos (Debian packages tshark, wireshark-common; setup.sh installs them).
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pktkit/io/pcap.h"
#include "pktkit/io/pcap_sink.h"
#include "pktkit/io/pcapng_record.h"
#include "tests/testing/packet_samples.h"

namespace pktkit {
namespace {

using Format = PcapSinkOptions::Format;
using Method = PcapSinkOptions::Method;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

std::string ReadAll(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Runs a shell command and returns its standard output (stderr dropped: tshark warns when
// run as root). HOME points at the test's directory so tshark finds no personal profile.
std::string Shell(const std::string& cmd, int* status = nullptr) {
  const std::string full = absl::StrCat("HOME='", TempPath(""), "' ", cmd, " 2>/dev/null");
  FILE* f = popen(full.c_str(), "r");
  std::string out;
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int rc = pclose(f);
  if (status != nullptr) *status = rc;
  return out;
}

using Packets = samples::OwnedPackets;

// Sizes 0..1499 bytes (every remainder mod 4, some above the snap length), some with an
// original length above the captured one, timestamps with every nanosecond digit in use.
Packets Make(size_t n, LinkType lt = LinkType::kEthernet) {
  Packets p;
  for (size_t i = 0; i < n; ++i) {
    p.Add(i, i == 0 ? 0 : 14 + (i * 37) % 1486, i % 3 == 0 ? 100 : 0,
          1700000000123456789LL + static_cast<int64_t>(i) * 1000000007, lt);
  }
  return p;
}

absl::Status WriteFile(const std::string& path, const Packets& p, Format f, Method m,
                       uint32_t snaplen, PcapSink** keep = nullptr) {
  PcapSinkOptions o;
  o.format = f;
  o.method = m;
  o.snaplen = snaplen;
  o.buffer_bytes = 64 * 1024;
  o.if_name = "veth-test0";
  auto s = PcapSink::Open(path, o);
  if (!s.ok()) return s.status();
  for (size_t off = 0; off < p.views.size(); off += 100) {
    const size_t n = std::min<size_t>(100, p.views.size() - off);
    if (absl::Status st = (*s)->Write(PacketBatch{p.views.data() + off, n}); !st.ok()) return st;
  }
  if (keep != nullptr) *keep = s->get();
  return (*s)->Close();
}

struct Record {
  uint32_t caplen, len;
  int64_t ts_ns;
  std::string bytes;
  bool operator==(const Record& o) const {
    return caplen == o.caplen && len == o.len && ts_ns == o.ts_ns && bytes == o.bytes;
  }
};

// libpcap's view of a file.
std::vector<Record> LibpcapRecords(const std::string& path, int* dlt = nullptr,
                                   int* snaplen = nullptr) {
  std::vector<Record> r;
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  EXPECT_NE(p, nullptr) << err;
  if (p == nullptr) return r;
  if (dlt != nullptr) *dlt = pcap_datalink(p);
  if (snaplen != nullptr) *snaplen = pcap_snapshot(p);
  pcap_pkthdr* h;
  const u_char* d;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
    r.push_back(Record{h->caplen, h->len, int64_t{h->ts.tv_sec} * 1000000000 + h->ts.tv_usec,
                       std::string(reinterpret_cast<const char*>(d), h->caplen)});
  }
  EXPECT_EQ(rc, PCAP_ERROR_BREAK) << path << ": " << pcap_geterr(p);
  pcap_close(p);
  return r;
}

// tshark's view: one line per packet, "seconds.nanoseconds<TAB>original<TAB>captured<TAB>md5".
std::string TsharkLines(const std::string& path) {
  int status = -1;
  const std::string out = Shell(
      absl::StrCat("tshark -n -r '", path,
                   "' -o frame.generate_md5_hash:TRUE -T fields -e frame.time_epoch -e frame.len "
                   "-e frame.cap_len -e frame.md5_hash"),
      &status);
  EXPECT_EQ(status, 0) << "tshark -r " << path;
  return out;
}

// What tshark must print for these packets (md5 aside: checked by comparing the two files).
std::string ExpectedTimesAndLengths(const Packets& p, uint32_t snaplen) {
  std::string s;
  for (const PacketView& v : p.views) {
    absl::StrAppendFormat(&s, "%d.%09d\t%u\t%u\n", v.timestamp_ns / 1000000000,
                          v.timestamp_ns % 1000000000, v.wire_len, std::min(v.caplen, snaplen));
  }
  return s;
}

std::string WithoutLastField(const std::string& lines) {
  std::string out;
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    const std::string line = lines.substr(start, end - start);
    out += line.substr(0, line.rfind('\t')) + "\n";
    start = end + 1;
  }
  return out;
}

class PcapngSinkTest : public ::testing::TestWithParam<Method> {};

TEST_P(PcapngSinkTest, SamePacketsAsPcapForLibpcapTsharkAndCapinfos) {
  const std::string tag = std::to_string(static_cast<int>(GetParam()));
  const std::string pcap = TempPath("same_" + tag + ".pcap");
  const std::string ng = TempPath("same_" + tag + ".pcapng");
  const uint32_t snaplen = 1000;  // some packets are cut
  Packets p = Make(1500);
  ASSERT_TRUE(WriteFile(pcap, p, Format::kPcap, GetParam(), snaplen).ok());
  ASSERT_TRUE(WriteFile(ng, p, Format::kPcapng, GetParam(), snaplen).ok());
  EXPECT_EQ(ReadAll(ng).substr(0, 4), std::string("\x0a\x0d\x0d\x0a", 4));  // an SHB

  // libpcap: the same records from both, and they are the packets written.
  int dlt = 0, snap = 0;
  const std::vector<Record> from_ng = LibpcapRecords(ng, &dlt, &snap);
  EXPECT_EQ(dlt, DLT_EN10MB);
  EXPECT_EQ(snap, 1000);
  ASSERT_EQ(from_ng.size(), p.views.size());
  EXPECT_TRUE(from_ng == LibpcapRecords(pcap));
  for (size_t i = 0; i < p.views.size(); ++i) {
    const PacketView& v = p.views[i];
    EXPECT_EQ(from_ng[i].ts_ns, v.timestamp_ns) << i;
    EXPECT_EQ(from_ng[i].len, v.wire_len) << i;
    EXPECT_EQ(from_ng[i].bytes,
              std::string(reinterpret_cast<const char*>(v.data), std::min(v.caplen, snaplen)))
        << i;
  }

  // tshark: the same lines (time to the nanosecond, lengths, an MD5 of the bytes) for both.
  const std::string t_ng = TsharkLines(ng);
  EXPECT_EQ(t_ng, TsharkLines(pcap));
  EXPECT_EQ(WithoutLastField(t_ng), ExpectedTimesAndLengths(p, snaplen));

  // capinfos: a pcapng file of Ethernet with the packet count, interface name, nanoseconds.
  const std::string info = Shell("capinfos '" + ng + "'");
  EXPECT_NE(info.find("pcapng"), std::string::npos) << info;
  EXPECT_NE(info.find("Number of packets:   1500"), std::string::npos) << info;
  EXPECT_NE(info.find("Name = veth-test0"), std::string::npos) << info;
  EXPECT_NE(info.find("Capture length = 1000"), std::string::npos) << info;
  EXPECT_NE(info.find("Time precision = nanoseconds (9)"), std::string::npos) << info;
  EXPECT_NE(Shell("capinfos '" + pcap + "'").find("Number of packets:   1500"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Methods, PcapngSinkTest,
                         ::testing::Values(Method::kAuto, Method::kBuffered, Method::kWritev));

TEST(PcapngSinkEdgeTest, EmptyFileIsAValidCapture) {
  const std::string ng = TempPath("empty.pcapng");
  Packets none;
  ASSERT_TRUE(WriteFile(ng, none, Format::kPcapng, Method::kAuto, 262144).ok());
  EXPECT_EQ(ReadAll(ng).size(), PcapngShbSize("pktkit") + PcapngIdbSize("veth-test0"));
  int dlt = 0;
  EXPECT_TRUE(LibpcapRecords(ng, &dlt).empty());
  EXPECT_EQ(dlt, DLT_EN10MB);
  EXPECT_EQ(TsharkLines(ng), "");
  EXPECT_NE(Shell("capinfos '" + ng + "'").find("Number of packets:   0"), std::string::npos);
}

TEST(PcapngSinkEdgeTest, InterfaceStatisticsAtClose) {
  const std::string ng = TempPath("isb.pcapng");
  PcapSinkOptions o;
  o.format = Format::kPcapng;
  auto s = PcapSink::Open(ng, o);
  ASSERT_TRUE(s.ok()) << s.status();
  Packets p = Make(10);
  ASSERT_TRUE((*s)->Write(p.batch()).ok());
  PcapngInterfaceStats st;
  st.timestamp_ns = p.views.back().timestamp_ns;
  st.received = 13;
  st.if_dropped = 3;
  (*s)->SetInterfaceStats(st);
  ASSERT_TRUE((*s)->Close().ok());
  const std::string f = ReadAll(ng);
  std::string isb;
  AppendPcapngIsb(st, &isb);
  ASSERT_GT(f.size(), isb.size());
  EXPECT_EQ(f.substr(f.size() - isb.size()), isb);  // the last block
  EXPECT_EQ(LibpcapRecords(ng).size(), 10u);
  EXPECT_EQ(WithoutLastField(TsharkLines(ng)), ExpectedTimesAndLengths(p, 262144));
  // Wireshark's reader takes the ISB as the interface's statistics.
  EXPECT_NE(Shell("capinfos '" + ng + "'").find("Number of stat entries = 1"), std::string::npos);
  // pcap has no place for it: ignored, the file unchanged by it.
  const std::string pcap = TempPath("isb.pcap");
  PcapSinkOptions po;
  auto ps = PcapSink::Open(pcap, po);
  ASSERT_TRUE(ps.ok());
  ASSERT_TRUE((*ps)->Write(p.batch()).ok());
  (*ps)->SetInterfaceStats(st);
  ASSERT_TRUE((*ps)->Close().ok());
  EXPECT_EQ(LibpcapRecords(pcap).size(), 10u);
}

TEST(PcapngSinkEdgeTest, LinkTypeFromFirstPacketAndMismatch) {
  const std::string ng = TempPath("nflog.pcapng");
  PcapSinkOptions o;
  o.format = Format::kPcapng;
  o.link_type_from_first_packet = true;
  o.snaplen = 100;
  auto s = PcapSink::Open(ng, o);
  ASSERT_TRUE(s.ok());
  Packets nf = Make(5, LinkType::kNflog);
  Packets eth = Make(2, LinkType::kEthernet);
  ASSERT_TRUE((*s)->Write(nf.batch()).ok());
  ASSERT_TRUE((*s)->Write(eth.batch()).ok());
  ASSERT_TRUE((*s)->Close().ok());
  EXPECT_EQ((*s)->pcap_stats().link_type_mismatch, 2u);
  int dlt = 0, snap = 0;
  const std::vector<Record> r = LibpcapRecords(ng, &dlt, &snap);
  EXPECT_EQ(dlt, DLT_NFLOG);
  EXPECT_EQ(snap, 100);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[2].caplen, 88u);
  EXPECT_EQ(r[3].caplen, 100u);  // 125 bytes cut to the snap length
  EXPECT_EQ(r[3].len, nf.views[3].wire_len);
}

// A failed run leaves nothing behind, as for pcap (same temporary-name path).
TEST(PcapngSinkEdgeTest, UncommittedCloseLeavesNoFile) {
  const std::string ng = TempPath("never.pcapng");
  {
    PcapSinkOptions o;
    o.format = Format::kPcapng;
    auto s = PcapSink::Open(ng, o);
    ASSERT_TRUE(s.ok());
    Packets p = Make(3);
    ASSERT_TRUE((*s)->Write(p.batch()).ok());
    ASSERT_TRUE((*s)->Close(/*commit=*/false).ok());
  }
  std::ifstream f(ng);
  EXPECT_FALSE(f.good());
}

}  // namespace
}  // namespace pktkit
