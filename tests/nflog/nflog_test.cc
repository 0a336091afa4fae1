// Tests for pktkit/wire/nflog.h: hand-built records, the interop capture written by others
// (LINKTYPE_NFLOG), truncation at every length, round trips and fields at their maximum.
#include "pktkit/wire/nflog.h"

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pktkit/io/pcap.h"
#include "tests/testing/shared_pcaps.h"

namespace pktkit {
namespace {

std::vector<uint8_t> Serialize(const NflogRecord& r, TlvByteOrder order) {
  std::vector<uint8_t> out(NflogSerializedSize(r));
  ByteWriter w(out.data(), out.size());
  EXPECT_TRUE(SerializeNflog(r, order, &w));
  EXPECT_EQ(w.size(), out.size());
  return out;
}

std::string Str(ByteSpan s) { return std::string(s.begin(), s.end()); }

void ExpectSameRecord(const NflogRecord& a, const NflogRecord& b) {
  EXPECT_EQ(a.family, b.family);
  EXPECT_EQ(a.resource_id, b.resource_id);
  EXPECT_EQ(a.has_packet_hdr, b.has_packet_hdr);
  EXPECT_EQ(a.hw_protocol, b.hw_protocol);
  EXPECT_EQ(a.hook, b.hook);
  EXPECT_EQ(a.has_mark, b.has_mark);
  EXPECT_EQ(a.mark, b.mark);
  EXPECT_EQ(a.has_timestamp, b.has_timestamp);
  EXPECT_EQ(a.ts_sec, b.ts_sec);
  EXPECT_EQ(a.ts_usec, b.ts_usec);
  EXPECT_EQ(a.indev, b.indev);
  EXPECT_EQ(a.outdev, b.outdev);
  EXPECT_EQ(a.physindev, b.physindev);
  EXPECT_EQ(a.physoutdev, b.physoutdev);
  EXPECT_EQ(a.has_uid, b.has_uid);
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.has_gid, b.has_gid);
  EXPECT_EQ(a.gid, b.gid);
  EXPECT_EQ(a.has_seq, b.has_seq);
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.has_seq_global, b.has_seq_global);
  EXPECT_EQ(a.seq_global, b.seq_global);
  EXPECT_EQ(a.has_hwaddr, b.has_hwaddr);
  EXPECT_EQ(a.hwaddr_len, b.hwaddr_len);
  EXPECT_EQ(std::string(a.hwaddr, a.hwaddr + 8), std::string(b.hwaddr, b.hwaddr + 8));
  EXPECT_EQ(a.has_hwtype, b.has_hwtype);
  EXPECT_EQ(a.hwtype, b.hwtype);
  EXPECT_EQ(a.has_hwlen, b.has_hwlen);
  EXPECT_EQ(a.hwlen, b.hwlen);
  EXPECT_EQ(a.has_hwheader, b.has_hwheader);
  EXPECT_EQ(Str(a.hwheader), Str(b.hwheader));
  EXPECT_EQ(a.has_prefix, b.has_prefix);
  EXPECT_EQ(Str(a.prefix), Str(b.prefix));
  EXPECT_EQ(a.has_payload, b.has_payload);
  EXPECT_EQ(Str(a.payload), Str(b.payload));
}

// Every field present, each at its maximum value.
NflogRecord FullRecord(const std::vector<uint8_t>& payload, const std::string& prefix,
                       const std::vector<uint8_t>& hwheader) {
  NflogRecord r;
  r.family = 0xff;
  r.resource_id = 0xffff;
  r.has_packet_hdr = true;
  r.hw_protocol = 0xffff;
  r.hook = 0xff;
  r.has_mark = true;
  r.mark = 0xffffffff;
  r.has_timestamp = true;
  r.ts_sec = 0xffffffffffffffffull;
  r.ts_usec = 999999;
  r.indev = r.outdev = r.physindev = r.physoutdev = 0xffffffff;
  r.has_uid = r.has_gid = r.has_seq = r.has_seq_global = true;
  r.uid = r.gid = r.seq = r.seq_global = 0xffffffff;
  r.has_hwaddr = true;
  r.hwaddr_len = 0xffff;
  for (uint8_t& b : r.hwaddr) b = 0xff;
  r.has_hwtype = r.has_hwlen = true;
  r.hwtype = r.hwlen = 0xffff;
  r.has_hwheader = true;
  r.hwheader = ByteSpan(hwheader.data(), hwheader.size());
  r.has_prefix = true;
  r.prefix = ByteSpan(reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size());
  r.has_payload = true;
  r.payload = ByteSpan(payload.data(), payload.size());
  return r;
}

