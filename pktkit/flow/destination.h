// pktkit/flow/destination.h — choosing a destination (sensor, worker, socket) for a packet by a
// symmetric, fragment-safe flow hash, so every packet of a connection — both directions, IP
// fragments included — goes to the same place and carries the same outer UDP source port.
//
//   pktkit::FlowDestinationChooser chooser(
//       {pktkit::DestinationKey("10.0.0.5|4789"), pktkit::DestinationKey("10.0.0.6|4789")},
//       /*seed=*/0, /*port_lo=*/49152, /*port_hi=*/65535);
//   pktkit::FlowChoice c = chooser.Choose(view.bytes(), view.link_type);
//   Send(dests[c.destination], /*source_port=*/c.source_port, ...);
//
// The flow hash is SymmetricFlowHash (pktkit/flow/flow_hash.h) over the address pair and the
// protocol. Ethernet frames that are not IP (ARP, LLDP, more VLAN tags than the flow key reads)
// hash their MAC pair, ordered so both directions agree; anything else that cannot be parsed
// hashes to one constant of the seed (all such packets go to one destination).
// Destinations are chosen by rendezvous (highest random weight) hashing: each destination has a
// stable key (a hash of its name, e.g. "host|port"); the destination whose key scores highest
// with the flow hash wins. Adding a destination moves only the flows it now wins (about 1/n);
// removing one moves only its own flows. Pure: no syscalls; the chooser allocates once.
// References: Thaler & Ravishankar, "Using name-based mappings to increase hit rates" (1998);
// RFC 2992; RFC 7348 §5 (outer source port 49152–65535 from a hash of the inner headers).
#ifndef PKTKIT_FLOW_DESTINATION_H_
#define PKTKIT_FLOW_DESTINATION_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "pktkit/flow/flow_hash.h"
#include "pktkit/wire/bytes.h"
#include "pktkit/wire/link_type.h"

namespace pktkit {

// A 64-bit finalizer (MurmurHash3 fmix64): every input bit affects every output bit.
inline uint64_t Mix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb53fe1a85ec9ULL;
  k ^= k >> 33;
  return k;
}

namespace internal {
inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
inline uint64_t Fnv1a(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}
}  // namespace internal

// The stable rendezvous key of a destination named `name` (e.g. "192.0.2.10|4789": the host
// as the user wrote it and the port). Equal names give equal keys on every host and run.
inline uint64_t DestinationKey(std::string_view name) {
  return Mix64(internal::Fnv1a(internal::kFnvOffset,
                               reinterpret_cast<const uint8_t*>(name.data()), name.size()));
}

// Rendezvous hashing: the index (< n) of the key scoring highest for `flow_hash`; 0 when n is 0.
inline size_t PickDestination(uint64_t flow_hash, const uint64_t* keys, size_t n) {
  size_t best = 0;
  uint64_t best_score = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t s = Mix64(flow_hash ^ Mix64(keys[i]));
    if (i == 0 || s > best_score) {
      best = i;
      best_score = s;
    }
  }
  return best;
}

// The outer UDP source port for `flow_hash`, in [lo, hi] (lo when hi < lo).
inline uint16_t SourcePortForHash(uint64_t flow_hash, uint16_t lo, uint16_t hi) {
  if (hi < lo) return lo;
  const uint32_t span = uint32_t{hi} - lo + 1;
  return static_cast<uint16_t>(lo + static_cast<uint32_t>(flow_hash % span));
}

// The symmetric, fragment-safe hash of a frame of link type kEthernet or kRaw (see the top of
// this file for non-IP and unparsable frames). Symmetric for every seed.
inline uint32_t SymmetricFrameHash(ByteSpan frame, LinkType link_type, uint64_t seed) {
  const FlowHashResult r = SymmetricFlowHash(frame, link_type, seed);
  if (r.error == FlowKeyError::kOk) return r.hash;
  if (link_type == LinkType::kEthernet && frame.size >= 12 &&
      (r.error == FlowKeyError::kNotIp || r.error == FlowKeyError::kTooManyVlanTags)) {
    const uint8_t* a = frame.data;
    const uint8_t* b = frame.data + 6;
    if (std::memcmp(a, b, 6) > 0) std::swap(a, b);
    const uint64_t h = internal::Fnv1a(internal::kFnvOffset ^ seed, a, 6);
    return static_cast<uint32_t>(Mix64(internal::Fnv1a(h, b, 6)));
  }
  return static_cast<uint32_t>(Mix64(seed ^ 0x9e3779b97f4a7c15ULL));
}

// Where one packet goes.
struct FlowChoice {
  uint32_t hash = 0;         // SymmetricFrameHash
  size_t destination = 0;    // index into the chooser's keys
  uint16_t source_port = 0;  // in the chooser's port range
};

// Flow hash -> destination and outer source port, for a fixed set of destinations.
class FlowDestinationChooser {
 public:
  // `keys`: one DestinationKey per destination, in the caller's order (at least one).
  FlowDestinationChooser(std::vector<uint64_t> keys, uint64_t seed, uint16_t port_lo,
                         uint16_t port_hi)
      : keys_(std::move(keys)), seed_(seed), port_lo_(port_lo), port_hi_(port_hi) {}

  // The choice for a frame of link type kEthernet or kRaw.
  FlowChoice Choose(ByteSpan frame, LinkType link_type) const {
    return ChooseForHash(SymmetricFrameHash(frame, link_type, seed_));
  }
  FlowChoice ChooseForHash(uint32_t hash) const {
    FlowChoice c;
    c.hash = hash;
    c.destination = keys_.size() > 1 ? PickDestination(hash, keys_.data(), keys_.size()) : 0;
    c.source_port = SourcePortForHash(hash, port_lo_, port_hi_);
    return c;
  }
  size_t size() const { return keys_.size(); }

 private:
  std::vector<uint64_t> keys_;
  uint64_t seed_;
  uint16_t port_lo_;
  uint16_t port_hi_;
};

}  // namespace pktkit

#endif  // PKTKIT_FLOW_DESTINATION_H_
