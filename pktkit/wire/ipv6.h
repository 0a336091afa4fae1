// pktkit/wire/ipv6.h — IPv6 header (RFC 8200) with the extension-header chain walked to the
// upper-layer protocol, fragment header included.
//
//   pktkit::Ipv6Header ip6;
//   if (pktkit::ParseIpv6(eth.payload, &ip6) == pktkit::Ipv6Error::kOk) {
//     if (ip6.has_fragment && ip6.fragment_offset != 0) { /* no L4 header in this one */ }
//     HandleL4(ip6.next_header, ip6.payload);
//   }
//
// Walked: Hop-by-Hop (0), Routing (43), Fragment (44), Destination Options (60) and AH (51),
// at most kMaxIpv6Extensions of them; the walk stops at ESP (50), No Next Header (59) or any
// upper-layer protocol. Results point into the caller's buffer.
// References: RFC 8200 §3, §4 (extension headers), §4.5 (fragment); RFC 4302 §2.2 (AH length).
#ifndef PKTKIT_WIRE_IPV6_H_
#define PKTKIT_WIRE_IPV6_H_

#include <cstddef>
#include <cstdint>

#include "pktkit/wire/bytes.h"

namespace pktkit {

inline constexpr size_t kIpv6HeaderSize = 40;
inline constexpr size_t kMaxIpv6Extensions = 8;
inline constexpr uint8_t kIpv6ExtHopByHop = 0;
inline constexpr uint8_t kIpv6ExtRouting = 43;
inline constexpr uint8_t kIpv6ExtFragment = 44;
inline constexpr uint8_t kIpv6ExtEsp = 50;
inline constexpr uint8_t kIpv6ExtAh = 51;
inline constexpr uint8_t kIpv6NoNextHeader = 59;
inline constexpr uint8_t kIpv6ExtDestination = 60;
inline constexpr uint16_t kIpv6FragOffsetShift = 3;  // RFC 8200 §4.5: offset in the top 13 bits
inline constexpr uint16_t kIpv6FragMf = 0x0001;

struct Ipv6Header {
  uint8_t src[16] = {};
  uint8_t dst[16] = {};
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;  // 20 bits
  uint16_t payload_length = 0;
  uint8_t next_header = 0;  // the upper-layer protocol after the extension chain
  bool has_fragment = false;
  uint32_t fragment_id = 0;
  uint16_t fragment_offset = 0;  // in 8-byte units
  bool more_fragments = false;
  uint8_t fragment_next_header = 0;        // Next Header inside the fragment header (same in every
                                           // fragment of a datagram: the fragment-safe protocol)
  size_t header_length = kIpv6HeaderSize;  // 40 + extension headers
  ByteSpan payload;                        // upper-layer bytes (bounded by payload_length)
};

enum class Ipv6Error : uint8_t {
  kOk,
  kTruncated,
  kBadVersion,
  kBadPayloadLength,
  kTooManyExtensions,
  kBadExtension,
};

inline const char* Ipv6ErrorName(Ipv6Error e) {
  switch (e) {
    case Ipv6Error::kOk:
      return "ok";
    case Ipv6Error::kTruncated:
      return "ipv6_truncated";
    case Ipv6Error::kBadVersion:
      return "ipv6_bad_version";
    case Ipv6Error::kBadPayloadLength:
      return "ipv6_bad_payload_length";
    case Ipv6Error::kTooManyExtensions:
      return "ipv6_too_many_extensions";
    case Ipv6Error::kBadExtension:
      return "ipv6_bad_extension";
  }
  return "ipv6_unknown";
}

inline bool IsFragment(const Ipv6Header& h) { return h.has_fragment; }

// Parses the fixed header and walks the extension chain. Errors: kTruncated, kBadVersion
// (not 6), kBadPayloadLength (extension headers run past Payload Length), kTooManyExtensions,
// kBadExtension (a second fragment header).
inline Ipv6Error ParseIpv6(ByteSpan packet, Ipv6Header* out) {
  ByteReader r(packet);
  *out = Ipv6Header();
  uint32_t vtf = 0;
  if (!r.ReadU32(&vtf)) return Ipv6Error::kTruncated;
  if ((vtf >> 28) != 6) return Ipv6Error::kBadVersion;
  out->traffic_class = static_cast<uint8_t>(vtf >> 20);
  out->flow_label = vtf & 0xfffff;
  uint8_t next = 0;
  if (!r.ReadU16(&out->payload_length) || !r.ReadU8(&next) || !r.ReadU8(&out->hop_limit) ||
      !r.ReadBytes(out->src, 16) || !r.ReadBytes(out->dst, 16)) {
    return Ipv6Error::kTruncated;
  }
  // Everything after the fixed header, bounded by Payload Length (padding excluded).
  ByteSpan rest = r.Rest();
  if (out->payload_length < rest.size) rest.size = out->payload_length;
  ByteReader body(rest);
  size_t extensions = 0;
  while (next == kIpv6ExtHopByHop || next == kIpv6ExtRouting || next == kIpv6ExtFragment ||
         next == kIpv6ExtDestination || next == kIpv6ExtAh) {
    if (++extensions > kMaxIpv6Extensions) return Ipv6Error::kTooManyExtensions;
    uint8_t following = 0;
    uint8_t len_field = 0;
    if (!body.ReadU8(&following) || !body.ReadU8(&len_field)) {
      return body.size() < out->payload_length ? Ipv6Error::kTruncated
                                               : Ipv6Error::kBadPayloadLength;
    }
    size_t ext_len = 0;
    if (next == kIpv6ExtFragment) {
      if (out->has_fragment) return Ipv6Error::kBadExtension;
      uint16_t off_flags = 0;
      if (!body.ReadU16(&off_flags) || !body.ReadU32(&out->fragment_id)) {
        return Ipv6Error::kTruncated;
      }
      out->has_fragment = true;
      out->fragment_offset = off_flags >> kIpv6FragOffsetShift;
      out->more_fragments = (off_flags & kIpv6FragMf) != 0;
      out->fragment_next_header = following;
      ext_len = 8;
    } else if (next == kIpv6ExtAh) {
      ext_len = (static_cast<size_t>(len_field) + 2) * 4;  // RFC 4302: 4-byte units, minus 2
    } else {
      ext_len = (static_cast<size_t>(len_field) + 1) * 8;  // RFC 8200 §4.3: 8-byte units
    }
    const size_t consumed = next == kIpv6ExtFragment ? 8 : 2;
    if (!body.Skip(ext_len - consumed)) {
      return body.size() < out->payload_length ? Ipv6Error::kTruncated
                                               : Ipv6Error::kBadPayloadLength;
    }
    next = following;
    // RFC 8200 §4.5: in a non-first fragment everything after the fragment header is
    // fragment data, not headers; stop so the walk never reads payload as a header.
    if (out->has_fragment && out->fragment_offset != 0) break;
  }
  out->next_header = next;
  out->header_length = kIpv6HeaderSize + body.position();
  out->payload = body.Rest();
  return Ipv6Error::kOk;
}

// Writes a 40-byte header (no extension headers) for `payload_len` bytes of payload with
// Next Header = h.next_header. False when `w` lacks room or payload_len > 65535.
inline bool SerializeIpv6(const Ipv6Header& h, size_t payload_len, ByteWriter* w) {
  if (payload_len > 65535) return w->Fail();
  w->WriteU32((6u << 28) | (uint32_t{h.traffic_class} << 20) | (h.flow_label & 0xfffff));
  w->WriteU16(static_cast<uint16_t>(payload_len));
  w->WriteU8(h.next_header);
  w->WriteU8(h.hop_limit);
  w->WriteBytes(h.src, 16);
  return w->WriteBytes(h.dst, 16);
}

}  // namespace pktkit

#endif  // PKTKIT_WIRE_IPV6_H_
