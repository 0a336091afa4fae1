// pktkit/io/tunnel_templates.h — the prebuilt outer headers of a sender that writes whole
// Ethernet frames (pktkit/io/tunnel_tx_sink.h): one EncapTemplate (pktkit/wire/encap.h) per VNI,
// next hop and payload kind, where the VNI is the spec's or, through a map, the one of the inner
// frame's outer VLAN ID (0: untagged), as pktkit::TunnelSink chooses it; the payload kind is the
// GENEVE Protocol Type (Ethernet, IPv4 or IPv6; VXLAN always carries Ethernet).
//
//   pktkit::TunnelTemplates t;
//   absl::Status s = t.Build(hops, spec, {{100, pktkit::Vni::FromMasked(1000)}}, {});
//   if (!s.ok()) return s;
//   const pktkit::EncapTemplate& e = t.For(packet, /*hop=*/0, pktkit::TunnelPayload::kEthernet);
//   e.WriteHeaders(source_port, ip_id, packet.bytes(), frame);  // then the inner bytes
//
// Built once (and again when a next hop changes); For() is a table lookup.
#ifndef PKTKIT_IO_TUNNEL_TEMPLATES_H_
#define PKTKIT_IO_TUNNEL_TEMPLATES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "pktkit/io/next_hop.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/tunnel_sink.h"
#include "pktkit/wire/encap.h"

namespace pktkit {

enum class TunnelPayload : uint8_t { kEthernet, kIpv4, kIpv6 };

class TunnelTemplates {
 public:
  struct Outer {
    uint8_t ttl = 64;
    uint8_t tos = 0;
    bool ipv4_udp_checksum = false;  // else 0 over IPv4 (RFC 7348 §5); always over IPv6
  };

  // One set of templates per distinct VNI (the spec's first, then the map's), each with one
  // entry per hop and payload kind. Errors: InvalidArgument for a VLAN ID over 4095 or a spec
  // EncapTemplate refuses (GENEVE options that do not fit). On error the old templates stay.
  absl::Status Build(const std::vector<NextHop>& hops, const EncapSpec& spec,
                     const std::vector<std::pair<uint16_t, Vni>>& vni_by_vlan, const Outer& outer) {
    std::vector<Vni> vnis = {spec.vni};
    std::vector<uint16_t> set_by_vid;
    if (!vni_by_vlan.empty()) {
      set_by_vid.assign(4096, 0);
      for (const auto& [vid, vni] : vni_by_vlan) {
        if (vid >= 4096) return absl::InvalidArgumentError("tunnel sender: VLAN ID over 4095");
        size_t k = 0;
        while (k < vnis.size() && vnis[k].value() != vni.value()) ++k;
        if (k == vnis.size()) vnis.push_back(vni);
        set_by_vid[vid] = static_cast<uint16_t>(k);
      }
    }
    std::vector<EncapTemplate> t(vnis.size() * hops.size() * kKinds);
    for (size_t v = 0; v < vnis.size(); ++v) {
      for (size_t h = 0; h < hops.size(); ++h) {
        OuterSpec o;
        std::memcpy(o.src_mac, hops[h].src_mac, 6);
        std::memcpy(o.dst_mac, hops[h].dst_mac, 6);
        o.src = hops[h].src;
        o.dst = hops[h].dst;
        o.ttl = outer.ttl;
        o.tos = outer.tos;
        o.udp_checksum = outer.ipv4_udp_checksum;
        static constexpr uint16_t kProto[kKinds] = {kEtherTypeTransparentEthernet,
                                                    kEtherTypeIpv4, kEtherTypeIpv6};
        for (size_t k = 0; k < kKinds; ++k) {
          EncapSpec s = spec;
          s.vni = vnis[v];
          s.geneve_protocol = kProto[k];
          if (!t[(v * hops.size() + h) * kKinds + k].Init(o, s)) {
            return absl::InvalidArgumentError("tunnel sender: invalid encapsulation spec");
          }
        }
      }
    }
    templates_ = std::move(t);
    set_by_vid_ = std::move(set_by_vid);
    hops_ = hops.size();
    geneve_ = spec.mode == EncapMode::kGeneve;
    return absl::OkStatus();
  }

  // The template for packet `p` to hop `hop` (< the hops built; VXLAN ignores `payload`).
  const EncapTemplate& For(const PacketView& p, size_t hop, TunnelPayload payload) const {
    const size_t set = set_by_vid_.empty() ? 0 : set_by_vid_[TunnelOuterVid(p)];
    const size_t kind = geneve_ ? static_cast<size_t>(payload) : 0;
    return templates_[(set * hops_ + hop) * kKinds + kind];
  }

 private:
  static constexpr size_t kKinds = 3;
  std::vector<EncapTemplate> templates_;  // [VNI set][hop][payload kind]
  std::vector<uint16_t> set_by_vid_;      // empty: no VNI map; else VNI set by outer VLAN ID
  size_t hops_ = 0;
  bool geneve_ = false;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_TUNNEL_TEMPLATES_H_
