// pktkit/wire/checksum.h — the Internet checksum (RFC 1071), incremental, with pseudo-headers.
//
// One accumulator type sums any number of byte ranges (odd lengths included, in any split) and
// folds to the 16-bit one's-complement checksum; helpers add the IPv4 (RFC 768) and IPv6
// (RFC 8200 §8.1) pseudo-headers for UDP/TCP.
//
//   pktkit::ChecksumAccumulator sum;
//   sum.AddIpv6PseudoHeader(src16, dst16, udp_len, /*next_header=*/17);
//   sum.Add(udp_bytes, udp_len);   // with the checksum field zero
//   uint16_t csum = sum.Finish();  // store big-endian; UDP writes 0xffff for 0
//
// Verification: summing a header that includes its correct checksum finishes to 0.
#ifndef PKTKIT_WIRE_CHECKSUM_H_
#define PKTKIT_WIRE_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pktkit {

class ChecksumAccumulator {
 public:
  // Adds `n` bytes. Ranges may have odd lengths: the byte parity carries over, so
  // Add(a, 3); Add(b, 5) equals one Add over the 8 concatenated bytes.
  void Add(const uint8_t* p, size_t n) {
    size_t i = 0;
    if (odd_ && n > 0) {
      sum_ += p[0];
      odd_ = false;
      i = 1;
    }
    // RFC 1071 §2(C): the one's-complement sum may be taken over wider words and folded
    // later. Eight bytes per step as two big-endian 32-bit words into the 64-bit sum (it
    // cannot overflow before 2^31 steps; Add folds below).
    for (; i + 8 <= n; i += 8) {
      uint32_t a;
      uint32_t b;
      std::memcpy(&a, p + i, 4);
      std::memcpy(&b, p + i + 4, 4);
      sum_ += ToHostBe32(a);
      sum_ += ToHostBe32(b);
    }
    for (; i + 1 < n; i += 2) sum_ += (uint32_t{p[i]} << 8) | p[i + 1];
    if (i < n) {
      sum_ += uint32_t{p[i]} << 8;
      odd_ = true;
    }
    // Keep the 64-bit sum far from overflow even for many-gigabyte inputs.
    if (sum_ >> 48) sum_ = (sum_ & 0xffffffffu) + (sum_ >> 32);
  }
  // Adds a 16-bit value in host order as if it were two big-endian bytes at an even offset.
  void AddU16(uint16_t v) { sum_ += v; }
  void AddU32(uint32_t v) {
    sum_ += v >> 16;
    sum_ += v & 0xffff;
  }

  void AddIpv4PseudoHeader(const uint8_t src[4], const uint8_t dst[4], uint16_t l4_length,
                           uint8_t protocol) {
    Add(src, 4);
    Add(dst, 4);
    AddU16(protocol);
    AddU16(l4_length);
  }
  void AddIpv6PseudoHeader(const uint8_t src[16], const uint8_t dst[16], uint32_t l4_length,
                           uint8_t next_header) {
    Add(src, 16);
    Add(dst, 16);
    AddU32(l4_length);
    AddU16(next_header);
  }

  // The one's-complement of the folded sum, in host order.
  uint16_t Finish() const {
    uint64_t s = (sum_ & 0xffffffffu) + (sum_ >> 32);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s & 0xffff);
  }

 private:
  static uint32_t ToHostBe32(uint32_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap32(v);
#else
    return v;
#endif
  }

  uint64_t sum_ = 0;
  bool odd_ = false;
};

// Checksum of one byte range (for example an IPv4 header with its checksum field zero).
inline uint16_t InternetChecksum(const uint8_t* p, size_t n) {
  ChecksumAccumulator acc;
  acc.Add(p, n);
  return acc.Finish();
}

}  // namespace pktkit

#endif  // PKTKIT_WIRE_CHECKSUM_H_
