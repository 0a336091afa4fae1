// Real captures through the Ethernet → IPv4/IPv6 → L4 parsers: every header re-serializes to
// the captured bytes, and stripping then reinserting the outer VLAN tag restores the frame.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/ipv4.h"
#include "pktkit/wire/ipv6.h"
#include "pktkit/wire/l4.h"
#include "pktkit/wire/vlan.h"
#include "tests/testing/shared_pcaps.h"

namespace pktkit {
namespace {

std::vector<std::vector<uint8_t>> ReadAll(const std::string& name) {
  std::vector<std::vector<uint8_t>> out;
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(("../shared_pcaps/" + name).c_str(), err);
  EXPECT_NE(p, nullptr) << "missing capture " << name << ": " << err;
  if (p == nullptr) return out;
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  while (pcap_next_ex(p, &h, &d) == 1) out.emplace_back(d, d + h->caplen);
  pcap_close(p);
  EXPECT_FALSE(out.empty()) << name;
  return out;
}

struct Counts {
  size_t frames = 0, tagged = 0, ipv4 = 0, ipv6 = 0, tcp = 0, udp = 0, fragments = 0;
};

// Parses one frame all the way down and checks every re-serialized header against the bytes.
void CheckFrame(const std::vector<uint8_t>& f, Counts* c) {
  ++c->frames;
  EthernetHeader eth;
  ASSERT_EQ(ParseEthernet(ByteSpan(f.data(), f.size()), &eth), EthernetError::kOk);
  if (eth.vlan_count > 0) ++c->tagged;
  uint8_t buf[80];
  ByteWriter w(buf, sizeof buf);
  ASSERT_TRUE(SerializeEthernet(eth, &w));
  ASSERT_EQ(w.size(), eth.payload_offset);
  EXPECT_EQ(std::memcmp(buf, f.data(), w.size()), 0);
  uint8_t proto = 0;
  ByteSpan l4;
  bool first_fragment = true;
  if (eth.ethertype == kEtherTypeIpv4) {
    ++c->ipv4;
    Ipv4Header ip;
    ASSERT_EQ(ParseIpv4(eth.payload, &ip), Ipv4Error::kOk);
    uint8_t h4[60];
    ByteWriter w4(h4, sizeof h4);
    ASSERT_TRUE(SerializeIpv4(ip, ip.total_length - ip.header_length, &w4));
    ASSERT_EQ(w4.size(), ip.header_length);
    // Real stacks send correct checksums, so the whole header round-trips byte for byte.
    EXPECT_EQ(std::memcmp(h4, eth.payload.data, ip.header_length), 0);
    proto = ip.protocol;
    l4 = ip.payload;
    if (IsFragment(ip)) ++c->fragments;
    first_fragment = ip.fragment_offset == 0;
  } else if (eth.ethertype == kEtherTypeIpv6) {
    ++c->ipv6;
    Ipv6Header ip;
    ASSERT_EQ(ParseIpv6(eth.payload, &ip), Ipv6Error::kOk);
    if (ip.has_fragment) ++c->fragments;
    first_fragment = !ip.has_fragment || ip.fragment_offset == 0;
    proto = ip.next_header;
    l4 = ip.payload;
  } else {
    return;
  }
  if (!first_fragment) return;
  if (proto == kIpProtoTcp) {
    ++c->tcp;
    TcpHeader tcp;
    ASSERT_EQ(ParseTcp(l4, &tcp), L4Error::kOk);
    EXPECT_EQ(tcp.src_port, LoadBe16(l4.data));
  } else if (proto == kIpProtoUdp) {
    ++c->udp;
    UdpHeader udp;
    const L4Error e = ParseUdp(l4, &udp);
    if (e == L4Error::kOk) {
      uint8_t h8[8];
      ByteWriter w8(h8, 8);
      ASSERT_TRUE(SerializeUdp(udp, &w8));
      EXPECT_EQ(std::memcmp(h8, l4.data, 8), 0);
    } else {
      EXPECT_EQ(e, L4Error::kTruncated);  // a first fragment: Length covers the whole datagram
    }
  }
}

TEST(WirePcapTest, BroOrgEveryFrameParsesAndRoundTrips) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  Counts c;
  for (const auto& f : ReadAll("bro.org.pcap")) CheckFrame(f, &c);
  EXPECT_GT(c.tcp, 500u);
}

TEST(WirePcapTest, FragmentedIpv6DnsParses) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  Counts c;
  for (const auto& f : ReadAll("ipv6-fragmented-dns.pcap")) CheckFrame(f, &c);
  EXPECT_EQ(c.ipv6, c.frames);
  EXPECT_EQ(c.fragments, 4u);
}

