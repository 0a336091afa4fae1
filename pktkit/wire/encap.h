// pktkit/wire/encap.h — encapsulation builders: the VXLAN or GENEVE header in front of an inner
// frame, and for capture files the full outer Ethernet / IPv4-or-IPv6 / UDP headers with correct
// lengths and checksums. Size first, then write (STYLE.md habit 9).
//
//   // Tunnel header only, for a UDP socket send gathered with the inner bytes (iovec):
//   pktkit::EncapSpec spec;                 // VXLAN by default
//   spec.vni = pktkit::Vni::FromMasked(42);
//   uint8_t hdr[pktkit::kMaxTunnelHeaderSize];
//   pktkit::ByteWriter w(hdr, sizeof hdr);
//   if (!pktkit::WriteTunnelHeader(spec, &w)) return;  // iov[0] = {hdr, w.size()}, iov[1] = inner
//
//   // Whole frame, for a pcap file:
//   size_t n = pktkit::EncapsulatedFrameSize(outer, spec, inner.size);  // 0: does not fit
//   pktkit::ByteWriter fw(buf, n);
//   pktkit::WriteEncapsulatedFrame(outer, spec, inner, &fw);
//
// Only EncapMode::kVxlan and kGeneve are built (geneve+vxlan/raw/skip are receive-side modes).
// References: RFC 7348 §5, RFC 8926 §3, RFC 768 (UDP checksum, 0 sent as 0xffff), RFC 791,
// RFC 8200 §8.1 (UDP over IPv6 must carry a checksum).
#ifndef PKTKIT_WIRE_ENCAP_H_
#define PKTKIT_WIRE_ENCAP_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/checksum.h"
#include "pktkit/wire/decap.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/geneve.h"
#include "pktkit/wire/ipv4.h"
#include "pktkit/wire/ipv6.h"
#include "pktkit/wire/l4.h"
#include "pktkit/wire/link_type.h"
#include "pktkit/wire/tunnel_meta.h"
#include "pktkit/wire/vxlan.h"

