// tools/fwd/forwarder.h — the packet logic of pktkit-fwd, pure and testable: turning a captured
// packet of any supported link type into the inner frame of a VXLAN or GENEVE tunnel, the
// symmetric flow hash that picks the destination sensor (rendezvous hashing) and the outer UDP
// source port. Tunnel and outer headers come from pktkit/wire/encap.h.
//
//   pktkit::fwd::Inner in;
//   if (pktkit::fwd::PrepareInner(p.bytes(), p.link_type, pktkit::EncapMode::kVxlan, &in) !=
//       pktkit::fwd::PrepareError::kOk) { drops[...]++; }
//   const uint32_t h = pktkit::fwd::SymmetricHash(in.l3, in.l3_ethertype, seed);
//   size_t dest = pktkit::fwd::PickDestination(h, dest_keys, n);
//   uint16_t sport = pktkit::fwd::SourcePort(h, 49152, 65535);
//
// Policies (docs/fwd.md): VXLAN carries Ethernet only, so raw-IP / Linux SLL / SLL2 / NFLOG input
// gets a synthesized Ethernet header with the locally administered pair
// 02:70:6b:74:00:01 → 02:70:6b:74:00:02 (counted); GENEVE carries such input as raw IP with
// Protocol Type 0x0800/0x86DD. The flow hash covers the IP addresses and the protocol only
// (not ports), so every packet of a connection — IP fragments included — gets the same hash,
// the same destination and the same outer source port; it is symmetric (both directions alike).
// References: RFC 7348 §5 (source port 49152–65535), RFC 8926 §3.4, RFC 2992 / Thaler & Ravishankar
// "Using name-based mappings to increase hit rates" (rendezvous hashing), tcpdump linktypes.
#ifndef PKTKIT_TOOLS_FWD_FORWARDER_H_
#define PKTKIT_TOOLS_FWD_FORWARDER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "pktkit/flow/flow_hash.h"
#include "pktkit/wire/bytes.h"
#include "pktkit/wire/encap.h"
#include "pktkit/wire/geneve.h"
#include "pktkit/wire/link_type.h"

