// pktkit/wire/decap.h — tunnel decapsulation: one UDP datagram (or one captured frame) in, the
// inner packet, its link type and the tunnel metadata out. The contract used by the UDP tunnel
// receiver (pktkit/io) and by tools reading captures of tunnel traffic.
//
//   pktkit::DecapConfig cfg;
//   if (!pktkit::ParseEncapMode("geneve", &cfg)) return Usage();
//   pktkit::DecapResult r = pktkit::Decapsulate(pktkit::ByteSpan(buf, n), cfg);
//   if (r.error != pktkit::DecapError::kOk) {
//     drops[pktkit::DecapErrorName(r.error)]++;  // stable snake_case counter names
//   } else {
//     Emit(r.inner, r.link_type, r.meta);  // r.inner points into buf (no copy)
//   }
//
// Modes (ParseEncapMode spelling → what the UDP payload holds → inner link type):
//   "vxlan"        VXLAN (RFC 7348) → Ethernet
//   "geneve"       GENEVE (RFC 8926) → by Protocol Type: 0x6558 Ethernet, 0x0800/0x86DD raw IP
//   "geneve+vxlan" AWS Gateway Load Balancer carrying VPC Traffic Mirroring: GENEVE (class
//                  0x0108 options, protocol IPv4 or IPv6) → IPv4/IPv6 → UDP → VXLAN → Ethernet;
//                  meta.outer_vni = the GENEVE VNI, meta.vni = the VXLAN VNI
//   "raw"          the payload is the packet, of link type cfg.raw_link_type
//   "skip=N"       drop the first N bytes, the rest is of link type cfg.raw_link_type
// Every failure is one DecapError value; nothing is asserted, allocated or logged.
// References: RFC 7348, RFC 8926, AWS GWLB and VPC Traffic Mirroring documentation.
#ifndef PKTKIT_WIRE_DECAP_H_
#define PKTKIT_WIRE_DECAP_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/geneve.h"
#include "pktkit/wire/ipv4.h"
#include "pktkit/wire/ipv6.h"
#include "pktkit/wire/l4.h"
#include "pktkit/wire/link_type.h"
#include "pktkit/wire/tunnel_meta.h"
#include "pktkit/wire/vxlan.h"

