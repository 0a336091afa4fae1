// pktkit/flow/flow_key.h — a fixed-size flow key that is symmetric by construction, and its
// extraction from an Ethernet (any number of VLAN tags up to kMaxVlanTags) or raw IP frame.
//
// A FlowKey stores its two endpoints in canonical order (the smaller (address, port) first),
// so both directions of a connection produce byte-identical keys: equality, ordering and
// every hash over a FlowKey are symmetric without further care. Which side sent the packet
// is reported beside the key (FlowKeyInfo::reversed), never inside it.
//
//   pktkit::FlowKeyInfo info;
//   if (pktkit::ExtractFlowKey(frame, pktkit::LinkType::kEthernet, &info) ==
//       pktkit::FlowKeyError::kOk)
//     table[info.key.AddressesAndProtocol()]++;   // fragment-safe grouping
//
// Ports: TCP/UDP/SCTP source and destination ports; ICMP/ICMPv6 echo request/reply use the
// echo identifier as both ports (so request and reply match); other ICMP and other protocols
// have ports 0. Fragments (IPv4 MF or offset != 0; IPv6 with a fragment header) carry no
// ports, and their protocol is the fragment header's Next Header (IPv6) or the IPv4 Protocol
// field, which is the same in every fragment. See docs/flow-hashing.md.
// Nothing here allocates; the key is a copy (it does not point into the frame).
// References: RFC 791, RFC 8200 §4.5, RFC 792/4443 (echo identifier).
#ifndef PKTKIT_FLOW_FLOW_KEY_H_
#define PKTKIT_FLOW_FLOW_KEY_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/ipv4.h"
#include "pktkit/wire/ipv6.h"
#include "pktkit/wire/l4.h"
#include "pktkit/wire/link_type.h"

namespace pktkit {

// The canonical flow key: 40 bytes, no padding, comparable with memcmp semantics.
struct FlowKey {
  uint8_t addr_lo[16] = {};  // the smaller endpoint's address (IPv4 in the first 4 bytes)
  uint8_t addr_hi[16] = {};  // the larger endpoint's address
  uint16_t port_lo = 0;      // port of addr_lo's endpoint
  uint16_t port_hi = 0;      // port of addr_hi's endpoint
  uint8_t protocol = 0;      // IP protocol / IPv6 upper-layer Next Header
  uint8_t family = 0;        // 4 or 6
  uint8_t reserved[2] = {};  // always zero, so the key has no indeterminate bytes

  // Builds the canonical key from one packet's view of the flow. `src`/`dst` hold 4 (family
  // 4) or 16 bytes. Sets *reversed (if given) when the packet's source became the hi side.
  static FlowKey Make(uint8_t family, const uint8_t* src, const uint8_t* dst, uint16_t src_port,
                      uint16_t dst_port, uint8_t protocol, bool* reversed = nullptr) {
    FlowKey k;
    k.family = family;
    k.protocol = protocol;
    // Constant-size compares and copies so the compiler inlines them (no libc calls).
    int c = family == 6 ? std::memcmp(src, dst, 16) : std::memcmp(src, dst, 4);
    if (c == 0) c = src_port < dst_port ? -1 : (src_port > dst_port ? 1 : 0);
    const bool swap = c > 0;
    if (family == 6) {
      std::memcpy(k.addr_lo, swap ? dst : src, 16);
      std::memcpy(k.addr_hi, swap ? src : dst, 16);
    } else {
      std::memcpy(k.addr_lo, swap ? dst : src, 4);
      std::memcpy(k.addr_hi, swap ? src : dst, 4);
    }
    k.port_lo = swap ? dst_port : src_port;
    k.port_hi = swap ? src_port : dst_port;
    if (reversed != nullptr) *reversed = swap;
    return k;
  }

  size_t address_size() const { return family == 6 ? 16 : 4; }
  bool has_ports() const { return port_lo != 0 || port_hi != 0; }

  // The same flow without ports (fragment-safe: every fragment and the reply agree).
  FlowKey AddressesAndProtocol() const {
    FlowKey k = *this;
    k.port_lo = 0;
    k.port_hi = 0;
    // Equal addresses were ordered by port; without ports the order is fixed anyway.
    return k;
  }

