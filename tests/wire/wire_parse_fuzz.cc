// Fuzzes the Ethernet → IPv4/IPv6 → TCP/UDP/SCTP/ICMP parse chain. Properties: every span a
// parser hands out lies inside the input; Ethernet, IPv4 (but the checksum) and UDP headers
// re-serialize to the input bytes; IPv6's header length and payload add up.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tests/fuzz/fuzz_check.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/ipv4.h"
#include "pktkit/wire/ipv6.h"
#include "pktkit/wire/l4.h"

namespace {

bool Inside(pktkit::ByteSpan outer, pktkit::ByteSpan inner) {
  if (inner.size == 0) return true;
  return inner.data >= outer.data && inner.size <= outer.size &&
         static_cast<size_t>(inner.data - outer.data) <= outer.size - inner.size;
}

void ParseL4(uint8_t proto, pktkit::ByteSpan l4) {
  using namespace pktkit;
  if (proto == kIpProtoUdp) {
    UdpHeader u;
    if (ParseUdp(l4, &u) == L4Error::kOk) {
      PKTKIT_FUZZ_CHECK(Inside(l4, u.payload));
      PKTKIT_FUZZ_CHECK(u.payload.size + kUdpHeaderSize == u.length);
      uint8_t b[8];
      ByteWriter w(b, 8);
      PKTKIT_FUZZ_CHECK(SerializeUdp(u, &w));
      PKTKIT_FUZZ_CHECK(std::memcmp(b, l4.data, 8) == 0);
    }
  } else if (proto == kIpProtoTcp) {
    TcpHeader t;
    if (ParseTcp(l4, &t) == L4Error::kOk) {
      PKTKIT_FUZZ_CHECK(Inside(l4, t.payload));
      PKTKIT_FUZZ_CHECK(t.header_length + t.payload.size == l4.size);
    }
  } else if (proto == kIpProtoSctp) {
    SctpHeader s;
    PKTKIT_FUZZ_CHECK((ParseSctp(l4, &s) == L4Error::kOk) == (l4.size >= 8));
  } else if (proto == kIpProtoIcmp || proto == kIpProtoIcmpv6) {
    IcmpHeader i;
    PKTKIT_FUZZ_CHECK((ParseIcmp(l4, &i) == L4Error::kOk) == (l4.size >= 4));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pktkit;
  const ByteSpan frame(data, size);
  EthernetHeader eth;
  if (ParseEthernet(frame, &eth) != EthernetError::kOk) return 0;
  PKTKIT_FUZZ_CHECK(eth.vlan_count <= kMaxVlanTags);
  PKTKIT_FUZZ_CHECK(eth.payload_offset == 14 + 4 * size_t{eth.vlan_count});
  PKTKIT_FUZZ_CHECK(eth.payload.size == size - eth.payload_offset);
  uint8_t hdr[14 + 4 * kMaxVlanTags];
  ByteWriter w(hdr, sizeof hdr);
  PKTKIT_FUZZ_CHECK(SerializeEthernet(eth, &w));
  PKTKIT_FUZZ_CHECK(w.size() == eth.payload_offset);
  PKTKIT_FUZZ_CHECK(std::memcmp(hdr, data, w.size()) == 0);

  // Try both IP versions on every payload, whatever the EtherType says.
  Ipv4Header ip4;
  if (ParseIpv4(eth.payload, &ip4) == Ipv4Error::kOk) {
    PKTKIT_FUZZ_CHECK(Inside(eth.payload, ip4.payload) && Inside(eth.payload, ip4.options));
    PKTKIT_FUZZ_CHECK(ip4.payload.size <= ip4.total_length - ip4.header_length);
    uint8_t h4[60];
    ByteWriter w4(h4, sizeof h4);
    PKTKIT_FUZZ_CHECK(SerializeIpv4(ip4, ip4.total_length - ip4.header_length, &w4));
    PKTKIT_FUZZ_CHECK(w4.size() == ip4.header_length);
    PKTKIT_FUZZ_CHECK(std::memcmp(h4, eth.payload.data, 10) == 0);
    PKTKIT_FUZZ_CHECK(std::memcmp(h4 + 12, eth.payload.data + 12, ip4.header_length - 12) == 0);
    if (ip4.fragment_offset == 0) ParseL4(ip4.protocol, ip4.payload);
  }
  Ipv6Header ip6;
  if (ParseIpv6(eth.payload, &ip6) == Ipv6Error::kOk) {
    PKTKIT_FUZZ_CHECK(Inside(eth.payload, ip6.payload));
    PKTKIT_FUZZ_CHECK(ip6.header_length >= kIpv6HeaderSize);
    PKTKIT_FUZZ_CHECK(ip6.payload.data == eth.payload.data + ip6.header_length);
    PKTKIT_FUZZ_CHECK(ip6.header_length - kIpv6HeaderSize + ip6.payload.size <= ip6.payload_length);
    if (!ip6.has_fragment || ip6.fragment_offset == 0) ParseL4(ip6.next_header, ip6.payload);
  }
  return 0;
}
