// pktkit/flow/flow_hash.h — one call from a frame to a symmetric flow hash, with the choice of
// which fields count (fragment-safe by default).
//
// FlowHashFields::kAddressesAndProtocol (the default) hashes the address pair and the
// protocol only. Every packet of a connection — IPv4 and IPv6 fragments included, and the
// replies — gets the same hash, so a balancer never splits a datagram's fragments from each
// other or from the connection. FlowHashFields::kFiveTuple adds the ports: better spread
// when few hosts carry many connections, but NOT fragment-safe: fragments carry no ports, so
// they hash differently from the unfragmented packets of their own connection.
//
//   pktkit::FlowHashResult r = pktkit::SymmetricFlowHash(
//       pktkit::ByteSpan(frame, len), pktkit::LinkType::kEthernet, seed);
//   if (r.error == pktkit::FlowKeyError::kOk) sensor = sensors[(uint64_t{r.hash} * n) >> 32];
//
// References: docs/flow-hashing.md; RFC 8200 §4.5; RFC 791 (fragmentation).
#ifndef PKTKIT_FLOW_FLOW_HASH_H_
#define PKTKIT_FLOW_FLOW_HASH_H_

#include <cstdint>

#include "pktkit/flow/flow_key.h"
#include "pktkit/flow/symmetric_hash.h"
#include "pktkit/wire/bytes.h"
#include "pktkit/wire/link_type.h"

namespace pktkit {

enum class FlowHashFields : uint8_t {
  kAddressesAndProtocol,  // default: fragment-safe
  kFiveTuple,             // + ports: better spread, NOT fragment-safe
};

// The key a hash mode actually reads.
inline FlowKey FlowKeyForHash(const FlowKey& k, FlowHashFields fields) {
  return fields == FlowHashFields::kFiveTuple ? k : k.AddressesAndProtocol();
}

struct FlowHashResult {
  FlowKeyError error = FlowKeyError::kOk;
  uint32_t hash = 0;  // 0 on error
};

// Extracts the flow key of `frame` (see ExtractFlowKey for what is read and the errors) and
// hashes the chosen fields with HashFlowKey(seed). Symmetric for every seed.
inline FlowHashResult SymmetricFlowHash(
    ByteSpan frame, LinkType link_type, uint64_t seed,
    FlowHashFields fields = FlowHashFields::kAddressesAndProtocol) {
  FlowHashResult result;
  FlowKeyInfo info;
  result.error = ExtractFlowKey(frame, link_type, &info);
  if (result.error == FlowKeyError::kOk) {
    result.hash = HashFlowKey(FlowKeyForHash(info.key, fields), seed);
  }
  return result;
}

// The same with a success flag, for callers that count failures elsewhere.
inline uint32_t SymmetricFlowHash(ByteSpan frame, LinkType link_type, uint64_t seed,
                                  FlowHashFields fields, bool* ok) {
  const FlowHashResult r = SymmetricFlowHash(frame, link_type, seed, fields);
  if (ok != nullptr) *ok = r.error == FlowKeyError::kOk;
  return r.hash;
}

}  // namespace pktkit

#endif  // PKTKIT_FLOW_FLOW_HASH_H_
