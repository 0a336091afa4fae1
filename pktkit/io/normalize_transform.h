// pktkit/io/normalize_transform.h — link-type normalisation over batches: any link type the
// core reads (Ethernet with VLAN tags, Linux SLL and SLL2, NFLOG, raw IPv4/IPv6) turned into
// what the next stage needs (Ethernet, raw IP, or "Ethernet stays, the rest becomes raw IP").
//
//   pktkit::NormalizeTransform norm(pktkit::NormalizeTarget::kEthernetOrRaw);
//   pktkit::PacketBatch out = norm.Apply(batch);        // SLL/NFLOG views now start at the IP header
//   ... norm.stats().dropped_by[size_t(pktkit::LinkLayerError::kNotIp)] ...
//
// The byte logic is pktkit/wire/link_layer.h (ParseLinkLayer, WriteSynthesizedEthernet); this
// header is the batch plumbing. Output views point into the input's bytes (raw IP, Ethernet kept
// as it is) or, for a synthesized Ethernet header, into the transform's own scratch; they stay
// valid until the next Apply() or until the input batch is released. A packet cut short by its
// capture keeps its missing tail in wire_len. VLAN tags that leave the bytes with the link
// header (SLL/SLL2, or Ethernet turned into raw IP) are reported in PacketView::vlan (up to two). Dropped packets are counted by cause.
#ifndef PKTKIT_IO_NORMALIZE_TRANSFORM_H_
#define PKTKIT_IO_NORMALIZE_TRANSFORM_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "pktkit/io/packet.h"
#include "pktkit/io/transform.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/link_layer.h"

namespace pktkit {

enum class NormalizeTarget : uint8_t {
  // Every packet as an Ethernet frame: raw IP, SLL/SLL2 and NFLOG get a synthesized header
  // (pktkit/wire/link_layer.h's MAC pair), which costs one copy into the scratch.
  kEthernet,
  // Every packet as raw IPv4/IPv6 (no copy): Ethernet and SLL headers and tags are dropped
  // from the bytes; a packet that is not IP is dropped as not_ip.
  kRawIp,
  // Ethernet stays as it is, every other link type becomes raw IP (no copy).
  kEthernetOrRaw,
};

struct NormalizeStats {
  uint64_t packets = 0;      // packets seen
  uint64_t passed = 0;       // packets handed on
  uint64_t synthesized = 0;  // of those, given a synthesized Ethernet header
  uint64_t dropped = 0;      // packets dropped; by cause in dropped_by[]
  uint64_t dropped_by[static_cast<size_t>(LinkLayerError::kCount)] = {};
};

// Normalises one view. `out` starts as a copy of `in`; a synthesized Ethernet header is
// written to `eth_scratch` (kEthernetHeaderSize + in.caplen bytes) followed by the network
// layer. Returns kOk or the reason to drop the packet.
inline LinkLayerError NormalizeView(const PacketView& in, NormalizeTarget target,
                                    uint8_t* eth_scratch, PacketView* out, bool* synthesized) {
  *synthesized = false;
  *out = in;
  if (target == NormalizeTarget::kEthernetOrRaw && in.link_type == LinkType::kEthernet) {
    return LinkLayerError::kOk;  // nothing to parse: the next stage reads the Ethernet header
  }
  LinkLayer ll;
  const LinkLayerError e = ParseLinkLayer(in.bytes(), in.link_type, &ll);
  if (e != LinkLayerError::kOk) return e;
  const uint32_t missing = in.wire_len > in.caplen ? in.wire_len - in.caplen : 0;
  if (target == NormalizeTarget::kEthernet && in.link_type == LinkType::kEthernet) {
    return LinkLayerError::kOk;
  }
  if (out->vlan_count == 0) {  // tags leave the bytes with the link header: keep them here
    out->vlan_count = ll.vlan_count < 2 ? ll.vlan_count : 2;
    for (size_t i = 0; i < out->vlan_count; ++i) out->vlan[i] = ll.vlans[i];
  }
  if (target == NormalizeTarget::kEthernet) {
    WriteSynthesizedEthernet(ll.ethertype, eth_scratch);
    if (!ll.l3.empty()) std::memcpy(eth_scratch + kEthernetHeaderSize, ll.l3.data, ll.l3.size);
    out->data = eth_scratch;
    out->caplen = static_cast<uint32_t>(kEthernetHeaderSize + ll.l3.size);
    out->link_type = LinkType::kEthernet;
    *synthesized = true;
  } else {
    if (!IsIp(ll)) return LinkLayerError::kNotIp;
    out->data = ll.l3.data;
    out->caplen = static_cast<uint32_t>(ll.l3.size);
    out->link_type = LinkType::kRaw;
  }
  out->wire_len = out->caplen + missing;
  return LinkLayerError::kOk;
}

class NormalizeTransform : public PacketTransform {
 public:
  explicit NormalizeTransform(NormalizeTarget target) : target_(target) {}

  PacketBatch Apply(const PacketBatch& in) override {
    if (views_.size() < in.size) views_.resize(in.size);
    if (target_ == NormalizeTarget::kEthernet) {
      // Size first, so the scratch never moves while views point into it.
      size_t need = 0;
      for (const PacketView& p : in) {
        if (p.link_type != LinkType::kEthernet) need += kEthernetHeaderSize + p.caplen;
      }
      if (scratch_.size() < need) scratch_.resize(need);
    }
    size_t n = 0;
    size_t used = 0;
    for (const PacketView& p : in) {
      ++stats_.packets;
      bool synthesized = false;
      const LinkLayerError e =
          NormalizeView(p, target_, scratch_.data() + used, &views_[n], &synthesized);
      if (e != LinkLayerError::kOk) {
        ++stats_.dropped;
        ++stats_.dropped_by[static_cast<size_t>(e)];
        continue;
      }
      if (synthesized) {
        used += views_[n].caplen;
        ++stats_.synthesized;
      }
      ++stats_.passed;
      ++n;
    }
    return PacketBatch{views_.data(), n};
  }

  const NormalizeStats& stats() const { return stats_; }
  NormalizeTarget target() const { return target_; }

 private:
  NormalizeTarget target_;
  std::vector<PacketView> views_;
  std::vector<uint8_t> scratch_;
  NormalizeStats stats_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_NORMALIZE_TRANSFORM_H_
