// pktkit/wire/link_type.h — pcap link types and 802.1Q/802.1ad tag values.
//
// Shared by the wire layer (decapsulation says what the inner packet is), the flow layer
// (where the network header starts) and the io layer (what a capture file holds).
//
//   if (view.link_type == pktkit::LinkType::kRaw) { /* IPv4 or IPv6, by version nibble */ }
//
// References: https://www.tcpdump.org/linktypes.html; IEEE 802.1Q-2018 §9.6 (TCI layout).
#ifndef PKTKIT_WIRE_LINK_TYPE_H_
#define PKTKIT_WIRE_LINK_TYPE_H_

#include <cstdint>

namespace pktkit {

// pcap LINKTYPE_* values.
enum class LinkType : uint16_t {
  kNull = 0,
  kEthernet = 1,     // LINKTYPE_ETHERNET
  kPpp = 9,          // LINKTYPE_PPP
  kRaw = 101,        // LINKTYPE_RAW: IPv4 or IPv6, told apart by the version nibble
  kLinuxSll = 113,   // LINKTYPE_LINUX_SLL
  kNflog = 239,      // LINKTYPE_NFLOG
  kLinuxSll2 = 276,  // LINKTYPE_LINUX_SLL2
};

// EtherType / TPID values used across pktkit.
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEtherTypeTransparentEthernet = 0x6558;  // GENEVE "Ethernet"
inline constexpr uint16_t kTpid8021Q = 0x8100;    // C-tag
inline constexpr uint16_t kTpid8021AD = 0x88a8;   // S-tag (QinQ outer)
inline constexpr uint16_t kTpidLegacyQinQ = 0x9100;  // pre-standard QinQ outer tag

inline constexpr bool IsVlanTpid(uint16_t ethertype) {
  return ethertype == kTpid8021Q || ethertype == kTpid8021AD || ethertype == kTpidLegacyQinQ;
}

// An 802.1Q/802.1ad tag: TPID and TCI (PCP:3 DEI:1 VID:12, IEEE 802.1Q §9.6).
struct VlanTag {
  uint16_t tpid = 0;
  uint16_t tci = 0;

  constexpr uint16_t vid() const { return tci & 0x0fff; }
  constexpr uint8_t pcp() const { return static_cast<uint8_t>(tci >> 13); }
  constexpr bool dei() const { return (tci & 0x1000) != 0; }
};

}  // namespace pktkit

#endif  // PKTKIT_WIRE_LINK_TYPE_H_
