// pktkit/wire/link_layer.h — where the network layer of a captured frame starts, for every link
// type pktkit reads: Ethernet (with 802.1Q/802.1ad/0x9100 tags), Linux cooked capture v1 and v2
// (SLL, SLL2, with a VLAN tag in the payload), NFLOG records, and raw IPv4/IPv6.
//
// One parser for everything that needs "the IP packet inside this frame, and its EtherType":
// the link-type normalisation transform (pktkit/io/normalize_transform.h), the forwarder, the
// offline tunnel receiver. It is built on ParseEthernet (pktkit/wire/ethernet.h) and the NFLOG
// TLV iterator (pktkit/wire/nflog.h), not on copies of them.
//
//   pktkit::LinkLayer ll;
//   pktkit::LinkLayerError e = pktkit::ParseLinkLayer(frame, pktkit::LinkType::kLinuxSll2, &ll);
//   if (e != pktkit::LinkLayerError::kOk) drops[pktkit::LinkLayerErrorName(e)]++;
//   else if (ll.ethertype == pktkit::kEtherTypeIpv4) HandleIpv4(ll.l3);
//
//   uint8_t eth[pktkit::kEthernetHeaderSize];             // Ethernet for a raw-IP input
//   pktkit::WriteSynthesizedEthernet(ll.ethertype, eth);  // then eth + ll.l3 is the frame
//
// The result points into the caller's frame (no copy) and is valid while the frame is. Nothing
// here allocates, throws or makes a syscall. NFLOG's TLV length/type fields are read in this
// host's byte order: LINKTYPE_NFLOG files carry the byte order of the machine that captured,
// and pktkit's own writers and Linux on x86/arm64 are little-endian.
// References: https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html, LINKTYPE_LINUX_SLL2.html,
// LINKTYPE_NFLOG.html; IEEE 802.1Q-2018 §9.6.
#ifndef PKTKIT_WIRE_LINK_LAYER_H_
#define PKTKIT_WIRE_LINK_LAYER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/link_type.h"
#include "pktkit/wire/nflog.h"