TEST(NflogTest, ParsesHandBuiltRecord) {
  const uint8_t rec[] = {
      0x02, 0x00, 0x00, 0x05,  // family AF_INET, version 0, group 5
      0x08, 0x00, 0x01, 0x00,  // len 8, NFULA_PACKET_HDR (little-endian header)
      0x08, 0x00, 0x03, 0x00,  // hw_protocol 0x0800, hook 3 (LOCAL_OUT), pad
      0x08, 0x00, 0x02, 0x00,  // len 8, NFULA_MARK
      0x12, 0x34, 0x56, 0x78,  // mark
      0x07, 0x00, 0x0a, 0x00,  // len 7, NFULA_PREFIX
      'a',  'b',  0x00, 0x00,  // "ab\0" + 1 pad
      0x08, 0x00, 0x0b, 0x00,  // len 8, NFULA_UID
      0x00, 0x00, 0x03, 0xe8,  // uid 1000
      0x08, 0x00, 0x0e, 0x00,  // len 8, NFULA_GID
      0x00, 0x00, 0x00, 0x64,  // gid 100
      0x06, 0x00, 0x09, 0x00,  // len 6, NFULA_PAYLOAD
      0x45, 0x00, 0x00, 0x00,  // 2 payload bytes + 2 pad
  };
  NflogRecord r;
  ASSERT_EQ(ParseNflog(ByteSpan(rec, sizeof rec), TlvByteOrder::kLittle, &r), NflogError::kOk);
  EXPECT_EQ(r.family, 2);
  EXPECT_EQ(r.resource_id, 5);
  EXPECT_TRUE(r.has_packet_hdr);
  EXPECT_EQ(r.hw_protocol, 0x0800);
  EXPECT_EQ(r.hook, 3);
  EXPECT_EQ(r.mark, 0x12345678u);
  EXPECT_EQ(Str(r.prefix), "ab");
  EXPECT_EQ(r.uid, 1000u);  // uid and gid are never swapped
  EXPECT_EQ(r.gid, 100u);
  EXPECT_EQ(r.payload.size, 2u);
  EXPECT_EQ(r.payload.data[0], 0x45);
  EXPECT_FALSE(r.has_timestamp);
  EXPECT_EQ(r.timestamp_ns(), 0);
}

TEST(NflogTest, RejectsBadVersionAndTlvLengths) {
  uint8_t bad_version[] = {2, 1, 0, 0};
  NflogRecord r;
  EXPECT_EQ(ParseNflog(ByteSpan(bad_version, 4), kHostTlvOrder, &r), NflogError::kBadVersion);
  uint8_t short_tlv[] = {2, 0, 0, 0, 0x03, 0x00, 0x09, 0x00};  // len 3 < 4
  EXPECT_EQ(ParseNflog(ByteSpan(short_tlv, 8), TlvByteOrder::kLittle, &r),
            NflogError::kBadTlvLength);
  uint8_t long_tlv[] = {2, 0, 0, 0, 0x10, 0x00, 0x09, 0x00, 1, 2};  // len 16 > 6 left
  EXPECT_EQ(ParseNflog(ByteSpan(long_tlv, sizeof long_tlv), TlvByteOrder::kLittle, &r),
            NflogError::kBadTlvLength);
  uint8_t bad_mark[] = {2, 0, 0, 0, 0x06, 0x00, 0x02, 0x00, 1, 2, 0, 0};  // mark of 2 bytes
  EXPECT_EQ(ParseNflog(ByteSpan(bad_mark, sizeof bad_mark), TlvByteOrder::kLittle, &r),
            NflogError::kBadAttributeSize);
  uint8_t no_nul[] = {2, 0, 0, 0, 0x06, 0x00, 0x0a, 0x00, 'a', 'b', 0, 0};  // prefix w/o NUL
  EXPECT_EQ(ParseNflog(ByteSpan(no_nul, sizeof no_nul), TlvByteOrder::kLittle, &r),
            NflogError::kBadAttributeSize);
  EXPECT_STREQ(NflogErrorName(NflogError::kBadTlvLength), "bad_tlv_length");
  EXPECT_STREQ(NflogErrorName(NflogError::kTruncatedHeader), "truncated_header");
}

TEST(NflogTest, SkipsAndCountsUnknownAndNestedTypes) {
  // NFULA_CT (18) with NLA_F_NESTED set, then payload.
  uint8_t rec[] = {10, 0, 0,    1,    0x08, 0x00, 0x12, 0x80, 1, 2,
                   3,  4, 0x05, 0x00, 0x09, 0x00, 0x60, 0,    0, 0};
  NflogRecord r;
  ASSERT_EQ(ParseNflog(ByteSpan(rec, sizeof rec), TlvByteOrder::kLittle, &r), NflogError::kOk);
  EXPECT_EQ(r.unknown_tlvs, 1u);
  EXPECT_EQ(r.family, 10);
  EXPECT_EQ(r.payload.size, 1u);
}

TEST(NflogTest, RoundTripsAllFieldsAtMaxInBothByteOrders) {
  std::vector<uint8_t> payload(1500, 0xab);
  std::vector<uint8_t> hwheader(14, 0xcd);
  const std::string prefix = "some prefix";
  const NflogRecord in = FullRecord(payload, prefix, hwheader);
  for (TlvByteOrder order : {TlvByteOrder::kLittle, TlvByteOrder::kBig}) {
    std::vector<uint8_t> bytes = Serialize(in, order);
    NflogRecord out;
    ASSERT_EQ(ParseNflog(ByteSpan(bytes.data(), bytes.size()), order, &out), NflogError::kOk);
    ExpectSameRecord(in, out);
    EXPECT_EQ(Serialize(out, order), bytes);  // parse -> serialize -> compare
  }
}

