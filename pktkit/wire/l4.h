// pktkit/wire/l4.h — UDP (RFC 768), TCP (RFC 9293), SCTP (RFC 9260) and ICMP/ICMPv6 headers,
// as much as flow keys and tunnels need, plus UDP checksums over both pseudo-headers.
//
//   pktkit::UdpHeader udp;
//   if (pktkit::ParseUdp(ip.payload, &udp) == pktkit::L4Error::kOk && udp.dst_port == 4789)
//     Decapsulate(udp.payload);
//
// Results point into the caller's buffer. UDP's payload is bounded by its Length field.
#ifndef PKTKIT_WIRE_L4_H_
#define PKTKIT_WIRE_L4_H_

#include <cstddef>
#include <cstdint>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/checksum.h"

namespace pktkit {

inline constexpr size_t kUdpHeaderSize = 8;
inline constexpr size_t kTcpMinHeaderSize = 20;
inline constexpr size_t kSctpCommonHeaderSize = 12;
inline constexpr uint8_t kTcpDataOffsetShift = 4;  // RFC 9293 §3.1: Data Offset, high nibble

// TCP flag bits (low byte of the 16-bit offset/flags word; RFC 9293 §3.1).
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

struct UdpHeader {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t length = 0;  // header + payload
  uint16_t checksum = 0;
  ByteSpan payload;
};

struct TcpHeader {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  size_t header_length = kTcpMinHeaderSize;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint16_t checksum = 0;
  ByteSpan payload;
};

struct SctpHeader {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t verification_tag = 0;
};

struct IcmpHeader {
  uint8_t type = 0;
  uint8_t code = 0;
  uint16_t checksum = 0;
  uint16_t id = 0;  // echo request/reply identifier (meaningless for other types)
  uint16_t seq = 0;
};

enum class L4Error : uint8_t { kOk, kTruncated, kBadLength };

inline const char* L4ErrorName(L4Error e) {
  switch (e) {
    case L4Error::kOk:
      return "ok";
    case L4Error::kTruncated:
      return "l4_truncated";
    case L4Error::kBadLength:
      return "l4_bad_length";
  }
  return "l4_unknown";
}

// Errors: kTruncated (header or declared payload not all there), kBadLength (Length < 8).
inline L4Error ParseUdp(ByteSpan segment, UdpHeader* out) {
  ByteReader r(segment);
  *out = UdpHeader();
  if (!r.ReadU16(&out->src_port) || !r.ReadU16(&out->dst_port) || !r.ReadU16(&out->length) ||
      !r.ReadU16(&out->checksum)) {
    return L4Error::kTruncated;
  }
  if (out->length < kUdpHeaderSize) return L4Error::kBadLength;
  if (!r.ReadSpan(out->length - kUdpHeaderSize, &out->payload)) return L4Error::kTruncated;
  return L4Error::kOk;
}

// Writes the 8-byte header as given (compute the checksum separately, see below).
inline bool SerializeUdp(const UdpHeader& h, ByteWriter* w) {
  w->WriteU16(h.src_port);
  w->WriteU16(h.dst_port);
  w->WriteU16(h.length);
  return w->WriteU16(h.checksum);
}

// Errors: kTruncated, kBadLength (Data Offset < 5 words). The payload is what was captured.
inline L4Error ParseTcp(ByteSpan segment, TcpHeader* out) {
  ByteReader r(segment);
  *out = TcpHeader();
  uint8_t offset = 0;
  if (!r.ReadU16(&out->src_port) || !r.ReadU16(&out->dst_port) || !r.ReadU32(&out->seq) ||
      !r.ReadU32(&out->ack) || !r.ReadU8(&offset) || !r.ReadU8(&out->flags) ||
      !r.ReadU16(&out->window) || !r.ReadU16(&out->checksum)) {
    return L4Error::kTruncated;
  }
  out->header_length = static_cast<size_t>(offset >> kTcpDataOffsetShift) * 4;
  if (out->header_length < kTcpMinHeaderSize) return L4Error::kBadLength;
  if (!r.Seek(out->header_length)) return L4Error::kTruncated;
  out->payload = r.Rest();
  return L4Error::kOk;
}

inline L4Error ParseSctp(ByteSpan packet, SctpHeader* out) {
  ByteReader r(packet);
  *out = SctpHeader();
  if (!r.ReadU16(&out->src_port) || !r.ReadU16(&out->dst_port) ||
      !r.ReadU32(&out->verification_tag)) {
    return L4Error::kTruncated;
  }
  return L4Error::kOk;
}

// ICMP (RFC 792) and ICMPv6 (RFC 4443) share the first 8 bytes' layout.
inline L4Error ParseIcmp(ByteSpan packet, IcmpHeader* out) {
  ByteReader r(packet);
  *out = IcmpHeader();
  if (!r.ReadU8(&out->type) || !r.ReadU8(&out->code) || !r.ReadU16(&out->checksum)) {
    return L4Error::kTruncated;
  }
  // Identifier and sequence are only present for echo and a few others; read if there.
  r.ReadU16(&out->id);
  r.ReadU16(&out->seq);
  return L4Error::kOk;
}

// UDP checksum over the IPv4 pseudo-header and `udp` (header with checksum 0, then payload).
// Returns the value to store; 0 is sent as 0xffff (RFC 768).
inline uint16_t UdpChecksumIpv4(const uint8_t src[4], const uint8_t dst[4], ByteSpan udp) {
  ChecksumAccumulator acc;
  acc.AddIpv4PseudoHeader(src, dst, static_cast<uint16_t>(udp.size), 17);
  acc.Add(udp.data, udp.size);
  const uint16_t c = acc.Finish();
  return c == 0 ? 0xffff : c;
}

// UDP checksum over the IPv6 pseudo-header (RFC 8200 §8.1; mandatory for IPv6).
inline uint16_t UdpChecksumIpv6(const uint8_t src[16], const uint8_t dst[16], ByteSpan udp) {
  ChecksumAccumulator acc;
  acc.AddIpv6PseudoHeader(src, dst, static_cast<uint32_t>(udp.size), 17);
  acc.Add(udp.data, udp.size);
  const uint16_t c = acc.Finish();
  return c == 0 ? 0xffff : c;
}

}  // namespace pktkit

#endif  // PKTKIT_WIRE_L4_H_