namespace pktkit {

inline constexpr size_t kLinuxSllHeaderSize = 16;   // LINKTYPE_LINUX_SLL
inline constexpr size_t kLinuxSll2HeaderSize = 20;  // LINKTYPE_LINUX_SLL2
inline constexpr size_t kSllProtocolOffset = 14;    // SLL: protocol type is the last field
inline constexpr size_t kSll2ProtocolOffset = 0;    // SLL2: protocol type is the first field
inline constexpr uint8_t kNflogFamilyIpv4 = 2;      // AF_INET
inline constexpr uint8_t kNflogFamilyIpv6 = 10;     // AF_INET6

// The locally administered MAC pair of a synthesized Ethernet header ("pkt" in ASCII), so a
// reader can tell it from a captured one: source 02:70:6b:74:00:01, destination ...:02.
inline constexpr uint8_t kSynthesizedSrcMac[6] = {0x02, 0x70, 0x6b, 0x74, 0x00, 0x01};
inline constexpr uint8_t kSynthesizedDstMac[6] = {0x02, 0x70, 0x6b, 0x74, 0x00, 0x02};

enum class LinkLayerError : uint8_t {
  kOk = 0,
  kTruncated,            // shorter than its link-layer header (or tags)
  kTooManyTags,          // more than kMaxVlanTags stacked VLAN tags
  kBadNflog,             // NFLOG: bad header, version or TLV length, or no payload TLV
  kUnsupportedLinkType,  // not Ethernet, raw IP, Linux SLL/SLL2 or NFLOG
  kNotIp,                // raw-IP / NFLOG input whose version or family is not IPv4/IPv6
  kCount,
};

// Stable snake_case names, used as Prometheus label values.
inline const char* LinkLayerErrorName(LinkLayerError e) {
  switch (e) {
    case LinkLayerError::kOk:
      return "ok";
    case LinkLayerError::kTruncated:
      return "truncated";
    case LinkLayerError::kTooManyTags:
      return "too_many_tags";
    case LinkLayerError::kBadNflog:
      return "bad_nflog";
    case LinkLayerError::kUnsupportedLinkType:
      return "unsupported_link_type";
    case LinkLayerError::kNotIp:
      return "not_ip";
    case LinkLayerError::kCount:
      break;
  }
  return "unknown";
}

// True for the link types ParseLinkLayer understands.
constexpr bool IsKnownLinkType(LinkType lt) {
  return lt == LinkType::kEthernet || lt == LinkType::kRaw || lt == LinkType::kLinuxSll ||
         lt == LinkType::kLinuxSll2 || lt == LinkType::kNflog;
}

// What a frame's link layer says. Spans point into the frame.
struct LinkLayer {
  LinkType link_type = LinkType::kEthernet;
  // The network layer (after the link header and every VLAN tag) and its EtherType. For
  // Ethernet and SLL/SLL2 this may be any EtherType (ARP, ...); raw IP and NFLOG give only
  // kEtherTypeIpv4 / kEtherTypeIpv6.
  ByteSpan l3;
  uint16_t ethertype = 0;
  // VLAN tags found in the bytes (Ethernet, or SLL/SLL2 with protocol 0x8100), outermost first.
  uint8_t vlan_count = 0;
  VlanTag vlans[kMaxVlanTags];
  // Ethernet only: the MAC addresses (zero otherwise).
  uint8_t dst[6] = {};
  uint8_t src[6] = {};
  bool has_macs = false;
};

namespace internal {

// The EtherType of a raw IP packet by its version nibble, 0 when neither 4 nor 6.
inline uint16_t RawIpEthertype(ByteSpan ip) {
  if (ip.empty()) return 0;
  const uint8_t version = ip.data[0] >> 4;
  return version == 4 ? kEtherTypeIpv4 : version == 6 ? kEtherTypeIpv6 : 0;
}

// SLL/SLL2 carry the frame's EtherType; an 802.1Q frame keeps its tags in the payload as
// TCI + inner EtherType pairs (the TPID is the protocol field itself).
inline LinkLayerError WalkCookedTags(uint16_t protocol, ByteSpan payload, LinkLayer* out) {
  ByteReader r(payload);
  uint16_t type = protocol;
  while (IsVlanTpid(type)) {
    if (out->vlan_count == kMaxVlanTags) return LinkLayerError::kTooManyTags;
    VlanTag tag;
    tag.tpid = type;
    if (!r.ReadU16(&tag.tci) || !r.ReadU16(&type)) return LinkLayerError::kTruncated;
    out->vlans[out->vlan_count++] = tag;
  }
  out->ethertype = type;
  out->l3 = r.Rest();
  return LinkLayerError::kOk;
}

// NFLOG: nfgenmsg (family, version, resource id) then TLVs; the payload TLV is the packet.
inline LinkLayerError NflogLinkLayer(ByteSpan record, LinkLayer* out) {
  ByteReader r(record);
  uint8_t family = 0, version = 0;
  uint16_t resource_id = 0;
  if (!r.ReadU8(&family) || !r.ReadU8(&version) || !r.ReadU16(&resource_id)) {
    return LinkLayerError::kTruncated;
  }
  if (version != kNfnetlinkV0) return LinkLayerError::kBadNflog;
  NflogTlvIterator it(r.Rest(), kHostTlvOrder);
  NflogTlv tlv;
  while (it.Next(&tlv)) {
    if (tlv.type != kNfulaPayload) continue;
    out->l3 = tlv.value;
    out->ethertype = family == kNflogFamilyIpv4   ? kEtherTypeIpv4
                     : family == kNflogFamilyIpv6 ? kEtherTypeIpv6
                                                  : RawIpEthertype(tlv.value);
    return out->ethertype == 0 ? LinkLayerError::kNotIp : LinkLayerError::kOk;
  }
  return LinkLayerError::kBadNflog;  // a bad TLV length, or no payload at all
}

}  // namespace internal

// Finds the network layer of `frame`, a captured frame of link type `lt`. Errors: kTruncated,
// kTooManyTags, kBadNflog, kUnsupportedLinkType, kNotIp (see LinkLayerError). On error `out`
// holds what was parsed before it.
inline LinkLayerError ParseLinkLayer(ByteSpan frame, LinkType lt, LinkLayer* out) {
  *out = LinkLayer();
  out->link_type = lt;
  switch (lt) {
    case LinkType::kEthernet: {
      EthernetHeader eth;
      const EthernetError e = ParseEthernet(frame, &eth);
      if (e != EthernetError::kOk) {
        return e == EthernetError::kTooManyTags ? LinkLayerError::kTooManyTags
                                                : LinkLayerError::kTruncated;
      }
      std::memcpy(out->dst, eth.dst, 6);
      std::memcpy(out->src, eth.src, 6);
      out->has_macs = true;
      out->vlan_count = eth.vlan_count;
      for (size_t i = 0; i < eth.vlan_count; ++i) out->vlans[i] = eth.vlans[i];
      out->ethertype = eth.ethertype;
      out->l3 = eth.payload;
      return LinkLayerError::kOk;
    }
    case LinkType::kRaw:
      if (frame.empty()) return LinkLayerError::kTruncated;
      out->l3 = frame;
      out->ethertype = internal::RawIpEthertype(frame);
      return out->ethertype == 0 ? LinkLayerError::kNotIp : LinkLayerError::kOk;
    case LinkType::kLinuxSll:
    case LinkType::kLinuxSll2: {
      const bool v2 = lt == LinkType::kLinuxSll2;
      const size_t header = v2 ? kLinuxSll2HeaderSize : kLinuxSllHeaderSize;
      ByteReader r(frame);
      uint16_t protocol = 0;
      if (!r.Seek(v2 ? kSll2ProtocolOffset : kSllProtocolOffset) || !r.ReadU16(&protocol) ||
          !r.Seek(header)) {
        return LinkLayerError::kTruncated;
      }
      return internal::WalkCookedTags(protocol, r.Rest(), out);
    }
    case LinkType::kNflog:
      return internal::NflogLinkLayer(frame, out);
    default:
      return LinkLayerError::kUnsupportedLinkType;
  }
}

// True when the network layer is IPv4 or IPv6.
inline bool IsIp(const LinkLayer& ll) {
  return ll.ethertype == kEtherTypeIpv4 || ll.ethertype == kEtherTypeIpv6;
}

// Writes a 14-byte Ethernet header with the synthesized MAC pair and `ethertype` to `out`
// (which must hold kEthernetHeaderSize bytes): what a raw-IP, SLL or NFLOG packet needs to
// become an Ethernet frame (VXLAN carries Ethernet only).
inline void WriteSynthesizedEthernet(uint16_t ethertype, uint8_t* out) {
  std::memcpy(out, kSynthesizedDstMac, 6);
  std::memcpy(out + 6, kSynthesizedSrcMac, 6);
  StoreBe16(out + 12, ethertype);
}

}  // namespace pktkit

#endif  // PKTKIT_WIRE_LINK_LAYER_H_