namespace pktkit::fwd {

inline constexpr uint8_t kSynthSrcMac[6] = {0x02, 0x70, 0x6b, 0x74, 0x00, 0x01};  // "pkt"
inline constexpr uint8_t kSynthDstMac[6] = {0x02, 0x70, 0x6b, 0x74, 0x00, 0x02};
inline constexpr size_t kEthHeader = 14;

enum class PrepareError : uint8_t {
  kOk = 0,
  kTruncated,            // shorter than its link-layer header
  kUnsupportedLinkType,  // not Ethernet, raw IP, Linux SLL/SLL2 or NFLOG
  kNotIp,                // a non-Ethernet link type carrying something other than IPv4/IPv6
};

inline const char* PrepareErrorName(PrepareError e) {
  switch (e) {
    case PrepareError::kOk:
      return "ok";
    case PrepareError::kTruncated:
      return "truncated";
    case PrepareError::kUnsupportedLinkType:
      return "unsupported_link_type";
    case PrepareError::kNotIp:
      return "not_ip";
  }
  return "unknown";
}

// The inner frame: `prefix` (a synthesized Ethernet header, or empty) followed by `body`
// (points into the captured bytes; no copy).
struct Inner {
  uint8_t prefix[kEthHeader] = {};
  size_t prefix_len = 0;
  ByteSpan body;
  uint16_t geneve_protocol = kEtherTypeTransparentEthernet;
  bool synthesized_ethernet = false;
  // The network layer, for hashing, and its EtherType (0 when not IP).
  ByteSpan l3;
  uint16_t l3_ethertype = 0;
  uint16_t outer_vid = 0;  // first VLAN tag's VID (0: untagged)
  size_t size() const { return prefix_len + body.size; }
};

namespace internal {
// NFLOG (LINKTYPE_NFLOG): 4-byte header (family, version, resource id) then TLVs with
// little-endian length (incl. the 4-byte TLV header) and type, padded to 4; payload type 9.
inline bool NflogPayload(ByteSpan b, ByteSpan* payload, uint8_t* family) {
  ByteReader r(b);
  uint8_t fam = 0;
  if (!r.ReadU8(&fam) || !r.Skip(3)) return false;
  while (r.remaining() >= 4) {
    uint8_t hdr[4];
    r.ReadBytes(hdr, 4);
    const size_t len = size_t{hdr[0]} | (size_t{hdr[1]} << 8);
    const uint16_t type = static_cast<uint16_t>(hdr[2] | (hdr[3] << 8)) & 0x7fff;
    if (len < 4) return false;
    ByteSpan v;
    if (!r.ReadSpan(len - 4, &v)) return false;
    if (type == 9) {
      *payload = v;
      *family = fam;
      return true;
    }
    const size_t pad = (4 - len % 4) % 4;
    if (!r.Skip(pad < r.remaining() ? pad : r.remaining())) return false;
  }
  return false;
}
}  // namespace internal

// Prepares `frame` (of link type `lt`) as the inner frame for `mode` (kVxlan or kGeneve).
inline PrepareError PrepareInner(ByteSpan frame, LinkType lt, EncapMode mode, Inner* out) {
  *out = Inner();
  ByteSpan l3;
  uint16_t ethertype = 0;
  switch (lt) {
    case LinkType::kEthernet: {
      ByteReader r(frame);
      uint16_t type = 0;
      if (!r.Skip(12) || !r.ReadU16(&type)) return PrepareError::kTruncated;
      for (int i = 0; i < 2 && IsVlanTpid(type); ++i) {
        uint16_t tci = 0;
        if (!r.ReadU16(&tci) || !r.ReadU16(&type)) return PrepareError::kTruncated;
        if (i == 0) out->outer_vid = tci & 0x0fff;
      }
      out->body = frame;
      if (type == kEtherTypeIpv4 || type == kEtherTypeIpv6) {
        r.ReadSpan(r.remaining(), &out->l3);
        out->l3_ethertype = type;
      } else {
        out->l3 = frame;  // hash the MAC addresses (see SymmetricHash)
      }
      return PrepareError::kOk;
    }
    case LinkType::kRaw: {
      if (frame.size < 1) return PrepareError::kTruncated;
      const uint8_t v = frame.data[0] >> 4;
      if (v != 4 && v != 6) return PrepareError::kNotIp;
      l3 = frame;
      ethertype = v == 4 ? kEtherTypeIpv4 : kEtherTypeIpv6;
      break;
    }
    case LinkType::kLinuxSll:
    case LinkType::kLinuxSll2: {
      // SLL: protocol at offset 14 of 16; SLL2: protocol at offset 0 of 20.
      const bool v2 = lt == LinkType::kLinuxSll2;
      const size_t hlen = v2 ? 20 : 16;
      if (frame.size < hlen) return PrepareError::kTruncated;
      ethertype = LoadBe16(frame.data + (v2 ? 0 : 14));
      l3 = ByteSpan(frame.data + hlen, frame.size - hlen);
      break;
    }
    case LinkType::kNflog: {
      uint8_t family = 0;
      if (!internal::NflogPayload(frame, &l3, &family)) return PrepareError::kTruncated;
      ethertype = family == 2 ? kEtherTypeIpv4 : family == 10 ? kEtherTypeIpv6 : 0;
      break;
    }
    default:
      return PrepareError::kUnsupportedLinkType;
  }
  if (ethertype != kEtherTypeIpv4 && ethertype != kEtherTypeIpv6) return PrepareError::kNotIp;
  out->l3 = l3;
  out->l3_ethertype = ethertype;
  out->body = l3;
  if (mode == EncapMode::kGeneve) {
    out->geneve_protocol = ethertype;
  } else {
    std::memcpy(out->prefix, kSynthDstMac, 6);
    std::memcpy(out->prefix + 6, kSynthSrcMac, 6);
    StoreBe16(out->prefix + 12, ethertype);
    out->prefix_len = kEthHeader;
    out->synthesized_ethernet = true;
  }
  return PrepareError::kOk;
}

// A 64-bit finalizer (MurmurHash3 fmix64).
inline uint64_t Mix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb53fe1a85ec9ULL;
  k ^= k >> 33;
  return k;
}

