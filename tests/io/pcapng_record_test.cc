// The pcapng codec: known-answer bytes for each block (draft-ietf-opsawg-pcapng §4.1–4.6),
// padding and both total lengths of an EPB for every remainder, the snap length cut, the
// timestamp split at 2^32 ns, and a whole file built with the Append helpers read back by
// libpcap with the same packets, lengths and nanosecond timestamps.
#include "pktkit/io/pcapng_record.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace pktkit {
namespace {

using Bytes = std::vector<uint8_t>;

// The known answers below are little-endian: fields are written in host order.
bool LittleEndianHost() {
  const uint16_t one = 1;
  uint8_t b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

TEST(PcapngRecordTest, ShbWithoutOptions) {
  if (!LittleEndianHost()) GTEST_SKIP() << "known answers are little-endian";
  Bytes out(PcapngShbSize());
  ASSERT_EQ(out.size(), 28u);
  EXPECT_EQ(SerializePcapngShb({}, out.data()), 28u);
  const Bytes want = {
      0x0A, 0x0D, 0x0D, 0x0A,                          // block type SHB
      0x1C, 0x00, 0x00, 0x00,                          // block total length 28
      0x4D, 0x3C, 0x2B, 0x1A,                          // byte-order magic
      0x01, 0x00, 0x00, 0x00,                          // version 1.0
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // section length: not given
      0x1C, 0x00, 0x00, 0x00,                          // block total length again
  };
  EXPECT_EQ(out, want);
}

TEST(PcapngRecordTest, ShbWithUserAppl) {
  if (!LittleEndianHost()) GTEST_SKIP() << "known answers are little-endian";
  Bytes out(PcapngShbSize("pktkit"));
  ASSERT_EQ(out.size(), 44u);
  SerializePcapngShb("pktkit", out.data());
  const Bytes tail = {
      0x04, 0x00, 0x06, 0x00,            // shb_userappl, 6 bytes
      'p',  'k',  't',  'k',  'i', 't',  // "pktkit"
      0x00, 0x00,                        // padding to 32 bits
      0x00, 0x00, 0x00, 0x00,            // opt_endofopt
      0x2C, 0x00, 0x00, 0x00,            // block total length 44
  };
  EXPECT_EQ(Bytes(out.begin() + 24, out.end()), tail);
  EXPECT_EQ(Load32(out.data() + 4), 44u);
}

TEST(PcapngRecordTest, IdbNanosecondsAndName) {
  if (!LittleEndianHost()) GTEST_SKIP() << "known answers are little-endian";
  Bytes out(PcapngIdbSize());
  ASSERT_EQ(out.size(), 32u);
  EXPECT_EQ(SerializePcapngIdb(LinkType::kEthernet, 262144, {}, out.data()), 32u);
  const Bytes want = {
      0x01, 0x00, 0x00, 0x00,  // block type IDB
      0x20, 0x00, 0x00, 0x00,  // block total length 32
      0x01, 0x00,              // LINKTYPE_ETHERNET
      0x00, 0x00,              // reserved
      0x00, 0x00, 0x04, 0x00,  // snap length 262144
      0x09, 0x00, 0x01, 0x00,  // if_tsresol, 1 byte
      0x09, 0x00, 0x00, 0x00,  // 9: nanoseconds, padding
      0x00, 0x00, 0x00, 0x00,  // opt_endofopt
      0x20, 0x00, 0x00, 0x00,  // block total length again
  };
  EXPECT_EQ(out, want);

  Bytes named(PcapngIdbSize("eth0"));
  ASSERT_EQ(named.size(), 40u);
  SerializePcapngIdb(LinkType::kNflog, 65535, "eth0", named.data());
  EXPECT_EQ(named[8], 239);  // LINKTYPE_NFLOG
  const Bytes name_opt = {0x02, 0x00, 0x04, 0x00, 'e', 't', 'h', '0'};
  EXPECT_EQ(Bytes(named.begin() + 16, named.begin() + 24), name_opt);
  EXPECT_EQ(Load32(named.data() + 36), 40u);
}

TEST(PcapngRecordTest, LongNameIsCut) {
  const std::string name(1000, 'x');
  Bytes out(PcapngIdbSize(name));
  EXPECT_EQ(out.size(), 20u + 4 + kPcapngMaxStringBytes + 8 + 4);
  EXPECT_EQ(SerializePcapngIdb(LinkType::kEthernet, 100, name, out.data()), out.size());
  EXPECT_EQ(Load32(out.data() + out.size() - 4), out.size());
}

TEST(PcapngRecordTest, EpbKnownAnswer) {
  if (!LittleEndianHost()) GTEST_SKIP() << "known answers are little-endian";
  const Bytes data = {'a', 'b', 'c', 'd', 'e'};
  Bytes out;
  // 2^32 + 2 ns: the high word is 1, the low word 2.
  AppendPcapngEpb(ByteSpan(data.data(), data.size()), 10, (int64_t{1} << 32) + 2, 262144, &out);
  const Bytes want = {
      0x06, 0x00, 0x00, 0x00,       // block type EPB
      0x28, 0x00, 0x00, 0x00,       // block total length 40
      0x00, 0x00, 0x00, 0x00,       // interface 0
      0x01, 0x00, 0x00, 0x00,       // timestamp, high 32 bits
      0x02, 0x00, 0x00, 0x00,       // timestamp, low 32 bits
      0x05, 0x00, 0x00, 0x00,       // captured length
      0x0A, 0x00, 0x00, 0x00,       // original length
      'a',  'b',  'c',  'd',  'e',  // packet
      0x00, 0x00, 0x00,             // padding to 32 bits
      0x28, 0x00, 0x00, 0x00,       // block total length again
  };
  EXPECT_EQ(out, want);
}

// Every remainder mod 4, zero bytes and the snap length cut: the block is a multiple of 4,
// both lengths agree, the header says what follows.
TEST(PcapngRecordTest, EpbPaddingAndSnaplen) {
  for (size_t caplen = 0; caplen < 70; ++caplen) {
    for (uint32_t snaplen : {uint32_t{262144}, uint32_t{0}, uint32_t{1}, uint32_t{61}}) {
      uint8_t h[kPcapngEpbHeaderSize];
      uint8_t t[kPcapngEpbMaxTailSize];
      const PcapngEpbLayout l =
          SerializePcapngEpbHeader(123, caplen, static_cast<uint32_t>(caplen / 2), snaplen, h);
      const size_t want = caplen < snaplen ? caplen : snaplen;
      EXPECT_EQ(l.captured, want);
      EXPECT_EQ(l.total_length % 4, 0u);
      EXPECT_EQ(l.total_length, 32 + want + l.padding);
      EXPECT_LT(l.padding, 4u);
      EXPECT_EQ(Load32(h + 4), l.total_length);
      EXPECT_EQ(Load32(h + 20), want);
      EXPECT_EQ(Load32(h + 24), std::max<uint32_t>(static_cast<uint32_t>(caplen / 2), l.captured));
      const size_t tn = SerializePcapngEpbTail(l, t);
      EXPECT_EQ(tn, l.padding + 4u);
      for (size_t i = 0; i < l.padding; ++i) EXPECT_EQ(t[i], 0);
      EXPECT_EQ(Load32(t + l.padding), l.total_length);
    }
  }
}

TEST(PcapngRecordTest, TimestampsBeforeTheEpochAreZeroAndTheMaximumSplits) {
  uint8_t h[kPcapngEpbHeaderSize];
  SerializePcapngEpbHeader(-5, 0, 0, 100, h);
  EXPECT_EQ(Load32(h + 12), 0u);
  EXPECT_EQ(Load32(h + 16), 0u);
  SerializePcapngEpbHeader(INT64_MAX, 0, 0, 100, h);
  EXPECT_EQ(Load32(h + 12), 0x7FFFFFFFu);
  EXPECT_EQ(Load32(h + 16), 0xFFFFFFFFu);
}

TEST(PcapngRecordTest, IsbCounters) {
  if (!LittleEndianHost()) GTEST_SKIP() << "known answers are little-endian";
  PcapngInterfaceStats none;
  none.timestamp_ns = 7;
  Bytes empty;
  AppendPcapngIsb(none, &empty);
  ASSERT_EQ(empty.size(), 24u);  // no options, no end-of-options
  EXPECT_EQ(Load32(empty.data()), kPcapngIsbType);
  EXPECT_EQ(Load32(empty.data() + 20), 24u);

  PcapngInterfaceStats s;
  s.timestamp_ns = (int64_t{3} << 32) + 4;
  s.if_dropped = 0x1122334455667788ULL;
  Bytes out;
  AppendPcapngIsb(s, &out);
  const Bytes want = {
      0x05, 0x00, 0x00, 0x00,                          // block type ISB
      0x28, 0x00, 0x00, 0x00,                          // block total length 40
      0x00, 0x00, 0x00, 0x00,                          // interface 0
      0x03, 0x00, 0x00, 0x00,                          // timestamp, high
      0x04, 0x00, 0x00, 0x00,                          // timestamp, low
      0x05, 0x00, 0x08, 0x00,                          // isb_ifdrop, 8 bytes
      0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // the count
      0x00, 0x00, 0x00, 0x00,                          // opt_endofopt
      0x28, 0x00, 0x00, 0x00,                          // block total length again
  };
  EXPECT_EQ(out, want);

  PcapngInterfaceStats all = s;
  all.start_ns = 1;
  all.end_ns = 2;
  all.received = 3;
  all.os_dropped = 4;
  Bytes full;
  AppendPcapngIsb(all, &full);
  EXPECT_EQ(full.size(), 24u + 5 * 12 + 4);
  EXPECT_EQ(Load32(full.data() + 4), full.size());
  EXPECT_EQ(Load32(full.data() + full.size() - 4), full.size());
}

struct Packet {
  Bytes bytes;
  uint32_t wire_len;
  int64_t ts_ns;
};

// Walks the blocks: each one's two total lengths agree, are multiples of 4, and the blocks
// tile the file. Returns the block types in order.
std::vector<uint32_t> Blocks(const Bytes& f) {
  std::vector<uint32_t> types;
  size_t off = 0;
  while (off < f.size()) {
    if (f.size() - off < 12) {
      ADD_FAILURE() << "short block at " << off;
      break;
    }
    const uint32_t len = Load32(f.data() + off + 4);
    EXPECT_EQ(len % 4, 0u) << off;
    if (len < 12 || len > f.size() - off) {
      ADD_FAILURE() << "bad length " << len << " at " << off;
      break;
    }
    EXPECT_EQ(Load32(f.data() + off + len - 4), len) << off;
    types.push_back(Load32(f.data() + off));
    off += len;
  }
  return types;
}

TEST(PcapngRecordTest, LibpcapReadsAFileBuiltWithTheAppendHelpers) {
  std::vector<Packet> pk;
  for (int i = 0; i < 50; ++i) {
    Packet p;
    p.bytes.resize(static_cast<size_t>(i * 13 % 300));
    for (size_t k = 0; k < p.bytes.size(); ++k) p.bytes[k] = static_cast<uint8_t>(i + k);
    p.wire_len = static_cast<uint32_t>(p.bytes.size()) + (i % 3 == 0 ? 50 : 0);
    p.ts_ns = 1700000000123456789LL + i * 1000000007LL;
    pk.push_back(p);
  }
  const uint32_t snaplen = 200;
  Bytes f;
  AppendPcapngFileHeader(LinkType::kEthernet, snaplen, "veth-test", &f);
  for (const Packet& p : pk) {
    AppendPcapngEpb(ByteSpan(p.bytes.data(), p.bytes.size()), p.wire_len, p.ts_ns, snaplen, &f);
  }
  PcapngInterfaceStats st;
  st.timestamp_ns = pk.back().ts_ns;
  st.if_dropped = 3;
  AppendPcapngIsb(st, &f);
  const std::vector<uint32_t> types = Blocks(f);
  ASSERT_EQ(types.size(), 53u);
  EXPECT_EQ(types.front(), kPcapngShbType);
  EXPECT_EQ(types[1], kPcapngIdbType);
  EXPECT_EQ(types.back(), kPcapngIsbType);

  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/codec.pcapng";
  {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(f.data()), f.size());
  }
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pc =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  ASSERT_NE(pc, nullptr) << err;
  EXPECT_EQ(pcap_datalink(pc), DLT_EN10MB);
  EXPECT_EQ(pcap_snapshot(pc), 200);
  pcap_pkthdr* h;
  const u_char* d;
  size_t i = 0;
  int rc;
  while ((rc = pcap_next_ex(pc, &h, &d)) == 1) {
    ASSERT_LT(i, pk.size());
    const Packet& p = pk[i];
    const size_t cap = std::min<size_t>(p.bytes.size(), snaplen);
    EXPECT_EQ(h->caplen, cap) << i;
    EXPECT_EQ(h->len, p.wire_len) << i;
    EXPECT_EQ(int64_t{h->ts.tv_sec} * 1000000000 + h->ts.tv_usec, p.ts_ns) << i;
    EXPECT_EQ(Bytes(d, d + h->caplen), Bytes(p.bytes.begin(), p.bytes.begin() + cap)) << i;
    ++i;
  }
  EXPECT_EQ(rc, PCAP_ERROR_BREAK) << pcap_geterr(pc);
  EXPECT_EQ(i, pk.size());
  pcap_close(pc);
}

}  // namespace
}  // namespace pktkit
