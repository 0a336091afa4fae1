// pktkit/flow/symmetric_hash.h — a fast seeded 32-bit hash of a FlowKey, symmetric by
// construction, for spreading flows over workers, sensors or outer UDP source ports.
//
// The hash reads the canonical FlowKey (flow_key.h), so both directions of a connection hash
// the same for every seed. It is a keyed multiply-fold mixer (the 64x64→128-bit "mum" step
// of wyhash) over the key's five 64-bit words, loaded big-endian so values are the same on
// every host. Not a cryptographic MAC: with a secret random seed an attacker who does not
// learn hash values cannot aim flows at one bucket, but do not rely on it beyond that.
// Spread is measured in tests/flow/symmetric_hash_test.cc (chi-square over 1024 buckets) and
// documented in docs/flow-hashing.md.
//
//   uint32_t h = pktkit::HashFlowKey(info.key, seed);
//   size_t worker = (uint64_t{h} * n_workers) >> 32;
//
// References: wyhash (Wang Yi, public domain) for the mixing step.
#ifndef PKTKIT_FLOW_SYMMETRIC_HASH_H_
#define PKTKIT_FLOW_SYMMETRIC_HASH_H_

#include <cstdint>

#include "pktkit/flow/flow_key.h"
#include "pktkit/wire/bytes.h"

namespace pktkit {
namespace internal {

inline constexpr uint64_t kMix0 = 0xa0761d6478bd642full;  // wyhash primes
inline constexpr uint64_t kMix1 = 0xe7037ed1a0b428dbull;
inline constexpr uint64_t kMix2 = 0x8ebc6af09c88c6e3ull;
inline constexpr uint64_t kMix3 = 0x589965cc75374cc3ull;

// 64x64 → 128-bit multiply, folded by XOR of the halves.
inline uint64_t Mum(uint64_t a, uint64_t b) {
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

}  // namespace internal

// Seeded symmetric 32-bit hash of a canonical FlowKey (every byte that matters is mixed).
inline uint32_t HashFlowKey(const FlowKey& k, uint64_t seed) {
  using internal::Mum;
  const uint64_t w0 = LoadBe64(k.addr_lo);
  const uint64_t w1 = LoadBe64(k.addr_lo + 8);
  const uint64_t w2 = LoadBe64(k.addr_hi);
  const uint64_t w3 = LoadBe64(k.addr_hi + 8);
  const uint64_t w4 = (uint64_t{k.port_lo} << 48) | (uint64_t{k.port_hi} << 32) |
                      (uint64_t{k.protocol} << 8) | k.family;
  const uint64_t s = seed ^ internal::kMix0;
  uint64_t h = Mum(w0 ^ s, w1 ^ internal::kMix1);
  h = Mum(h ^ w2 ^ internal::kMix2, w3 ^ s);
  h = Mum(h ^ w4 ^ internal::kMix3, s ^ internal::kMix1);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

}  // namespace pktkit

#endif  // PKTKIT_FLOW_SYMMETRIC_HASH_H_