namespace internal {
inline uint64_t HashBytes(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;  // FNV-1a
  return h;
}
}  // namespace internal

// Symmetric, fragment-safe flow hash: pktkit/flow's SymmetricFlowHash over (address pair,
// protocol) of the network layer. Non-IP Ethernet frames hash their MAC pair (ordered, so
// symmetric); anything unparsable hashes to a constant of the seed.
inline uint32_t SymmetricHash(ByteSpan l3, uint16_t ethertype, uint64_t seed) {
  if (ethertype == kEtherTypeIpv4 || ethertype == kEtherTypeIpv6) {
    const FlowHashResult r =
        SymmetricFlowHash(l3, LinkType::kRaw, seed, FlowHashFields::kAddressesAndProtocol);
    if (r.error == FlowKeyError::kOk) return r.hash;
  } else if (l3.size >= 12) {
    const uint8_t* a = l3.data;
    const uint8_t* b = l3.data + 6;
    if (std::memcmp(a, b, 6) > 0) std::swap(a, b);
    uint64_t h = internal::HashBytes(0xcbf29ce484222325ULL ^ seed, a, 6);
    return static_cast<uint32_t>(Mix64(internal::HashBytes(h, b, 6)));
  }
  return static_cast<uint32_t>(Mix64(seed ^ 0x9e3779b97f4a7c15ULL));
}

// Rendezvous (highest random weight) hashing: the destination whose key scores highest for this
// flow. Adding a destination moves only the flows it now wins (about 1/n of them); removing one
// moves only its own flows. `keys` are stable per destination (e.g. a hash of "host:port").
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

inline uint64_t DestinationKey(const char* text) {
  return Mix64(internal::HashBytes(0xcbf29ce484222325ULL, reinterpret_cast<const uint8_t*>(text),
                                   std::strlen(text)));
}

// The outer UDP source port in [lo, hi] (RFC 7348 §5 recommends 49152–65535).
inline uint16_t SourcePort(uint64_t flow_hash, uint16_t lo, uint16_t hi) {
  if (hi < lo) return lo;
  const uint32_t span = uint32_t{hi} - lo + 1;
  return static_cast<uint16_t>(lo + static_cast<uint32_t>(flow_hash % span));
}

// The tunnel header description for one packet: `mode`, `vni`, the options, and the GENEVE
// Protocol Type `inner` needs (0x6558 for Ethernet, 0x0800/0x86DD for raw IP).
inline EncapSpec MakeEncapSpec(EncapMode mode, Vni vni, const GeneveOptionSpec* opts, size_t nopts,
                               const Inner& inner) {
  EncapSpec spec;
  spec.mode = mode;
  spec.vni = vni;
  if (mode == EncapMode::kGeneve) {
    spec.geneve_protocol = inner.geneve_protocol;
    spec.options = opts;
    spec.option_count = nopts;
  }
  return spec;
}

// The UDP header (8 bytes) for a datagram of `payload_len` bytes, checksum 0: none over IPv4
// (RFC 768, RFC 7348 §5 "SHOULD be transmitted as zero"); for IPv6 the kernel fills it in
// (raw socket with IPV6_CHECKSUM).
inline bool WriteUdp(uint16_t sport, uint16_t dport, size_t payload_len, ByteWriter* w) {
  return w->WriteU16(sport) && w->WriteU16(dport) &&
         w->WriteU16(static_cast<uint16_t>(8 + payload_len)) && w->WriteU16(0);
}

}  // namespace pktkit::fwd

#endif  // PKTKIT_TOOLS_FWD_FORWARDER_H_
