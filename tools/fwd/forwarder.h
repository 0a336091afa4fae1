// tools/fwd/forwarder.h — the packet logic of pktkit-fwd, pure and testable: turning a captured
// packet of any supported link type into the inner frame of a VXLAN or GENEVE tunnel, the
// symmetric flow hash that picks the destination sensor (rendezvous hashing) and the outer UDP
// source port, and the outer Ethernet/IP/UDP headers written for -w.
//
//   pktkit::fwd::Inner in;
//   if (pktkit::fwd::PrepareInner(p.bytes(), p.link_type, pktkit::Encap::kVxlan, &in) !=
//       pktkit::fwd::PrepareError::kOk) { drops[...]++; }
//   const uint64_t h = pktkit::fwd::SymmetricHash(in.l3, in.l3_ethertype, seed);
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

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/checksum.h"
#include "pktkit/wire/geneve.h"
#include "pktkit/wire/link_type.h"
#include "pktkit/wire/vxlan.h"

namespace pktkit::fwd {

// Which tunnel to build.
enum class Encap : uint8_t { kVxlan, kGeneve };

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
inline PrepareError PrepareInner(ByteSpan frame, LinkType lt, Encap mode, Inner* out) {
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
  if (mode == Encap::kGeneve) {
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
inline uint64_t HashPair(uint64_t seed, const uint8_t* a, const uint8_t* b, size_t n,
                         uint8_t proto) {
  if (std::memcmp(a, b, n) > 0) {  // order the endpoints: symmetric by construction
    const uint8_t* t = a;
    a = b;
    b = t;
  }
  uint64_t h = HashBytes(0xcbf29ce484222325ULL ^ seed, a, n);
  h = HashBytes(h, b, n);
  h = HashBytes(h, &proto, 1);
  return Mix64(h);
}
}  // namespace internal

// Symmetric, fragment-safe flow hash over (address pair, protocol). For IPv6 the protocol is the
// first header after the extension headers hop-by-hop, routing, destination options and
// fragment. Non-IP Ethernet frames hash their MAC pair; anything unparsable hashes to seed's mix.
inline uint64_t SymmetricHash(ByteSpan l3, uint16_t ethertype, uint64_t seed) {
  ByteReader r(l3);
  if (ethertype == kEtherTypeIpv4) {
    uint8_t vihl = 0, proto = 0;
    uint8_t src[4], dst[4];
    if (r.ReadU8(&vihl) && r.Skip(8) && r.ReadU8(&proto) && r.Skip(2) && r.ReadBytes(src, 4) &&
        r.ReadBytes(dst, 4)) {
      return internal::HashPair(seed, src, dst, 4, proto);
    }
  } else if (ethertype == kEtherTypeIpv6) {
    uint8_t next = 0;
    uint8_t src[16], dst[16];
    if (r.Skip(6) && r.ReadU8(&next) && r.Skip(1) && r.ReadBytes(src, 16) && r.ReadBytes(dst, 16)) {
      // RFC 8200 §4: walk at most 8 extension headers.
      for (int i = 0; i < 8 && (next == 0 || next == 43 || next == 60 || next == 44); ++i) {
        uint8_t nh = 0, len = 0;
        if (!r.ReadU8(&nh) || !r.ReadU8(&len)) break;
        const size_t skip = next == 44 ? 6 : size_t{len} * 8 + 6;
        next = nh;
        if (!r.Skip(skip)) break;
      }
      return internal::HashPair(seed, src, dst, 16, next);
    }
  } else if (l3.size >= 12) {
    return internal::HashPair(seed, l3.data, l3.data + 6, 6, 0);
  }
  return Mix64(seed ^ 0x9e3779b97f4a7c15ULL);
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
  return static_cast<uint16_t>(lo + static_cast<uint32_t>((flow_hash >> 16) % span));
}

// Writes the tunnel header for `mode`/`vni`/options and `inner`'s GENEVE protocol type.
inline bool WriteTunnel(Encap mode, Vni vni, const GeneveOptionSpec* opts, size_t nopts,
                        const Inner& inner, ByteWriter* w) {
  if (mode == Encap::kVxlan) {
    VxlanHeader h;
    h.vni = vni;
    return SerializeVxlan(h, w);
  }
  GeneveHeader h;
  h.vni = vni;
  h.protocol_type = inner.geneve_protocol;
  return SerializeGeneve(h, opts, nopts, w);
}

// The UDP header (8 bytes) for a datagram of `payload_len` bytes. `checksum` 0 means none
// (allowed for IPv4, RFC 768; the kernel fills it in for IPv6 raw sockets with IPV6_CHECKSUM).
inline bool WriteUdp(uint16_t sport, uint16_t dport, size_t payload_len, ByteWriter* w) {
  return w->WriteU16(sport) && w->WriteU16(dport) &&
         w->WriteU16(static_cast<uint16_t>(8 + payload_len)) && w->WriteU16(0);
}

// A whole outer frame for a capture file: Ethernet / IPv4 or IPv6 / UDP (checksum computed) /
// `tunnel` bytes / inner prefix / inner body. `family` 4 or 6; addresses in network order.
// Returns false when `w` is too small or the datagram exceeds 65535 bytes.
inline bool WriteOuterFrame(int family, const uint8_t* src, const uint8_t* dst, uint16_t sport,
                            uint16_t dport, ByteSpan tunnel, const Inner& inner, uint16_t ip_id,
                            ByteWriter* w) {
  const size_t udp_len = 8 + tunnel.size + inner.size();
  const size_t ip_hdr = family == 4 ? 20 : 40;
  if (udp_len + (family == 4 ? ip_hdr : 0) > 65535) return w->Fail();
  if (w->remaining() < kEthHeader + ip_hdr + udp_len) return w->Fail();
  w->WriteBytes(kSynthDstMac, 6);
  w->WriteBytes(kSynthSrcMac, 6);
  w->WriteU16(family == 4 ? kEtherTypeIpv4 : kEtherTypeIpv6);
  const size_t ip_start = w->size();
  if (family == 4) {
    w->WriteU8(0x45);
    w->WriteU8(0);
    w->WriteU16(static_cast<uint16_t>(20 + udp_len));
    w->WriteU16(ip_id);
    w->WriteU16(0);
    w->WriteU8(64);
    w->WriteU8(17);
    w->WriteU16(0);
    w->WriteBytes(src, 4);
    w->WriteBytes(dst, 4);
    StoreBe16(w->data() + ip_start + 10, InternetChecksum(w->data() + ip_start, 20));
  } else {
    w->WriteU32(0x60000000u);
    w->WriteU16(static_cast<uint16_t>(udp_len));
    w->WriteU8(17);
    w->WriteU8(64);
    w->WriteBytes(src, 16);
    w->WriteBytes(dst, 16);
  }
  const size_t udp_start = w->size();
  WriteUdp(sport, dport, tunnel.size + inner.size(), w);
  w->WriteSpan(tunnel);
  w->WriteBytes(inner.prefix, inner.prefix_len);
  if (!w->WriteSpan(inner.body)) return false;
  ChecksumAccumulator sum;
  if (family == 4) {
    sum.AddIpv4PseudoHeader(src, dst, static_cast<uint16_t>(udp_len), 17);
  } else {
    sum.AddIpv6PseudoHeader(src, dst, static_cast<uint32_t>(udp_len), 17);
  }
  sum.Add(w->data() + udp_start, udp_len);
  uint16_t c = sum.Finish();
  if (c == 0) c = 0xffff;
  StoreBe16(w->data() + udp_start + 6, c);
  return true;
}

}  // namespace pktkit::fwd

#endif  // PKTKIT_TOOLS_FWD_FORWARDER_H_
