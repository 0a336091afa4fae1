// pktkit/wire/tunnel_meta.h — what a decapsulation learned about the tunnel a packet came in.
//
// Decapsulation (pktkit/wire/decap.h) fills a TunnelMeta; the packet view (pktkit/io/packet.h)
// carries it to sinks, which use it for per-VNI counters, VNI filters and metadata output.
//
//   pktkit::TunnelMeta meta;
//   if (meta.vni.has_value()) counters.ByVni(meta.vni.value())++;
//
// Vni is a strong type that cannot hold a value of 2^24 or more (RFC 7348 §5, RFC 8926 §3.4).
// The GENEVE options are not copied: `geneve_options` points into the received datagram and is
// valid while that buffer is (iterate it with pktkit/wire/geneve.h).
#ifndef PKTKIT_WIRE_TUNNEL_META_H_
#define PKTKIT_WIRE_TUNNEL_META_H_

#include <cstdint>

#include "pktkit/wire/bytes.h"

namespace pktkit {

// A 24-bit VXLAN/GENEVE Virtual Network Identifier.
class Vni {
 public:
  static constexpr uint32_t kMax = (1u << 24) - 1;

  constexpr Vni() = default;
  // Keeps the low 24 bits; use IsValid() first when the value comes from a user.
  static constexpr Vni FromMasked(uint32_t v) { return Vni(v & kMax); }
  static constexpr bool IsValid(uint64_t v) { return v <= kMax; }
  constexpr uint32_t value() const { return value_; }
  friend constexpr bool operator==(Vni a, Vni b) { return a.value_ == b.value_; }
  friend constexpr bool operator!=(Vni a, Vni b) { return a.value_ != b.value_; }

 private:
  explicit constexpr Vni(uint32_t v) : value_(v) {}
  uint32_t value_ = 0;
};

// A VNI that may be absent (raw and skip=N tunnels have none).
struct OptionalVni {
  bool present = false;
  Vni vni;

  constexpr bool has_value() const { return present; }
  constexpr Vni value() const { return vni; }
  static constexpr OptionalVni Of(Vni v) { return OptionalVni{true, v}; }
};

enum class TunnelType : uint8_t {
  kNone = 0,      // not decapsulated
  kVxlan,         // RFC 7348
  kGeneve,        // RFC 8926
  kGeneveVxlan,   // AWS Gateway Load Balancer: GENEVE → IPv4/IPv6 → UDP → VXLAN → Ethernet
  kRaw,           // the UDP payload is the packet
  kSkip,          // the first N bytes of the UDP payload are dropped
};

// One side of the outer IP/UDP header (or the socket peer), when known.
struct IpEndpoint {
  uint8_t family = 0;  // 0 unknown, 4 or 6
  uint8_t addr[16] = {};  // IPv4 in the first 4 bytes
  uint16_t port = 0;
};

struct TunnelMeta {
  TunnelType type = TunnelType::kNone;
  // VNI of the header that directly encloses the inner packet (VXLAN's in geneve+vxlan).
  OptionalVni vni;
  // geneve+vxlan only: the VNI of the outer GENEVE header.
  OptionalVni outer_vni;
  // GENEVE: the Protocol Type field (0x6558 Ethernet, 0x0800 IPv4, 0x86DD IPv6).
  uint16_t geneve_protocol = 0;
  // GENEVE: the O (control) and C (critical options present) bits.
  bool geneve_oam = false;
  bool geneve_critical = false;
  // GENEVE: the raw option TLVs (no copy; valid while the datagram is).
  ByteSpan geneve_options;
  // Outer addresses and ports, when the outer IP/UDP headers or the socket told us.
  IpEndpoint outer_src;
  IpEndpoint outer_dst;
};

}  // namespace pktkit

#endif  // PKTKIT_WIRE_TUNNEL_META_H_
