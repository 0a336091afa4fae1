// pktkit/wire/vxlan.h — the VXLAN header (RFC 7348 §5): parse and serialize.
//
// An 8-byte header in front of an Ethernet frame, carried in UDP (port 4789):
//
//    0                   1                   2                   3
//   |R|R|R|R|I|R|R|R|            Reserved                           |
//   |                VXLAN Network Identifier (VNI) |   Reserved    |
//
//   pktkit::VxlanHeader h;
//   pktkit::ByteSpan frame;
//   if (pktkit::ParseVxlan(udp_payload, &h, &frame) == pktkit::VxlanError::kOk) {
//     Use(h.vni.value(), frame);  // frame: the inner Ethernet frame, no copy
//   }
//
// Flag policy: RFC 7348 §5 says the I flag MUST be set for a valid VNI and that reserved fields
// "MUST be set to zero on transmission and ignored on receipt". So by default the parser
// requires the I flag and ignores every reserved bit (they are kept in the header so a
// re-serialized header is byte-identical); VxlanStrictness::kStrict also rejects non-zero
// reserved flag bits (useful to tell VXLAN from VXLAN-GPE/GBP variants).
// References: RFC 7348 §5; IANA UDP port 4789.
#ifndef PKTKIT_WIRE_VXLAN_H_
#define PKTKIT_WIRE_VXLAN_H_

#include <cstddef>
#include <cstdint>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/tunnel_meta.h"

namespace pktkit {

inline constexpr size_t kVxlanHeaderSize = 8;        // RFC 7348 §5
inline constexpr uint16_t kVxlanDefaultPort = 4789;  // RFC 7348 §5 (IANA)
// First byte, RFC 7348 §5: "I" flag (valid VNI) is bit 4 counting from the most significant.
inline constexpr uint8_t kVxlanFlagI = 0x08;
inline constexpr uint8_t kVxlanReservedFlagsMask = 0xf7;  // every flag bit except I
// Second word: VNI in the high 24 bits, 8 reserved bits below it (RFC 7348 §5).
inline constexpr unsigned kVxlanVniShift = 8;
inline constexpr uint32_t kVxlanReserved2Mask = 0xff;

// A parsed VXLAN header. The reserved fields are kept for a byte-identical round trip.
struct VxlanHeader {
  uint8_t flags = kVxlanFlagI;
  uint32_t reserved1 = 0;  // 24 bits after the flags
  Vni vni;
  uint8_t reserved2 = 0;  // the last byte
};

enum class VxlanError : uint8_t {
  kOk = 0,
  kTruncated,  // fewer than 8 bytes
  kBadFlags,   // I flag clear (always) or a reserved flag bit set (kStrict only)
  kCount,
};

inline const char* VxlanErrorName(VxlanError e) {
  switch (e) {
    case VxlanError::kOk:
      return "ok";
    case VxlanError::kTruncated:
      return "truncated";
    case VxlanError::kBadFlags:
      return "bad_flags";
    case VxlanError::kCount:
      break;
  }
  return "unknown";
}

enum class VxlanStrictness : uint8_t {
  kLenient,  // require I, ignore reserved bits (RFC 7348 §5 receiver rule); the default
  kStrict,   // also reject any reserved flag bit
};

// Parses the 8-byte header at the start of `in`. On kOk fills `*header` and sets `*payload` to
// the bytes after the header (the inner Ethernet frame; a view into `in`, no copy). On error
// `*payload` is left empty. Returns kTruncated or kBadFlags as documented above.
inline VxlanError ParseVxlan(ByteSpan in, VxlanHeader* header, ByteSpan* payload,
                             VxlanStrictness strictness = VxlanStrictness::kLenient) {
  *payload = ByteSpan();
  ByteReader r(in);
  uint8_t flags = 0;
  uint32_t reserved1 = 0;
  uint32_t word2 = 0;
  if (!r.ReadU8(&flags) || !r.ReadU24(&reserved1) || !r.ReadU32(&word2)) {
    return VxlanError::kTruncated;
  }
  if ((flags & kVxlanFlagI) == 0) return VxlanError::kBadFlags;
  if (strictness == VxlanStrictness::kStrict && (flags & kVxlanReservedFlagsMask) != 0) {
    return VxlanError::kBadFlags;
  }
  header->flags = flags;
  header->reserved1 = reserved1;
  header->vni = Vni::FromMasked(word2 >> kVxlanVniShift);
  header->reserved2 = static_cast<uint8_t>(word2 & kVxlanReserved2Mask);
  *payload = r.Rest();
  return VxlanError::kOk;
}

// Writes the 8 header bytes exactly as `header` holds them (set flags = kVxlanFlagI and the
// reserved fields to 0 for a standard header, which is what a default VxlanHeader holds).
// Returns false (writer poisoned) when fewer than 8 bytes of capacity remain.
inline bool SerializeVxlan(const VxlanHeader& header, ByteWriter* w) {
  if (w->remaining() < kVxlanHeaderSize) return w->Fail();
  w->WriteU8(header.flags);
  w->WriteU24(header.reserved1 & 0xffffffu);
  return w->WriteU32((header.vni.value() << kVxlanVniShift) | header.reserved2);
}

}  // namespace pktkit

#endif  // PKTKIT_WIRE_VXLAN_H_