  // True when the key is in canonical order (always, for keys built by Make).
  bool IsCanonical() const {
    const int c = std::memcmp(addr_lo, addr_hi, sizeof addr_lo);
    return c < 0 || (c == 0 && port_lo <= port_hi);
  }

  friend bool operator==(const FlowKey& a, const FlowKey& b) {
    return std::memcmp(a.addr_lo, b.addr_lo, 16) == 0 &&
           std::memcmp(a.addr_hi, b.addr_hi, 16) == 0 && a.port_lo == b.port_lo &&
           a.port_hi == b.port_hi && a.protocol == b.protocol && a.family == b.family;
  }
  friend bool operator!=(const FlowKey& a, const FlowKey& b) { return !(a == b); }
  friend bool operator<(const FlowKey& a, const FlowKey& b) {
    if (a.family != b.family) return a.family < b.family;
    if (int c = std::memcmp(a.addr_lo, b.addr_lo, 16)) return c < 0;
    if (int c = std::memcmp(a.addr_hi, b.addr_hi, 16)) return c < 0;
    if (a.port_lo != b.port_lo) return a.port_lo < b.port_lo;
    if (a.port_hi != b.port_hi) return a.port_hi < b.port_hi;
    return a.protocol < b.protocol;
  }
};
static_assert(sizeof(FlowKey) == 40, "FlowKey must stay 40 bytes without padding");

enum class FlowKeyError : uint8_t {
  kOk,
  kUnsupportedLinkType,  // not kEthernet or kRaw
  kEthernetTruncated,
  kTooManyVlanTags,
  kNotIp,          // EtherType (after tags) / version nibble is neither IPv4 nor IPv6
  kIpv4Malformed,  // ParseIpv4 failed (FlowKeyInfo::ipv4_error says how)
  kIpv6Malformed,  // ParseIpv6 failed (FlowKeyInfo::ipv6_error says how)
  kL4Truncated,    // the first fragment / whole packet lacks the port bytes
  kCount,          // number of values (sizes counter arrays); never returned
};

inline const char* FlowKeyErrorName(FlowKeyError e) {
  switch (e) {
    case FlowKeyError::kOk:
      return "ok";
    case FlowKeyError::kUnsupportedLinkType:
      return "flow_unsupported_link_type";
    case FlowKeyError::kEthernetTruncated:
      return "flow_ethernet_truncated";
    case FlowKeyError::kTooManyVlanTags:
      return "flow_too_many_vlan_tags";
    case FlowKeyError::kNotIp:
      return "flow_not_ip";
    case FlowKeyError::kIpv4Malformed:
      return "flow_ipv4_malformed";
    case FlowKeyError::kIpv6Malformed:
      return "flow_ipv6_malformed";
    case FlowKeyError::kL4Truncated:
      return "flow_l4_truncated";
    case FlowKeyError::kCount:
      break;
  }
  return "flow_unknown";
}

struct FlowKeyInfo {
  FlowKey key;
  bool reversed = false;        // the packet's source is the key's hi endpoint
  bool is_fragment = false;     // an IP fragment (its key has no ports)
  uint8_t vlan_count = 0;       // tags walked on the way
  size_t network_offset = 0;    // where the IP header starts in the frame
  size_t transport_offset = 0;  // where the L4 header starts (0 for fragments and non-IP)
  Ipv4Error ipv4_error = Ipv4Error::kOk;
  Ipv6Error ipv6_error = Ipv6Error::kOk;
};

namespace internal {

inline constexpr uint8_t kIcmpEchoRequest = 8;  // RFC 792
inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpv6EchoRequest = 128;  // RFC 4443 §4
inline constexpr uint8_t kIcmpv6EchoReply = 129;

// Reads the ports of `protocol` from the start of `l4`. Ports are read directly (not through
// ParseUdp) so a snapped capture whose UDP Length runs past the captured bytes still keys.
inline bool ReadFlowPorts(uint8_t protocol, ByteSpan l4, uint16_t* sport, uint16_t* dport) {
  ByteReader r(l4);
  *sport = 0;
  *dport = 0;
  switch (protocol) {
    case kIpProtoTcp:
    case kIpProtoUdp:
    case kIpProtoSctp:
      return r.ReadU16(sport) && r.ReadU16(dport);
    case kIpProtoIcmp:
    case kIpProtoIcmpv6: {
      IcmpHeader icmp;
      if (ParseIcmp(l4, &icmp) != L4Error::kOk) return false;
      const bool echo = protocol == kIpProtoIcmp
                            ? (icmp.type == kIcmpEchoRequest || icmp.type == kIcmpEchoReply)
                            : (icmp.type == kIcmpv6EchoRequest || icmp.type == kIcmpv6EchoReply);
      if (echo) {
        if (l4.size < 6) return false;
        *sport = icmp.id;
        *dport = icmp.id;
      }
      return true;
    }
    default:
      return true;  // no ports
  }
}

inline size_t OffsetIn(ByteSpan whole, ByteSpan part) {
  return static_cast<size_t>(part.data - whole.data);
}

inline FlowKeyError ExtractFromIp(ByteSpan ip, FlowKeyInfo* out) {
  uint8_t first = 0;
  if (!ByteReader(ip).PeekU8(&first)) return FlowKeyError::kNotIp;
  uint16_t sport = 0;
  uint16_t dport = 0;
  if ((first >> 4) == 4) {
    Ipv4Header h;
    out->ipv4_error = ParseIpv4(ip, &h);
    if (out->ipv4_error != Ipv4Error::kOk) return FlowKeyError::kIpv4Malformed;
    out->is_fragment = IsFragment(h);
    if (!out->is_fragment) out->transport_offset = out->network_offset + OffsetIn(ip, h.payload);
    if (!out->is_fragment && !ReadFlowPorts(h.protocol, h.payload, &sport, &dport)) {
      return FlowKeyError::kL4Truncated;
    }
    out->key = FlowKey::Make(4, h.src, h.dst, sport, dport, h.protocol, &out->reversed);
    return FlowKeyError::kOk;
  }
  if ((first >> 4) == 6) {
    Ipv6Header h;
    out->ipv6_error = ParseIpv6(ip, &h);
    if (out->ipv6_error != Ipv6Error::kOk) return FlowKeyError::kIpv6Malformed;
    out->is_fragment = h.has_fragment;
    if (!out->is_fragment) out->transport_offset = out->network_offset + OffsetIn(ip, h.payload);
    const uint8_t protocol = h.has_fragment ? h.fragment_next_header : h.next_header;
    if (!out->is_fragment && !ReadFlowPorts(protocol, h.payload, &sport, &dport)) {
      return FlowKeyError::kL4Truncated;
    }
    out->key = FlowKey::Make(6, h.src, h.dst, sport, dport, protocol, &out->reversed);
    return FlowKeyError::kOk;
  }
  return FlowKeyError::kNotIp;
}

}  // namespace internal

// Extracts the canonical flow key of `frame`. Reads the Ethernet header and VLAN tags
// (kEthernet) or starts at the IP header (kRaw), then IPv4/IPv6 (extension chain walked) and
// the first bytes of TCP/UDP/SCTP/ICMP. Errors: see FlowKeyError. On error `out->key` is
// unspecified.
inline FlowKeyError ExtractFlowKey(ByteSpan frame, LinkType link_type, FlowKeyInfo* out) {
  *out = FlowKeyInfo();
  ByteSpan ip;
  if (link_type == LinkType::kEthernet) {
    EthernetHeader eth;
    switch (ParseEthernet(frame, &eth)) {
      case EthernetError::kOk:
        break;
      case EthernetError::kTooManyTags:
        return FlowKeyError::kTooManyVlanTags;
      case EthernetError::kTruncated:
      default:
        return FlowKeyError::kEthernetTruncated;
    }
    out->vlan_count = eth.vlan_count;
    if (eth.ethertype != kEtherTypeIpv4 && eth.ethertype != kEtherTypeIpv6) {
      return FlowKeyError::kNotIp;
    }
    out->network_offset = eth.payload_offset;
    ip = eth.payload;
  } else if (link_type == LinkType::kRaw) {
    ip = frame;
  } else {
    return FlowKeyError::kUnsupportedLinkType;
  }
  return internal::ExtractFromIp(ip, out);
}

}  // namespace pktkit

#endif  // PKTKIT_FLOW_FLOW_KEY_H_