TEST(WirePcapTest, VlanAndQinQCapturesParseAndReinsertionRestoresThem) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  for (const char* name : {"http-vlan-0.pcap", "http-qinq-0.pcap"}) {
    Counts c;
    const auto frames = ReadAll(name);
    for (const auto& f : frames) {
      CheckFrame(f, &c);
      EthernetHeader eth;
      ASSERT_EQ(ParseEthernet(ByteSpan(f.data(), f.size()), &eth), EthernetError::kOk);
      ASSERT_GE(eth.vlan_count, 1);
      // Strip the outer tag as a NIC would (MACs move 4 bytes later), then reinsert it.
      std::vector<uint8_t> buf(f);
      std::memmove(buf.data() + 4, buf.data(), 12);
      VlanInsertResult r = InsertVlanTag(buf.data() + 4, buf.size() - 4, 4, eth.vlans[0]);
      ASSERT_EQ(r.error, VlanInsertError::kOk);
      ASSERT_EQ(r.length, f.size());
      EXPECT_EQ(std::memcmp(r.frame, f.data(), f.size()), 0) << name;
    }
    EXPECT_EQ(c.tagged, c.frames) << name;
    EXPECT_GT(c.tcp, 0u) << name;
  }
  Counts qinq;
  for (const auto& f : ReadAll("http-qinq-0.pcap")) {
    EthernetHeader eth;
    ASSERT_EQ(ParseEthernet(ByteSpan(f.data(), f.size()), &eth), EthernetError::kOk);
    EXPECT_EQ(eth.vlan_count, 2);
    EXPECT_EQ(eth.vlans[0].vid(), 0);
  }
}

// RFC 8200 §4.5: in a non-first fragment the bytes after the fragment header are data, even
// when they look like an extension header; the walk stops and reports the fragment's Next Header.
TEST(Ipv6FragmentTest, NonFirstFragmentIsNotWalkedAsHeaders) {
  std::vector<uint8_t> p(40 + 8 + 16);
  Ipv6Header base;
  base.next_header = kIpv6ExtFragment;
  ByteWriter w(p.data(), p.size());
  ASSERT_TRUE(SerializeIpv6(base, 24, &w));
  w.WriteU8(kIpv6ExtDestination);  // fragment header: next = Destination Options
  w.WriteU8(0);
  w.WriteU16(static_cast<uint16_t>(100 << 3));  // offset 100, last fragment
  w.WriteU32(7);
  w.WriteU8(kIpProtoUdp);  // looks like a DST header with length 255 (would overrun)
  w.WriteU8(255);
  w.WriteZeros(14);
  ASSERT_TRUE(w.ok());
  Ipv6Header h;
  ASSERT_EQ(ParseIpv6(ByteSpan(p.data(), p.size()), &h), Ipv6Error::kOk);
  EXPECT_TRUE(h.has_fragment);
  EXPECT_EQ(h.fragment_offset, 100);
  EXPECT_EQ(h.next_header, kIpv6ExtDestination);
  EXPECT_EQ(h.fragment_next_header, kIpv6ExtDestination);
  EXPECT_EQ(h.header_length, 48u);
  EXPECT_EQ(h.payload.size, 16u);
}

// Fuzzer find: the must-be-zero flag bit was dropped on serialize; it now round-trips.
TEST(Ipv4FlagsTest, ReservedFlagRoundTrips) {
  Ipv4Header h;
  h.reserved_flag = true;
  h.dont_fragment = true;
  h.more_fragments = true;
  h.fragment_offset = 0x1fff;
  uint8_t buf[20];
  ByteWriter w(buf, sizeof buf);
  ASSERT_TRUE(SerializeIpv4(h, 0, &w));
  EXPECT_EQ(LoadBe16(buf + 6), 0xffff);
  Ipv4Header back;
  ASSERT_EQ(ParseIpv4(ByteSpan(buf, sizeof buf), &back), Ipv4Error::kOk);
  EXPECT_TRUE(back.reserved_flag);
  EXPECT_TRUE(back.dont_fragment);
  EXPECT_EQ(back.fragment_offset, 0x1fff);
}

}  // namespace
}  // namespace pktkit
