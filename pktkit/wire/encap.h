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
//   // Many frames to one destination: build the outer headers once, patch per packet.
//   pktkit::EncapTemplate t;
//   if (!t.Init(outer, spec)) return;                // outer.udp_checksum = false: zero over IPv4
//   pktkit::ByteWriter tw(buf, t.FrameSize(inner.size));
//   t.WriteFrame(/*src_port=*/sport, /*ip_id=*/id++, inner, &tw);  // same bytes as above
//
// Only EncapMode::kVxlan and kGeneve are built (geneve+vxlan/raw/skip are receive-side modes).
// UDP checksum policy: over IPv4 a tunnel may send 0 (RFC 768), and VXLAN and GENEVE senders
// SHOULD (RFC 7348 §5, RFC 8926 §3.3); the Linux vxlan/geneve devices send 0 over IPv4 by
// default (udpcsum off). Over IPv6 the checksum is required (RFC 8200 §8.1; RFC 6935/6936 allow
// a zero checksum only where both ends are configured for it, which neither builder assumes), so
// IPv6 frames always carry a computed one whatever `OuterSpec::udp_checksum` says.
// References: RFC 7348 §5, RFC 8926 §3, RFC 768 (UDP checksum, 0 sent as 0xffff), RFC 791,
// RFC 8200 §8.1, RFC 1624 (incremental update of the IPv4 header checksum).
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

// Largest outer header an EncapTemplate holds: Ethernet 14 + IPv6 40 + UDP 8 + GENEVE with 252
// option bytes.
inline constexpr size_t kMaxOuterHeaderSize = kEthernetHeaderSize + 40 + kUdpHeaderSize +
                                              kMaxTunnelHeaderSize;

// A per-destination outer header, built once by WriteEncapsulatedFrame (so both produce the
// same bytes by construction) and patched per packet: the IP length field, the UDP length and
// source port, the IPv4 identification and header checksum (RFC 1624 eqn. 3, from the stored
// checksum; never recomputed over the header), and the UDP checksum only where it is sent
// (IPv6 always; IPv4 when `OuterSpec::udp_checksum`), summed over the inner bytes on top of a
// sum of the constant fields taken once. Copyable; holds no pointers (GENEVE options are copied
// into the template at Init).
class EncapTemplate {
 public:
  // Builds the template for `outer` and `spec` (their ports, ip_id and addresses; outer.src.port
  // and outer.ip_id are replaced per packet). False when EncapsulatedFrameSize(outer, spec, 0)
  // is 0 (invalid spec, mixed families); the template is then unusable (ok() false).
  bool Init(const OuterSpec& outer, const EncapSpec& spec) {
    *this = EncapTemplate();
    OuterSpec o = outer;
    o.src.port = 0;
    o.ip_id = 0;
    const size_t n = EncapsulatedFrameSize(o, spec, 0);
    if (n == 0 || n > kMaxOuterHeaderSize) return false;
    ByteWriter w(hdr_, sizeof hdr_);
    if (!WriteEncapsulatedFrame(o, spec, ByteSpan(), &w) || w.size() != n) return false;
    v4_ = outer.src.family == 4;
    ip_off_ = kEthernetHeaderSize;
    udp_off_ = ip_off_ + (v4_ ? 20 : 40);
    size_ = n;
    udp_checksum_ = !v4_ || outer.udp_checksum;
    // The IPv4 header as built: total length = header-only size, id 0; its checksum is the
    // starting point for the incremental update.
    base_ip_len_ = v4_ ? static_cast<uint16_t>(n - ip_off_) : static_cast<uint16_t>(n - udp_off_);
    base_ip_csum_ = v4_ ? LoadBe16(hdr_ + ip_off_ + 10) : 0;
    if (udp_checksum_) {
      // Constant part of the UDP sum: pseudo-header addresses and protocol, destination port,
      // tunnel header. Lengths, source port and inner bytes are added per packet.
      ChecksumAccumulator c;
      if (v4_) {
        c.Add(hdr_ + ip_off_ + 12, 8);
      } else {
        c.Add(hdr_ + ip_off_ + 8, 32);
      }
      c.AddU16(kIpProtoUdp);
      c.Add(hdr_ + udp_off_ + 2, 2);
      c.Add(hdr_ + udp_off_ + kUdpHeaderSize, n - udp_off_ - kUdpHeaderSize);
      udp_base_ = c;
    }
    return true;
  }