namespace pktkit {

// The largest tunnel header WriteTunnelHeader can write (GENEVE with 252 option bytes).
inline constexpr size_t kMaxTunnelHeaderSize = kGeneveHeaderSize + kGeneveMaxOptionsBytes;

// What tunnel header to put in front of the inner frame.
struct EncapSpec {
  EncapMode mode = EncapMode::kVxlan;  // kVxlan or kGeneve
  Vni vni;
  // GENEVE only: Protocol Type (0x6558 Ethernet, 0x0800 IPv4, 0x86DD IPv6), options (not
  // copied; each data size a multiple of 4, at most 124; 252 bytes in all) and the O bit.
  uint16_t geneve_protocol = kEtherTypeTransparentEthernet;
  const GeneveOptionSpec* options = nullptr;
  size_t option_count = 0;
  bool geneve_oam = false;
};

// The outer headers for a full frame. src and dst must have the same family (4 or 6); their
// ports are the UDP ports (put a flow hash in src.port so receivers can spread flows).
struct OuterSpec {
  uint8_t src_mac[6] = {};
  uint8_t dst_mac[6] = {};
  IpEndpoint src;
  IpEndpoint dst;
  uint8_t ttl = 64;          // IPv4 TTL / IPv6 hop limit
  uint8_t tos = 0;           // IPv4 TOS / IPv6 traffic class
  uint16_t ip_id = 0;        // IPv4 identification
  bool udp_checksum = true;  // IPv4 only: false sends 0 (RFC 768); IPv6 always computes it
};

// Bytes of the tunnel header `spec` describes, or 0 when the spec is invalid (bad mode, invalid
// GENEVE options).
inline size_t TunnelHeaderSize(const EncapSpec& spec) {
  if (spec.mode == EncapMode::kVxlan) return kVxlanHeaderSize;
  if (spec.mode != EncapMode::kGeneve) return 0;
  size_t options_bytes = 0;
  if (!GeneveOptionsSize(spec.options, spec.option_count, &options_bytes)) return 0;
  return kGeneveHeaderSize + options_bytes;
}

// Writes the tunnel header only. False (writer poisoned) for an invalid spec or short capacity.
inline bool WriteTunnelHeader(const EncapSpec& spec, ByteWriter* w) {
  if (spec.mode == EncapMode::kVxlan) {
    VxlanHeader h;
    h.vni = spec.vni;
    return SerializeVxlan(h, w);
  }
  if (spec.mode != EncapMode::kGeneve) return w->Fail();
  GeneveHeader h;
  h.oam = spec.geneve_oam;
  h.protocol_type = spec.geneve_protocol;
  h.vni = spec.vni;
  return SerializeGeneve(h, spec.options, spec.option_count, w);
}

namespace internal {
inline size_t OuterIpHeaderSize(const OuterSpec& outer) {
  if (outer.src.family != outer.dst.family) return 0;
  if (outer.src.family == 4) return 20;
  if (outer.src.family == 6) return 40;
  return 0;
}
}  // namespace internal

// Bytes of the whole frame (Ethernet 14 + IP 20/40 + UDP 8 + tunnel header + inner), or 0 when
// the specs are invalid or the IP/UDP length fields cannot hold it (65535).
inline size_t EncapsulatedFrameSize(const OuterSpec& outer, const EncapSpec& spec,
                                    size_t inner_len) {
  const size_t ip_len = internal::OuterIpHeaderSize(outer);
  const size_t tunnel = TunnelHeaderSize(spec);
  if (ip_len == 0 || tunnel == 0 || inner_len > 65535) return 0;
  const size_t udp_len = kUdpHeaderSize + tunnel + inner_len;
  // IPv4 total length includes its own header; IPv6 payload length does not.
  if (udp_len + (outer.src.family == 4 ? ip_len : 0) > 65535) return 0;
  return kEthernetHeaderSize + ip_len + udp_len;
}

// Writes Ethernet / IP / UDP / tunnel header / inner. The IPv4 header checksum and the UDP
// checksum (pseudo-header + UDP header + tunnel header + inner; 0 becomes 0xffff) are computed.
// False (writer poisoned, partial bytes may be written) when EncapsulatedFrameSize is 0 or the
// writer has less capacity than it.
inline bool WriteEncapsulatedFrame(const OuterSpec& outer, const EncapSpec& spec, ByteSpan inner,
                                   ByteWriter* w) {
  const size_t total = EncapsulatedFrameSize(outer, spec, inner.size);
  if (total == 0 || w->remaining() < total) return w->Fail();
  const bool v4 = outer.src.family == 4;
  const size_t udp_len = total - kEthernetHeaderSize - internal::OuterIpHeaderSize(outer);

  EthernetHeader eth;
  std::memcpy(eth.dst, outer.dst_mac, 6);
  std::memcpy(eth.src, outer.src_mac, 6);
  eth.ethertype = v4 ? kEtherTypeIpv4 : kEtherTypeIpv6;
  if (!SerializeEthernet(eth, w)) return w->Fail();

  if (v4) {
    Ipv4Header ip;
    std::memcpy(ip.src, outer.src.addr, 4);
    std::memcpy(ip.dst, outer.dst.addr, 4);
    ip.protocol = kIpProtoUdp;
    ip.ttl = outer.ttl;
    ip.tos = outer.tos;
    ip.id = outer.ip_id;
    if (!SerializeIpv4(ip, udp_len, w)) return w->Fail();
  } else {
    Ipv6Header ip;
    std::memcpy(ip.src, outer.src.addr, 16);
    std::memcpy(ip.dst, outer.dst.addr, 16);
    ip.next_header = kIpProtoUdp;
    ip.hop_limit = outer.ttl;
    ip.traffic_class = outer.tos;
    if (!SerializeIpv6(ip, udp_len, w)) return w->Fail();
  }

  const size_t udp_start = w->size();
  UdpHeader udp;
  udp.src_port = outer.src.port;
  udp.dst_port = outer.dst.port;
  udp.length = static_cast<uint16_t>(udp_len);
  udp.checksum = 0;
  if (!SerializeUdp(udp, w) || !WriteTunnelHeader(spec, w) || !w->WriteSpan(inner)) {
    return w->Fail();
  }
  if (w->size() - udp_start != udp_len) return w->Fail();  // a serializer disagreed on sizes

  if (v4 && !outer.udp_checksum) return true;
  // The datagram is in our own output buffer now: sum it there.
  uint8_t* const udp_bytes = w->data() + udp_start;
  ChecksumAccumulator sum;
  if (v4) {
    sum.AddIpv4PseudoHeader(outer.src.addr, outer.dst.addr, static_cast<uint16_t>(udp_len),
                            kIpProtoUdp);
  } else {
    sum.AddIpv6PseudoHeader(outer.src.addr, outer.dst.addr, static_cast<uint32_t>(udp_len),
                            kIpProtoUdp);
  }
  sum.Add(udp_bytes, udp_len);
  uint16_t csum = sum.Finish();
  if (csum == 0) csum = 0xffff;  // RFC 768: a computed 0 is sent as all ones
  StoreBe16(udp_bytes + 6, csum);
  return true;
}

}  // namespace pktkit

#endif  // PKTKIT_WIRE_ENCAP_H_
