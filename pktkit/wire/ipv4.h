// pktkit/wire/ipv4.h — IPv4 header (RFC 791): parse with options and fragments, serialize.
//
//   pktkit::Ipv4Header ip;
//   if (pktkit::ParseIpv4(eth.payload, &ip) == pktkit::Ipv4Error::kOk && !pktkit::IsFragment(ip))
//     HandleL4(ip.protocol, ip.payload);
//
// `payload` is bounded by Total Length (Ethernet padding is excluded) and may be shorter than
// Total Length says when the capture was snapped: callers that need the whole datagram compare
// payload.size with total_length - header_length. Results point into the caller's buffer.
// References: RFC 791 §3.1; RFC 6864 (ID field); RFC 1071 (checksum).
#ifndef PKTKIT_WIRE_IPV4_H_
#define PKTKIT_WIRE_IPV4_H_

#include <cstddef>
#include <cstdint>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/checksum.h"

namespace pktkit {

inline constexpr size_t kIpv4MinHeaderSize = 20;
inline constexpr uint8_t kIpv4VersionShift = 4;          // RFC 791 §3.1: Version, high nibble
inline constexpr uint8_t kIpv4IhlMask = 0x0f;            // IHL in 32-bit words, low nibble
inline constexpr uint16_t kIpv4FlagReserved = 0x8000;    // RFC 791 §3.1: must be zero
inline constexpr uint16_t kIpv4FlagDf = 0x4000;          // Don't Fragment
inline constexpr uint16_t kIpv4FlagMf = 0x2000;          // More Fragments
inline constexpr uint16_t kIpv4FragOffsetMask = 0x1fff;  // in 8-byte units

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint8_t kIpProtoSctp = 132;

struct Ipv4Header {
  uint8_t src[4] = {};
  uint8_t dst[4] = {};
  uint8_t protocol = 0;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t total_length = 0;
  uint16_t id = 0;
  size_t header_length = kIpv4MinHeaderSize;
  bool reserved_flag = false;  // the must-be-zero flag bit, kept so headers round-trip
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  // in 8-byte units
  uint16_t checksum = 0;         // as read (parse) — SerializeIpv4 computes its own
  ByteSpan options;
  ByteSpan payload;  // bounded by total_length (and by what was captured)
};

enum class Ipv4Error : uint8_t { kOk, kTruncated, kBadVersion, kBadHeaderLength, kBadTotalLength };

inline const char* Ipv4ErrorName(Ipv4Error e) {
  switch (e) {
    case Ipv4Error::kOk:
      return "ok";
    case Ipv4Error::kTruncated:
      return "ipv4_truncated";
    case Ipv4Error::kBadVersion:
      return "ipv4_bad_version";
    case Ipv4Error::kBadHeaderLength:
      return "ipv4_bad_header_length";
    case Ipv4Error::kBadTotalLength:
      return "ipv4_bad_total_length";
  }
  return "ipv4_unknown";
}

inline bool IsFragment(const Ipv4Header& h) { return h.more_fragments || h.fragment_offset != 0; }

// Parses the header at the start of `packet`. Errors: kTruncated (fewer bytes than the header),
// kBadVersion (not 4), kBadHeaderLength (IHL < 5), kBadTotalLength (Total Length < IHL*4).
inline Ipv4Error ParseIpv4(ByteSpan packet, Ipv4Header* out) {
  ByteReader r(packet);
  *out = Ipv4Header();
  uint8_t vihl = 0;
  if (!r.ReadU8(&vihl)) return Ipv4Error::kTruncated;
  if ((vihl >> kIpv4VersionShift) != 4) return Ipv4Error::kBadVersion;
  const size_t ihl = static_cast<size_t>(vihl & kIpv4IhlMask) * 4;
  if (ihl < kIpv4MinHeaderSize) return Ipv4Error::kBadHeaderLength;
  uint16_t flags_frag = 0;
  if (!r.ReadU8(&out->tos) || !r.ReadU16(&out->total_length) || !r.ReadU16(&out->id) ||
      !r.ReadU16(&flags_frag) || !r.ReadU8(&out->ttl) || !r.ReadU8(&out->protocol) ||
      !r.ReadU16(&out->checksum) || !r.ReadBytes(out->src, 4) || !r.ReadBytes(out->dst, 4) ||
      !r.ReadSpan(ihl - kIpv4MinHeaderSize, &out->options)) {
    return Ipv4Error::kTruncated;
  }
  if (out->total_length < ihl) return Ipv4Error::kBadTotalLength;
  out->header_length = ihl;
  out->reserved_flag = (flags_frag & kIpv4FlagReserved) != 0;
  out->dont_fragment = (flags_frag & kIpv4FlagDf) != 0;
  out->more_fragments = (flags_frag & kIpv4FlagMf) != 0;
  out->fragment_offset = flags_frag & kIpv4FragOffsetMask;
  const size_t declared = out->total_length - ihl;
  const size_t have = r.remaining();
  out->payload = ByteSpan(r.Rest().data, declared < have ? declared : have);
  return Ipv4Error::kOk;
}

// Size SerializeIpv4 writes: 20 + options, rounded up to 4 bytes.
inline size_t Ipv4HeaderSize(const Ipv4Header& h) {
  return kIpv4MinHeaderSize + ((h.options.size + 3) & ~size_t{3});
}

// Writes the header for a payload of `payload_len` bytes with a freshly computed checksum
// (the `checksum`, `header_length` and `total_length` fields of `h` are ignored). Options are
// padded with zeros (End of Option List) to a 4-byte boundary. False when `w` lacks room,
// options exceed 40 bytes or the datagram would exceed 65535 bytes.
inline bool SerializeIpv4(const Ipv4Header& h, size_t payload_len, ByteWriter* w) {
  const size_t hlen = Ipv4HeaderSize(h);
  if (hlen > 60 || payload_len > 65535 - hlen) return w->Fail();
  uint8_t* start = nullptr;
  if (!w->Reserve(hlen, &start)) return false;
  ByteWriter hw(start, hlen);
  uint16_t flags_frag = h.fragment_offset & kIpv4FragOffsetMask;
  if (h.reserved_flag) flags_frag |= kIpv4FlagReserved;
  if (h.dont_fragment) flags_frag |= kIpv4FlagDf;
  if (h.more_fragments) flags_frag |= kIpv4FlagMf;
  hw.WriteU8(static_cast<uint8_t>((4 << kIpv4VersionShift) | (hlen / 4)));
  hw.WriteU8(h.tos);
  hw.WriteU16(static_cast<uint16_t>(hlen + payload_len));
  hw.WriteU16(h.id);
  hw.WriteU16(flags_frag);
  hw.WriteU8(h.ttl);
  hw.WriteU8(h.protocol);
  hw.WriteU16(0);
  hw.WriteBytes(h.src, 4);
  hw.WriteBytes(h.dst, 4);
  hw.WriteSpan(h.options);
  hw.WriteZeros(hlen - kIpv4MinHeaderSize - h.options.size);
  StoreBe16(start + 10, InternetChecksum(start, hlen));
  return hw.ok();
}

}  // namespace pktkit

#endif  // PKTKIT_WIRE_IPV4_H_