namespace pktkit {

enum class EncapMode : uint8_t { kVxlan, kGeneve, kGeneveVxlan, kRaw, kSkip };

struct DecapConfig {
  EncapMode mode = EncapMode::kVxlan;
  size_t skip_bytes = 0;                         // kSkip: bytes dropped from the front
  LinkType raw_link_type = LinkType::kEthernet;  // kRaw/kSkip: the inner packet's link type
  bool accept_unknown_critical = false;          // GENEVE: accept critical options not in `known`
  // GENEVE: critical options understood (null: the AWS GWLB options of class 0x0108).
  const GeneveOptionKey* geneve_known = nullptr;
  size_t geneve_known_count = 0;
};

enum class DecapError : uint8_t {
  kOk = 0,
  kTruncated,              // a header (tunnel, inner IP/UDP, inner frame) cut short
  kBadVxlanFlags,          // VXLAN I flag clear
  kBadGeneveVersion,       // GENEVE version != 0
  kGeneveOptionOverrun,    // a GENEVE option TLV runs past the options area
  kUnknownCriticalOption,  // a critical GENEVE option not understood (RFC 8926 §3.5)
  kUnsupportedProtocol,    // GENEVE Protocol Type not Ethernet/IPv4/IPv6 (or not IP in +vxlan)
  kBadInnerIp,           // geneve+vxlan: the IP (or UDP) header between GENEVE and VXLAN is invalid
  kInnerNotUdp,          // geneve+vxlan: that IP packet is not UDP
  kInnerFragment,        // geneve+vxlan: that IP packet is a fragment (cannot reach VXLAN)
  kBadOuterHeaders,      // DecapsulateFrame: outer Ethernet/IP/UDP invalid or not IP/UDP
  kNotTunnelPort,        // DecapsulateFrame: UDP port is not the requested one
  kUnsupportedLinkType,  // DecapsulateFrame: outer link type not Ethernet or raw IP
  kCount,
};

// Stable snake_case names, used as Prometheus label values.
inline const char* DecapErrorName(DecapError e) {
  switch (e) {
    case DecapError::kOk:
      return "ok";
    case DecapError::kTruncated:
      return "truncated";
    case DecapError::kBadVxlanFlags:
      return "bad_vxlan_flags";
    case DecapError::kBadGeneveVersion:
      return "bad_geneve_version";
    case DecapError::kGeneveOptionOverrun:
      return "geneve_option_overrun";
    case DecapError::kUnknownCriticalOption:
      return "unknown_critical_option";
    case DecapError::kUnsupportedProtocol:
      return "unsupported_protocol";
    case DecapError::kBadInnerIp:
      return "bad_inner_ip";
    case DecapError::kInnerNotUdp:
      return "inner_not_udp";
    case DecapError::kInnerFragment:
      return "inner_fragment";
    case DecapError::kBadOuterHeaders:
      return "bad_outer_headers";
    case DecapError::kNotTunnelPort:
      return "not_tunnel_port";
    case DecapError::kUnsupportedLinkType:
      return "unsupported_link_type";
    case DecapError::kCount:
      break;
  }
  return "unknown";
}

// The inner packet (a view into the input, no copy: valid while the input is) and what the
// tunnel said about it. On error `inner` is empty; `meta` holds what was parsed before the
// error (for example the outer addresses), `link_type` is unspecified.
struct DecapResult {
  DecapError error = DecapError::kOk;
  ByteSpan inner;
  // DecapsulateFrame on a frame cut short by the capture's snap length: a UDP length past the
  // captured bytes was accepted and `inner` is the part that was captured (the caller keeps
  // the inner packet's original length, as Zeek and tshark do).
  bool snapped = false;
  LinkType link_type = LinkType::kEthernet;
  TunnelMeta meta;
};

// Parses "vxlan", "geneve", "geneve+vxlan", "raw" or "skip=N" (N decimal, 0..65535) into
// cfg->mode (and cfg->skip_bytes). Other fields of *cfg are left alone. False on anything else
// (then *cfg is unchanged).
inline bool ParseEncapMode(const char* text, DecapConfig* cfg) {
  if (text == nullptr) return false;
  if (std::strcmp(text, "vxlan") == 0) {
    cfg->mode = EncapMode::kVxlan;
  } else if (std::strcmp(text, "geneve") == 0) {
    cfg->mode = EncapMode::kGeneve;
  } else if (std::strcmp(text, "geneve+vxlan") == 0) {
    cfg->mode = EncapMode::kGeneveVxlan;
  } else if (std::strcmp(text, "raw") == 0) {
    cfg->mode = EncapMode::kRaw;
  } else if (std::strncmp(text, "skip=", 5) == 0) {
    const char* p = text + 5;
    if (*p == '\0') return false;
    size_t n = 0;
    for (; *p != '\0'; ++p) {
      if (*p < '0' || *p > '9') return false;
      n = n * 10 + static_cast<size_t>(*p - '0');
      if (n > 65535) return false;
    }
    cfg->mode = EncapMode::kSkip;
    cfg->skip_bytes = n;
  } else {
    return false;
  }
  return true;
}

namespace internal {

inline DecapError FromGeneveError(GeneveError e) {
  switch (e) {
    case GeneveError::kOk:
      return DecapError::kOk;
    case GeneveError::kTruncated:
      return DecapError::kTruncated;
    case GeneveError::kBadVersion:
      return DecapError::kBadGeneveVersion;
    case GeneveError::kOptionOverrun:
      return DecapError::kGeneveOptionOverrun;
    case GeneveError::kUnknownCriticalOption:
    case GeneveError::kCount:
      break;
  }
  return DecapError::kUnknownCriticalOption;
}

// VXLAN → Ethernet, filling meta.vni. An inner frame shorter than an Ethernet header is
// reported as kTruncated (a capture cut inside the tunnel).
inline DecapError DecapVxlan(ByteSpan in, DecapResult* out) {
  VxlanHeader vx;
  ByteSpan payload;
  const VxlanError e = ParseVxlan(in, &vx, &payload);
  if (e == VxlanError::kTruncated) return DecapError::kTruncated;
  if (e != VxlanError::kOk) return DecapError::kBadVxlanFlags;
  if (payload.size < kEthernetHeaderSize) return DecapError::kTruncated;
  out->meta.vni = OptionalVni::Of(vx.vni);
  out->inner = payload;
  out->link_type = LinkType::kEthernet;
  return DecapError::kOk;
}

// ParseUdp, except that with `snapped_ok` a Length past the end of `segment` (a capture cut
// short by its snap length) gives the captured rest as the payload and sets *snapped.
inline L4Error ParseUdpMaybeSnapped(ByteSpan segment, bool snapped_ok, UdpHeader* udp,
                                    bool* snapped) {
  const L4Error e = ParseUdp(segment, udp);
  if (e != L4Error::kTruncated || !snapped_ok || segment.size < kUdpHeaderSize ||
      udp->length < kUdpHeaderSize) {
    return e;
  }
  udp->payload = ByteSpan(segment.data + kUdpHeaderSize, segment.size - kUdpHeaderSize);
  *snapped = true;
  return L4Error::kOk;
}

// The IPv4/IPv6 → UDP → VXLAN part of geneve+vxlan (AWS GWLB carrying Traffic Mirroring).
inline DecapError DecapIpUdpVxlan(ByteSpan ip, uint16_t protocol, DecapResult* out,
                                  bool snapped_ok = false) {
  ByteSpan l4;
  uint8_t l4_proto = 0;
  if (protocol == kEtherTypeIpv4) {
    Ipv4Header h4;
    const Ipv4Error e = ParseIpv4(ip, &h4);
    if (e == Ipv4Error::kTruncated) return DecapError::kTruncated;
    if (e != Ipv4Error::kOk) return DecapError::kBadInnerIp;
    if (h4.more_fragments || h4.fragment_offset != 0) return DecapError::kInnerFragment;
    l4_proto = h4.protocol;
    l4 = h4.payload;
  } else {
    Ipv6Header h6;
    const Ipv6Error e = ParseIpv6(ip, &h6);
    if (e == Ipv6Error::kTruncated) return DecapError::kTruncated;
    if (e != Ipv6Error::kOk) return DecapError::kBadInnerIp;
    if (h6.has_fragment) return DecapError::kInnerFragment;
    l4_proto = h6.next_header;
    l4 = h6.payload;
  }
  if (l4_proto != kIpProtoUdp) return DecapError::kInnerNotUdp;
  UdpHeader udp;
  const L4Error ue = ParseUdpMaybeSnapped(l4, snapped_ok, &udp, &out->snapped);
  if (ue != L4Error::kOk) {
    return ue == L4Error::kTruncated ? DecapError::kTruncated : DecapError::kBadInnerIp;
  }
  return DecapVxlan(udp.payload, out);
}

}  // namespace internal

namespace internal {
inline DecapResult DecapsulatePayload(ByteSpan udp_payload, const DecapConfig& cfg,
                                      bool snapped_ok);
}  // namespace internal

// Decapsulates one UDP datagram's payload (`udp_payload`: the bytes a socket returned) per
// `cfg`. An inner packet that would be empty (or, for Ethernet, shorter than 14 bytes) is
// kTruncated. Fills meta.type, meta.vni (and outer_vni, geneve_* for GENEVE); meta.outer_src/dst
// are left for the caller (the socket knows the peer). Errors: see DecapError.
inline DecapResult Decapsulate(ByteSpan udp_payload, const DecapConfig& cfg) {
  return internal::DecapsulatePayload(udp_payload, cfg, /*snapped_ok=*/false);
}

namespace internal {
inline DecapResult DecapsulatePayload(ByteSpan udp_payload, const DecapConfig& cfg,
                                      bool snapped_ok) {
  DecapResult out;
  switch (cfg.mode) {
    case EncapMode::kVxlan:
      out.meta.type = TunnelType::kVxlan;
      out.error = internal::DecapVxlan(udp_payload, &out);
      break;
    case EncapMode::kGeneve:
    case EncapMode::kGeneveVxlan: {
      out.meta.type =
          cfg.mode == EncapMode::kGeneve ? TunnelType::kGeneve : TunnelType::kGeneveVxlan;
      GeneveOptionPolicy policy;
      if (cfg.geneve_known != nullptr) {
        policy.known = cfg.geneve_known;
        policy.known_count = cfg.geneve_known_count;
      }
      policy.accept_unknown_critical = cfg.accept_unknown_critical;
      GeneveHeader g;
      ByteSpan payload;
      out.error = internal::FromGeneveError(ParseGeneve(udp_payload, &g, &payload, policy));
      if (out.error != DecapError::kOk) break;
      // geneve+vxlan: the GENEVE VNI is the outer one; meta.vni will be VXLAN's.
      (cfg.mode == EncapMode::kGeneve ? out.meta.vni : out.meta.outer_vni) = OptionalVni::Of(g.vni);
      out.meta.geneve_protocol = g.protocol_type;
      out.meta.geneve_oam = g.oam;
      out.meta.geneve_critical = g.critical;
      out.meta.geneve_options = g.options;
      const uint16_t proto = g.protocol_type;
      const bool is_ip = proto == kEtherTypeIpv4 || proto == kEtherTypeIpv6;
      if (cfg.mode == EncapMode::kGeneveVxlan) {
        out.error = is_ip ? internal::DecapIpUdpVxlan(payload, proto, &out, snapped_ok)
                          : DecapError::kUnsupportedProtocol;
      } else if (proto == kEtherTypeTransparentEthernet) {
        out.error = payload.size < kEthernetHeaderSize ? DecapError::kTruncated : DecapError::kOk;
        out.inner = payload;
        out.link_type = LinkType::kEthernet;
      } else if (is_ip) {
        out.error = payload.empty() ? DecapError::kTruncated : DecapError::kOk;
        out.inner = payload;
        out.link_type = LinkType::kRaw;
      } else {
        out.error = DecapError::kUnsupportedProtocol;
      }
      break;
    }
    case EncapMode::kRaw:
      out.meta.type = TunnelType::kRaw;
      out.error = udp_payload.empty() ? DecapError::kTruncated : DecapError::kOk;
      out.inner = udp_payload;
      out.link_type = cfg.raw_link_type;
      break;
    case EncapMode::kSkip:
      out.meta.type = TunnelType::kSkip;
      if (udp_payload.size <= cfg.skip_bytes) {  // nothing left: an empty packet is no packet
        out.error = DecapError::kTruncated;
        break;
      }
      out.inner = ByteSpan(udp_payload.data + cfg.skip_bytes, udp_payload.size - cfg.skip_bytes);
      out.link_type = cfg.raw_link_type;
      break;
  }
  if (out.error != DecapError::kOk) out.inner = ByteSpan();
  if (out.error != DecapError::kOk) out.snapped = false;
  return out;
}

inline void SetEndpoint(uint8_t family, const uint8_t* addr, uint16_t port, IpEndpoint* ep) {
  ep->family = family;
  std::memcpy(ep->addr, addr, family == 4 ? 4 : 16);
  ep->port = port;
}
}  // namespace internal

// Decapsulates one captured frame of tunnel traffic (for example from `pcap -r`): parses the
// outer Ethernet (with any VLAN tags) or raw IP header per `outer_link`, IPv4 or IPv6, and UDP
// (all parsed, not assumed), fills meta.outer_src/outer_dst, then runs Decapsulate on the UDP
// payload. `udp_port` 0 accepts any port; otherwise a datagram whose destination port differs
// gives kNotTunnelPort. Errors beyond Decapsulate's: kUnsupportedLinkType, kBadOuterHeaders
// (not IP, not UDP, a non-first fragment, invalid headers), kTruncated (a capture cut short in
// the outer headers, or an IP/UDP length larger than the captured bytes).
// `frame_wire_len` is the frame's original length on the wire. When it is larger than
// frame.size (the capture was cut by its snap length), a UDP length past the captured bytes is
// not an error: the captured part is decapsulated and `snapped` is set. Headers themselves
// (outer, tunnel, the inner Ethernet header) must still be complete.
inline DecapResult DecapsulateFrame(ByteSpan frame, LinkType outer_link, uint16_t udp_port,
                                    const DecapConfig& cfg, size_t frame_wire_len = 0) {
  const bool snapped_ok = frame_wire_len > frame.size;
  DecapResult out;
  out.meta.type = TunnelType::kNone;
  ByteSpan ip;
  uint16_t ethertype = 0;
  if (outer_link == LinkType::kEthernet) {
    EthernetHeader eth;
    const EthernetError e = ParseEthernet(frame, &eth);
    if (e != EthernetError::kOk) {
      out.error =
          e == EthernetError::kTruncated ? DecapError::kTruncated : DecapError::kBadOuterHeaders;
      return out;
    }
    ethertype = eth.ethertype;
    ip = eth.payload;
  } else if (outer_link == LinkType::kRaw) {
    ByteReader r(frame);
    uint8_t first = 0;
    if (!r.PeekU8(&first)) {
      out.error = DecapError::kTruncated;
      return out;
    }
    ethertype = (first >> 4) == 6 ? kEtherTypeIpv6 : kEtherTypeIpv4;
    ip = frame;
  } else {
    out.error = DecapError::kUnsupportedLinkType;
    return out;
  }
  ByteSpan l4;
  uint8_t l4_proto = 0;
  const uint8_t* src = nullptr;
  const uint8_t* dst = nullptr;
  uint8_t family = 0;
  Ipv4Header h4;
  Ipv6Header h6;
  if (ethertype == kEtherTypeIpv4) {
    const Ipv4Error e = ParseIpv4(ip, &h4);
    if (e != Ipv4Error::kOk) {
      out.error =
          e == Ipv4Error::kTruncated ? DecapError::kTruncated : DecapError::kBadOuterHeaders;
      return out;
    }
    if (h4.fragment_offset != 0) {
      out.error = DecapError::kBadOuterHeaders;
      return out;
    }
    l4_proto = h4.protocol;
    l4 = h4.payload;
    src = h4.src;
    dst = h4.dst;
    family = 4;
  } else if (ethertype == kEtherTypeIpv6) {
    const Ipv6Error e = ParseIpv6(ip, &h6);
    if (e != Ipv6Error::kOk) {
      out.error =
          e == Ipv6Error::kTruncated ? DecapError::kTruncated : DecapError::kBadOuterHeaders;
      return out;
    }
    if (h6.has_fragment && h6.fragment_offset != 0) {
      out.error = DecapError::kBadOuterHeaders;
      return out;
    }
    l4_proto = h6.next_header;
    l4 = h6.payload;
    src = h6.src;
    dst = h6.dst;
    family = 6;
  } else {
    out.error = DecapError::kBadOuterHeaders;
    return out;
  }
  if (l4_proto != kIpProtoUdp) {
    out.error = DecapError::kBadOuterHeaders;
    return out;
  }
  UdpHeader udp;
  bool snapped = false;
  const L4Error ue = internal::ParseUdpMaybeSnapped(l4, snapped_ok, &udp, &snapped);
  if (ue != L4Error::kOk) {
    out.error = ue == L4Error::kTruncated ? DecapError::kTruncated : DecapError::kBadOuterHeaders;
    return out;
  }
  TunnelMeta outer_meta;
  internal::SetEndpoint(family, src, udp.src_port, &outer_meta.outer_src);
  internal::SetEndpoint(family, dst, udp.dst_port, &outer_meta.outer_dst);
  if (udp_port != 0 && udp.dst_port != udp_port) {
    out.meta = outer_meta;
    out.error = DecapError::kNotTunnelPort;
    return out;
  }
  out = internal::DecapsulatePayload(udp.payload, cfg, snapped_ok);
  if (out.error == DecapError::kOk && snapped) out.snapped = true;
  out.meta.outer_src = outer_meta.outer_src;
  out.meta.outer_dst = outer_meta.outer_dst;
  return out;
}

}  // namespace pktkit

#endif  // PKTKIT_WIRE_DECAP_H_
