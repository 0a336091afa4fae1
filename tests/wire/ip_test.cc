#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "pktkit/wire/ipv4.h"
#include "pktkit/wire/ipv6.h"
#include "pktkit/wire/l4.h"

namespace pktkit {
namespace {

// IPv4: IHL 6 (one 4-byte option: NOP NOP NOP EOL), total length 32, ID 0xbeef, MF set,
// fragment offset 0x1fff (the maximum), TTL 255, UDP, 10.0.0.1 -> 10.0.0.2, then 8 bytes.
std::vector<uint8_t> Ipv4WithOption() {
  Ipv4Header h;
  const uint8_t opts[4] = {1, 1, 1, 0};
  h.options = ByteSpan(opts, 4);
  h.protocol = kIpProtoUdp;
  h.ttl = 255;
  h.tos = 0xff;
  h.id = 0xbeef;
  h.more_fragments = true;
  h.fragment_offset = 0x1fff;
  const uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2};
  memcpy(h.src, src, 4);
  memcpy(h.dst, dst, 4);
  std::vector<uint8_t> out(32 + 4);  // 4 bytes of trailing Ethernet padding
  ByteWriter w(out.data(), out.size());
  EXPECT_TRUE(SerializeIpv4(h, 8, &w));
  for (int i = 0; i < 8; ++i) w.WriteU8(static_cast<uint8_t>(0xa0 + i));
  w.WriteZeros(4);
  return out;
}

TEST(Ipv4Test, ParsesOptionsFragmentsAndMaxFields) {
  std::vector<uint8_t> p = Ipv4WithOption();
  Ipv4Header h;
  ASSERT_EQ(ParseIpv4(ByteSpan(p.data(), p.size()), &h), Ipv4Error::kOk);
  EXPECT_EQ(h.header_length, 24u);
  EXPECT_EQ(h.options.size, 4u);
  EXPECT_EQ(h.total_length, 32);
  EXPECT_EQ(h.id, 0xbeef);
  EXPECT_TRUE(h.more_fragments);
  EXPECT_FALSE(h.dont_fragment);
  EXPECT_EQ(h.fragment_offset, 0x1fff);
  EXPECT_EQ(h.ttl, 255);
  EXPECT_EQ(h.tos, 0xff);
  EXPECT_TRUE(IsFragment(h));
  EXPECT_EQ(h.payload.size, 8u);  // padding excluded
  EXPECT_EQ(h.payload.data[0], 0xa0);
  EXPECT_EQ(InternetChecksum(p.data(), 24), 0);  // header checksum verifies
}

TEST(Ipv4Test, RoundTrip) {
  std::vector<uint8_t> p = Ipv4WithOption();
  Ipv4Header h;
  ASSERT_EQ(ParseIpv4(ByteSpan(p.data(), p.size()), &h), Ipv4Error::kOk);
  std::vector<uint8_t> again(32);
  ByteWriter w(again.data(), again.size());
  ASSERT_TRUE(SerializeIpv4(h, h.payload.size, &w));
  w.WriteSpan(h.payload);
  EXPECT_EQ(0, memcmp(again.data(), p.data(), 32));
}

TEST(Ipv4Test, EveryShorterHeaderIsTruncated) {
  std::vector<uint8_t> p = Ipv4WithOption();
  for (size_t len = 0; len < 24; ++len) {
    Ipv4Header h;
    EXPECT_EQ(ParseIpv4(ByteSpan(p.data(), len), &h), Ipv4Error::kTruncated) << len;
  }
}

TEST(Ipv4Test, RejectsBadVersionIhlAndTotalLength) {
  std::vector<uint8_t> p = Ipv4WithOption();
  Ipv4Header h;
  p[0] = 0x66;
  EXPECT_EQ(ParseIpv4(ByteSpan(p.data(), p.size()), &h), Ipv4Error::kBadVersion);
  p[0] = 0x44;
  EXPECT_EQ(ParseIpv4(ByteSpan(p.data(), p.size()), &h), Ipv4Error::kBadHeaderLength);
  p[0] = 0x46;
  p[2] = 0;
  p[3] = 20;  // total length shorter than the 24-byte header
  EXPECT_EQ(ParseIpv4(ByteSpan(p.data(), p.size()), &h), Ipv4Error::kBadTotalLength);
}

// IPv6 with Hop-by-Hop (8 bytes), Destination Options (16 bytes) and a Fragment header
// (offset 0x1fff, MF, ID 0xffffffff) in front of UDP.
std::vector<uint8_t> Ipv6WithChain() {
  Ipv6Header h;
  h.next_header = kIpv6ExtHopByHop;
  h.traffic_class = 0xff;
  h.flow_label = 0xfffff;
  h.hop_limit = 255;
  for (int i = 0; i < 16; ++i) h.src[i] = static_cast<uint8_t>(i), h.dst[i] = 0xff;
  const size_t ext = 8 + 16 + 8;
  std::vector<uint8_t> out(40 + ext + 12);
  ByteWriter w(out.data(), out.size());
  EXPECT_TRUE(SerializeIpv6(h, ext + 12, &w));
  w.WriteU8(kIpv6ExtDestination);  // HBH: next = DST, len 0 (8 bytes)
  w.WriteU8(0);
  w.WriteZeros(6);
  w.WriteU8(kIpv6ExtFragment);  // DST: next = FRAG, len 1 (16 bytes)
  w.WriteU8(1);
  w.WriteZeros(14);
  w.WriteU8(kIpProtoUdp);  // FRAG: next = UDP
  w.WriteU8(0);
  w.WriteU16(static_cast<uint16_t>((0x1fff << 3) | 1));
  w.WriteU32(0xffffffff);
  for (int i = 0; i < 12; ++i) w.WriteU8(static_cast<uint8_t>(i));
  EXPECT_TRUE(w.ok());
  return out;
}

TEST(Ipv6Test, WalksExtensionChainToFragmentAndUdp) {
  std::vector<uint8_t> p = Ipv6WithChain();
  Ipv6Header h;
  ASSERT_EQ(ParseIpv6(ByteSpan(p.data(), p.size()), &h), Ipv6Error::kOk);
  EXPECT_EQ(h.next_header, kIpProtoUdp);
  EXPECT_TRUE(h.has_fragment);
  EXPECT_TRUE(h.more_fragments);
  EXPECT_EQ(h.fragment_offset, 0x1fff);
  EXPECT_EQ(h.fragment_id, 0xffffffffu);
  EXPECT_EQ(h.header_length, 72u);
  EXPECT_EQ(h.payload.size, 12u);
  EXPECT_EQ(h.traffic_class, 0xff);
  EXPECT_EQ(h.flow_label, 0xfffffu);
  EXPECT_EQ(h.hop_limit, 255);
}

TEST(Ipv6Test, EveryShorterLengthFailsCleanly) {
  std::vector<uint8_t> p = Ipv6WithChain();
  for (size_t len = 0; len < 72; ++len) {
    Ipv6Header h;
    EXPECT_NE(ParseIpv6(ByteSpan(p.data(), len), &h), Ipv6Error::kOk) << len;
  }
}

TEST(Ipv6Test, RejectsChainPastPayloadLengthAndLoops) {
  std::vector<uint8_t> p = Ipv6WithChain();
  Ipv6Header h;
  p[4] = 0;
  p[5] = 10;  // payload length 10: the chain runs past it
  EXPECT_EQ(ParseIpv6(ByteSpan(p.data(), p.size()), &h), Ipv6Error::kBadPayloadLength);
  // Nine Destination Options headers in a row: too many.
  Ipv6Header base;
  base.next_header = kIpv6ExtDestination;
  std::vector<uint8_t> many(40 + 9 * 8);
  ByteWriter w(many.data(), many.size());
  SerializeIpv6(base, 9 * 8, &w);
  for (int i = 0; i < 9; ++i) {
    w.WriteU8(kIpv6ExtDestination);
    w.WriteU8(0);
    w.WriteZeros(6);
  }
  EXPECT_EQ(ParseIpv6(ByteSpan(many.data(), many.size()), &h), Ipv6Error::kTooManyExtensions);
  p = Ipv6WithChain();
  p[0] = 0x45;
  EXPECT_EQ(ParseIpv6(ByteSpan(p.data(), p.size()), &h), Ipv6Error::kBadVersion);
}

TEST(L4Test, UdpRoundTripTruncationAndChecksum) {
  const uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {192, 0, 2, 2};
  std::vector<uint8_t> seg(8 + 5);
  UdpHeader u;
  u.src_port = 0xffff;
  u.dst_port = 4789;
  u.length = static_cast<uint16_t>(seg.size());
  ByteWriter w(seg.data(), seg.size());
  ASSERT_TRUE(SerializeUdp(u, &w));
  w.WriteBytes("hello", 5);
  const uint16_t c = UdpChecksumIpv4(src, dst, ByteSpan(seg.data(), seg.size()));
  StoreBe16(seg.data() + 6, c);
  ChecksumAccumulator verify;
  verify.AddIpv4PseudoHeader(src, dst, static_cast<uint16_t>(seg.size()), 17);
  verify.Add(seg.data(), seg.size());
  EXPECT_EQ(verify.Finish(), 0);
  UdpHeader back;
  ASSERT_EQ(ParseUdp(ByteSpan(seg.data(), seg.size()), &back), L4Error::kOk);
  EXPECT_EQ(back.src_port, 0xffff);
  EXPECT_EQ(back.payload.size, 5u);
  for (size_t len = 0; len < seg.size(); ++len) {
    EXPECT_EQ(ParseUdp(ByteSpan(seg.data(), len), &back), L4Error::kTruncated) << len;
  }
  seg[5] = 7;  // length 7 < 8
  EXPECT_EQ(ParseUdp(ByteSpan(seg.data(), seg.size()), &back), L4Error::kBadLength);
}

TEST(L4Test, TcpSctpIcmp) {
  const uint8_t tcp[] = {0x00, 0x50, 0xc0, 0x01, 0xff, 0xff, 0xff, 0xff, 0, 0, 0,    1,  0x60,
                         0x12, 0xff, 0xff, 0,    0,    0,    0,    2,    4, 5, 0xb4, 'x'};
  TcpHeader t;
  ASSERT_EQ(ParseTcp(ByteSpan(tcp, sizeof tcp), &t), L4Error::kOk);
  EXPECT_EQ(t.src_port, 80);
  EXPECT_EQ(t.dst_port, 0xc001);
  EXPECT_EQ(t.seq, 0xffffffffu);
  EXPECT_EQ(t.header_length, 24u);
  EXPECT_EQ(t.flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(t.payload.size, 1u);
  for (size_t len = 0; len < 24; ++len) {
    EXPECT_EQ(ParseTcp(ByteSpan(tcp, len), &t), L4Error::kTruncated) << len;
  }
  SctpHeader s;
  ASSERT_EQ(ParseSctp(ByteSpan(tcp, 12), &s), L4Error::kOk);
  EXPECT_EQ(s.verification_tag, 0xffffffffu);
  EXPECT_EQ(ParseSctp(ByteSpan(tcp, 7), &s), L4Error::kTruncated);
  const uint8_t echo[] = {8,    0,    0xe5, 0xca,
                          0x12, 0x34, 0x00, 0x01};  // checksum ~(0x0800+0x1234+0x0001)
  IcmpHeader i;
  ASSERT_EQ(ParseIcmp(ByteSpan(echo, sizeof echo), &i), L4Error::kOk);
  EXPECT_EQ(i.type, 8);
  EXPECT_EQ(i.id, 0x1234);
  EXPECT_EQ(InternetChecksum(echo, sizeof echo), 0);
  EXPECT_EQ(ParseIcmp(ByteSpan(echo, 3), &i), L4Error::kTruncated);
}

}  // namespace
}  // namespace pktkit