  bool ok() const { return size_ != 0; }
  // Bytes of Ethernet + IP + UDP + tunnel header (what WriteHeaders writes).
  size_t header_size() const { return size_; }
  // Offset of the UDP header in the frame (where a raw IPPROTO_UDP socket's payload starts).
  size_t udp_offset() const { return udp_off_; }
  bool writes_udp_checksum() const { return udp_checksum_; }
  // Bytes of the whole frame, or 0 when the lengths cannot hold it (or !ok()).
  size_t FrameSize(size_t inner_len) const {
    if (size_ == 0 || inner_len > 65535) return 0;
    const size_t udp_len = size_ - udp_off_ + inner_len;
    if (udp_len + (v4_ ? udp_off_ - ip_off_ : 0) > 65535) return 0;
    return size_ + inner_len;
  }

  // Writes header_size() bytes to `out` (room for them is the caller's duty) for an inner frame
  // `inner` that the caller places right after them (or gathers after them with an iovec). The
  // inner bytes are read only when a UDP checksum is sent. False, writing nothing, when
  // FrameSize(inner.size) is 0.
  bool WriteHeaders(uint16_t src_port, uint16_t ip_id, ByteSpan inner, uint8_t* out) const {
    if (FrameSize(inner.size) == 0) return false;
    std::memcpy(out, hdr_, size_);
    const uint16_t udp_len = static_cast<uint16_t>(size_ - udp_off_ + inner.size);
    uint8_t* ip = out + ip_off_;
    uint8_t* udp = out + udp_off_;
    if (v4_) {
      const uint16_t total = static_cast<uint16_t>(base_ip_len_ + inner.size);
      StoreBe16(ip + 2, total);
      StoreBe16(ip + 4, ip_id);
      // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for each changed 16-bit field.
      uint32_t sum = static_cast<uint16_t>(~base_ip_csum_);
      sum += static_cast<uint16_t>(~base_ip_len_);
      sum += total;
      sum += 0xffffu;  // ~m for the id, which is 0 in the template
      sum += ip_id;
      sum = (sum & 0xffff) + (sum >> 16);
      sum = (sum & 0xffff) + (sum >> 16);
      StoreBe16(ip + 10, static_cast<uint16_t>(~sum));
    } else {
      StoreBe16(ip + 4, udp_len);
    }
    StoreBe16(udp, src_port);
    StoreBe16(udp + 4, udp_len);
    if (udp_checksum_) {
      ChecksumAccumulator c = udp_base_;
      c.AddU16(udp_len);  // pseudo-header length
      c.AddU16(udp_len);  // UDP length field
      c.AddU16(src_port);
      c.Add(inner.data, inner.size);  // starts at an even offset: tunnel headers are 4-aligned
      uint16_t csum = c.Finish();
      if (csum == 0) csum = 0xffff;  // RFC 768
      StoreBe16(udp + 6, csum);
    }
    return true;
  }

  // Writes the whole frame (headers, then a copy of `inner`); the same bytes as
  // WriteEncapsulatedFrame with outer.src.port = src_port and outer.ip_id = ip_id. False (writer
  // poisoned, nothing written) when FrameSize(inner.size) is 0 or the writer lacks room.
  bool WriteFrame(uint16_t src_port, uint16_t ip_id, ByteSpan inner, ByteWriter* w) const {
    const size_t total = FrameSize(inner.size);
    uint8_t* p = nullptr;
    if (total == 0 || !w->Reserve(total, &p)) return w->Fail();
    WriteHeaders(src_port, ip_id, inner, p);
    if (inner.size != 0) std::memcpy(p + size_, inner.data, inner.size);
    return true;
  }

 private:
  uint8_t hdr_[kMaxOuterHeaderSize] = {};
  size_t size_ = 0;
  size_t ip_off_ = 0;
  size_t udp_off_ = 0;
  bool v4_ = true;
  bool udp_checksum_ = false;
  uint16_t base_ip_len_ = 0;
  uint16_t base_ip_csum_ = 0;
  ChecksumAccumulator udp_base_;
};

}  // namespace pktkit

#endif  // PKTKIT_WIRE_ENCAP_H_
