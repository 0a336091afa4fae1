// pktkit/flow/toeplitz.h — the Toeplitz hash of Receive Side Scaling, plain and symmetric, so
// software can predict which RSS queue a NIC picks.
//
// ToeplitzHash(key, input) is the Microsoft RSS hash: for every set bit i of the input (most
// significant bit of byte 0 first) the 32 key bits starting at bit i are XORed into the result.
// The key must be at least input length + 4 bytes (the standard 40-byte key covers IPv6 with
// ports, 36 bytes). ToeplitzTable precomputes one 256-entry table per input byte so a hash is
// one lookup and XOR per byte.
//
// Input layout (RssInput*): source address, destination address, then source and destination
// port, all in network byte order, exactly as the NIC feeds them.
//
// Symmetric RSS: with kSymmetricRssKey (0x6d5a repeated) every 32-bit key window at bit i
// equals the window at bit i+16, so swapping the two addresses (and the two ports) leaves the
// hash unchanged. The price is spread: the result depends only on the XOR of the input's
// 16-bit words and its high half equals its low half, so there are at most 65,536 distinct
// values (tests/flow/toeplitz_test.cc measures it; see docs/flow-hashing.md). Use it to predict
// a NIC configured with that key; use symmetric_hash.h for software balancing.
//
//   uint8_t in[12];
//   size_t n = pktkit::RssInputIpv4(src, dst, sport, dport, in);
//   uint32_t h = pktkit::ToeplitzHash(pktkit::kMicrosoftRssKey, sizeof pktkit::kMicrosoftRssKey,
//                                     in, n);
//
// References: Microsoft NDIS "RSS Hashing Functions" and "Verifying the RSS Hash Calculation";
// Intel 82599 datasheet §7.1.2.8; Woo & Park, "Scalable TCP Session Monitoring with Symmetric
// Receive-side Scaling" (2012) for the 0x6d5a key.
#ifndef PKTKIT_FLOW_TOEPLITZ_H_
#define PKTKIT_FLOW_TOEPLITZ_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pktkit/flow/flow_key.h"

namespace pktkit {

// The default key from Microsoft's RSS documentation (also the Intel/DPDK default).
inline constexpr uint8_t kMicrosoftRssKey[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

// 0x6d5a repeated: symmetric Toeplitz (at most 65,536 distinct hash values, see above).
inline constexpr uint8_t kSymmetricRssKey[40] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

inline constexpr size_t kRssInputMaxSize = 36;  // IPv6 addresses + ports

// The Toeplitz hash of `len` input bytes. Requires key_len >= len + 4; returns 0 otherwise
// (a caller bug, not an input error: key and length are the caller's constants).
inline uint32_t ToeplitzHash(const uint8_t* key, size_t key_len, const uint8_t* input, size_t len) {
  if (key_len < 4 || len > key_len - 4) return 0;
  uint32_t result = 0;
  // `window` holds key bits [8*i, 8*i + 40): the 32-bit window for each bit of byte i.
  for (size_t i = 0; i < len; ++i) {
    const uint64_t window = (uint64_t{LoadBe32(key + i)} << 8) | key[i + 4];
    const uint8_t b = input[i];
    for (int bit = 0; bit < 8; ++bit) {
      if (b & (0x80u >> bit)) result ^= static_cast<uint32_t>(window >> (8 - bit));
    }
  }
  return result;
}

// Table-driven Toeplitz for a fixed key: one lookup per input byte (36 KiB for 36 bytes).
class ToeplitzTable {
 public:
  // `key_len` >= 8; inputs up to min(key_len - 4, kRssInputMaxSize) bytes are supported.
  ToeplitzTable(const uint8_t* key, size_t key_len) {
    max_len_ = key_len < 4 ? 0 : key_len - 4;
    if (max_len_ > kRssInputMaxSize) max_len_ = kRssInputMaxSize;
    for (size_t i = 0; i < max_len_; ++i) {
      const uint64_t window = (uint64_t{LoadBe32(key + i)} << 8) | key[i + 4];
      uint32_t bit_value[8];
      for (int bit = 0; bit < 8; ++bit) bit_value[bit] = static_cast<uint32_t>(window >> (8 - bit));
      for (unsigned v = 0; v < 256; ++v) {
        uint32_t h = 0;
        for (int bit = 0; bit < 8; ++bit) {
          if (v & (0x80u >> bit)) h ^= bit_value[bit];
        }
        table_[i][v] = h;
      }
    }
  }

  size_t max_input_size() const { return max_len_; }

  // Same value as ToeplitzHash with this table's key; 0 when len > max_input_size().
  uint32_t Hash(const uint8_t* input, size_t len) const {
    if (len > max_len_) return 0;
    uint32_t h = 0;
    for (size_t i = 0; i < len; ++i) h ^= table_[i][input[i]];
    return h;
  }

 private:
  uint32_t table_[kRssInputMaxSize][256] = {};
  size_t max_len_ = 0;
};

// Writes the RSS input for IPv4: src, dst (4 bytes each), then the ports if `with_ports`.
// `out` holds kRssInputMaxSize bytes. Returns the length (8 or 12).
inline size_t RssInputIpv4(const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
                           uint16_t dport, bool with_ports, uint8_t* out) {
  std::memcpy(out, src, 4);
  std::memcpy(out + 4, dst, 4);
  if (!with_ports) return 8;
  StoreBe16(out + 8, sport);
  StoreBe16(out + 10, dport);
  return 12;
}

// IPv6: src, dst (16 bytes each), then the ports if `with_ports`. Returns 32 or 36.
inline size_t RssInputIpv6(const uint8_t src[16], const uint8_t dst[16], uint16_t sport,
                           uint16_t dport, bool with_ports, uint8_t* out) {
  std::memcpy(out, src, 16);
  std::memcpy(out + 16, dst, 16);
  if (!with_ports) return 32;
  StoreBe16(out + 32, sport);
  StoreBe16(out + 34, dport);
  return 36;
}

// The RSS input of a flow key, lo endpoint as "source". Because the key is canonical this
// is symmetric with any key; with kSymmetricRssKey it also equals what a NIC computes for
// either direction of the packet.
inline size_t RssInputFromKey(const FlowKey& k, bool with_ports, uint8_t* out) {
  return k.family == 6 ? RssInputIpv6(k.addr_lo, k.addr_hi, k.port_lo, k.port_hi, with_ports, out)
                       : RssInputIpv4(k.addr_lo, k.addr_hi, k.port_lo, k.port_hi, with_ports, out);
}

// Symmetric Toeplitz of a flow key (kSymmetricRssKey): the NIC-predicting symmetric hash.
inline uint32_t SymmetricToeplitzHash(const FlowKey& k, bool with_ports) {
  uint8_t in[kRssInputMaxSize];
  const size_t n = RssInputFromKey(k, with_ports, in);
  return ToeplitzHash(kSymmetricRssKey, sizeof kSymmetricRssKey, in, n);
}

}  // namespace pktkit

#endif  // PKTKIT_FLOW_TOEPLITZ_H_
