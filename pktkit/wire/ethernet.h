// pktkit/wire/ethernet.h — Ethernet II with 802.1Q / 802.1ad (QinQ) / legacy 0x9100 tags.
//
// ParseEthernet reads the MAC addresses, walks up to kMaxVlanTags stacked tags and returns the
// EtherType after them and where the network header starts. SerializeEthernet writes the
// same header back (MACs, tags, EtherType), so parse → serialize gives the original bytes.
//
//   pktkit::EthernetHeader eth;
//   if (pktkit::ParseEthernet(pktkit::ByteSpan(frame, len), &eth) != pktkit::EthernetError::kOk)
//     return;                                   // counted by the caller
//   if (eth.ethertype == pktkit::kEtherTypeIpv4) HandleIpv4(eth.payload);
//
// The result points into the caller's frame (no copy) and is valid while the frame is.
// References: IEEE 802.3 §3.2.6 (Length/Type), IEEE 802.1Q-2018 §9.5–9.6 (tag format).
#ifndef PKTKIT_WIRE_ETHERNET_H_
#define PKTKIT_WIRE_ETHERNET_H_

#include <cstddef>
#include <cstdint>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/link_type.h"

namespace pktkit {

inline constexpr size_t kMaxVlanTags = 4;
inline constexpr size_t kEthernetHeaderSize = 14;
inline constexpr size_t kVlanTagSize = 4;

struct EthernetHeader {
  uint8_t dst[6] = {};
  uint8_t src[6] = {};
  uint8_t vlan_count = 0;       // tags present in the bytes
  VlanTag vlans[kMaxVlanTags];  // index 0 outermost
  uint16_t ethertype = 0;       // after the tags
  size_t payload_offset = 0;    // where the network header starts
  ByteSpan payload;             // frame bytes from payload_offset on (no copy)
};

// kCount is the number of values (it sizes counter arrays) and is never returned.
enum class EthernetError : uint8_t { kOk, kTruncated, kTooManyTags, kCount };

inline const char* EthernetErrorName(EthernetError e) {
  switch (e) {
    case EthernetError::kOk:
      return "ok";
    case EthernetError::kTruncated:
      return "ethernet_truncated";
    case EthernetError::kTooManyTags:
      return "ethernet_too_many_tags";
    case EthernetError::kCount:
      break;
  }
  return "ethernet_unknown";
}

// Reads the header of `frame`. Errors: kTruncated (shorter than its header and tags),
// kTooManyTags (more than kMaxVlanTags stacked tags).
inline EthernetError ParseEthernet(ByteSpan frame, EthernetHeader* out) {
  ByteReader r(frame);
  *out = EthernetHeader();
  if (!r.ReadBytes(out->dst, 6) || !r.ReadBytes(out->src, 6)) return EthernetError::kTruncated;
  uint16_t type = 0;
  if (!r.ReadU16(&type)) return EthernetError::kTruncated;
  while (IsVlanTpid(type)) {
    if (out->vlan_count == kMaxVlanTags) return EthernetError::kTooManyTags;
    VlanTag tag;
    tag.tpid = type;
    if (!r.ReadU16(&tag.tci) || !r.ReadU16(&type)) return EthernetError::kTruncated;
    out->vlans[out->vlan_count++] = tag;
  }
  out->ethertype = type;
  out->payload_offset = r.position();
  out->payload = r.Rest();
  return EthernetError::kOk;
}

// Size of the header SerializeEthernet writes for `h`.
inline size_t EthernetHeaderSize(const EthernetHeader& h) {
  return kEthernetHeaderSize + kVlanTagSize * h.vlan_count;
}

// Writes MACs, the tags and the EtherType (not the payload). False when `w` lacks room or
// vlan_count exceeds kMaxVlanTags.
inline bool SerializeEthernet(const EthernetHeader& h, ByteWriter* w) {
  if (h.vlan_count > kMaxVlanTags) return w->Fail();
  w->WriteBytes(h.dst, 6);
  w->WriteBytes(h.src, 6);
  for (size_t i = 0; i < h.vlan_count; ++i) {
    w->WriteU16(h.vlans[i].tpid);
    w->WriteU16(h.vlans[i].tci);
  }
  return w->WriteU16(h.ethertype);
}

}  // namespace pktkit

#endif  // PKTKIT_WIRE_ETHERNET_H_