TEST(NflogTest, EveryShorterLengthFailsCleanly) {
  std::vector<uint8_t> payload(41, 0x11);
  std::vector<uint8_t> hwheader(14, 0x22);
  const std::string prefix = "pfx";
  std::vector<uint8_t> bytes = Serialize(FullRecord(payload, prefix, hwheader), kHostTlvOrder);
  // A cut is harmless exactly where a TLV's value ends or inside its padding.
  std::vector<bool> ok_at(bytes.size() + 1, false);
  ok_at[kNflogHeaderSize] = true;
  size_t pos = kNflogHeaderSize;
  while (pos < bytes.size()) {
    uint16_t len;
    std::memcpy(&len, &bytes[pos], 2);
    const size_t padded = (len + 3u) & ~3u;
    for (size_t k = pos + len; k <= pos + padded; ++k) ok_at[k] = true;
    pos += padded;
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    NflogRecord r;
    const NflogError e = ParseNflog(ByteSpan(bytes.data(), n), kHostTlvOrder, &r);
    if (n < kNflogHeaderSize) {
      EXPECT_EQ(e, NflogError::kTruncatedHeader) << n;
    } else if (ok_at[n]) {
      EXPECT_EQ(e, NflogError::kOk) << n;
    } else {
      EXPECT_EQ(e, NflogError::kBadTlvLength) << n;
    }
  }
}

TEST(NflogTest, TooLargeValueFailsToSerialize) {
  std::vector<uint8_t> payload(70000, 0);
  NflogRecord r;
  r.has_payload = true;
  r.payload = ByteSpan(payload.data(), payload.size());
  std::vector<uint8_t> out(NflogSerializedSize(r));
  ByteWriter w(out.data(), out.size());
  EXPECT_FALSE(SerializeNflog(r, kHostTlvOrder, &w));
}

TEST(NflogTest, NetlinkIteratorWalksMessages) {
  // Two messages: an NFLOG packet (header + 4 bytes) and a DONE, then garbage length.
  std::vector<uint8_t> buf(16 + 4 + 16, 0);
  auto put = [&](size_t at, uint32_t len, uint16_t type) {
    std::memcpy(&buf[at], &len, 4);
    std::memcpy(&buf[at + 4], &type, 2);
  };
  put(0, 20, kNflogMsgPacket);
  buf[16] = 2;
  put(20, 16, kNlmsgDone);
  NetlinkMessageIterator it(ByteSpan(buf.data(), buf.size()));
  NetlinkMessage m;
  ASSERT_TRUE(it.Next(&m));
  EXPECT_EQ(m.type, kNflogMsgPacket);
  EXPECT_EQ(m.payload.size, 4u);
  NflogRecord r;
  EXPECT_EQ(ParseNflog(m.payload, kHostTlvOrder, &r), NflogError::kOk);
  ASSERT_TRUE(it.Next(&m));
  EXPECT_EQ(m.type, kNlmsgDone);
  EXPECT_FALSE(it.Next(&m));
  EXPECT_FALSE(it.bad());
  put(0, 100, kNflogMsgPacket);  // runs past the datagram
  NetlinkMessageIterator bad(ByteSpan(buf.data(), buf.size()));
  EXPECT_FALSE(bad.Next(&m));
  EXPECT_TRUE(bad.bad());
}

// The capture written by others parses with the same code that reads netlink.
TEST(NflogTest, ParsesInteropCapture) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  auto reader = PcapReader::Open("../shared_pcaps/nflog-http.pcap");
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_EQ((*reader)->link_type(), LinkType::kNflog);
  size_t n = 0, with_payload = 0;
  while (true) {
    auto batch = (*reader)->NextBatch(0);
    if (!batch.ok()) break;
    for (const PacketView& p : *batch) {
      NflogRecord r;
      ASSERT_EQ(ParseNflog(p.bytes(), kHostTlvOrder, &r), NflogError::kOk) << n;
      EXPECT_EQ(r.family, 2);  // AF_INET
      EXPECT_EQ(r.resource_id, 42);
      ASSERT_TRUE(r.has_payload);
      EXPECT_EQ(r.payload.data[0] >> 4, 4);  // IPv4
      // The IPv4 total length matches the payload length (full copy).
      EXPECT_EQ(LoadBe16(r.payload.data + 2), r.payload.size);
      // Round trip of what we understand: re-serialized and re-parsed, fields agree.
      std::vector<uint8_t> again = Serialize(r, kHostTlvOrder);
      NflogRecord r2;
      ASSERT_EQ(ParseNflog(ByteSpan(again.data(), again.size()), kHostTlvOrder, &r2),
                NflogError::kOk);
      ExpectSameRecord(r, r2);
      ++with_payload;
      ++n;
    }
  }
  EXPECT_GT(n, 10u);
  EXPECT_EQ(with_payload, n);
}

}  // namespace
}  // namespace pktkit
