// pktkit/io/decap_transform.h — tunnel decapsulation over batches, and the one conversion of a
// DecapResult (pktkit/wire/decap.h) into the inner packet's PacketView.
//
// The UDP tunnel receivers (pktkit/io/udp_receiver.h) decapsulate each datagram as it arrives
// and use SetInnerView; DecapTransform does the same for frames of tunnel traffic from any
// other source (a capture file, an AF_PACKET ring): outer Ethernet or raw IP (normalise SLL,
// SLL2 or NFLOG first with pktkit/io/normalize_transform.h), outer IP/UDP, then the tunnel.
//
//   pktkit::DecapConfig cfg;
//   pktkit::ParseEncapMode("geneve", &cfg);
//   pktkit::DecapTransform decap(cfg, /*udp_port=*/6081);
//   pktkit::PacketBatch inner = decap.Apply(frames);   // views into the frames' bytes
//   ... decap.stats().malformed_by[size_t(pktkit::DecapError::kTruncated)] ...
//
// Snap-length-limited captures: a frame whose captured bytes end inside the tunnel payload is
// decapsulated as far as it was captured; the inner view keeps the inner packet's original
// length in wire_len (as Zeek and tshark do) and is counted as `snapped`. Output views point
// into the input batch's bytes and stay valid until the next Apply() or until the input batch
// is released. Dropped frames are counted by cause.
#ifndef PKTKIT_IO_DECAP_TRANSFORM_H_
#define PKTKIT_IO_DECAP_TRANSFORM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pktkit/io/packet.h"
#include "pktkit/io/transform.h"
#include "pktkit/wire/decap.h"

namespace pktkit {

// Points `v` at the inner packet of a successful decapsulation: bytes, lengths, link type and
// tunnel metadata; other fields (timestamp, ifindex, ...) are left as they are. `missing_bytes`
// is how much of the outer packet the capture cut off (its wire_len - caplen): that tail
// belongs to the inner packet, so it is added to the inner wire_len.
inline void SetInnerView(const DecapResult& r, uint32_t missing_bytes, PacketView* v) {
  v->data = r.inner.data;
  v->caplen = static_cast<uint32_t>(r.inner.size);
  v->wire_len = v->caplen + missing_bytes;
  v->link_type = r.link_type;
  v->tunnel = r.meta;
}

struct DecapStats {
  uint64_t frames = 0;        // frames (or datagrams) seen
  uint64_t decapsulated = 0;  // inner packets handed on
  uint64_t snapped = 0;       // of those, cut short by the capture (wire_len kept)
  uint64_t malformed = 0;     // frames dropped; by cause in malformed_by[]
  uint64_t malformed_by[static_cast<size_t>(DecapError::kCount)] = {};
};

class DecapTransform : public PacketTransform {
 public:
  // What each input view holds.
  enum class Input : uint8_t {
    kFrame,       // a captured frame: outer Ethernet or raw IP, IP, UDP, then the tunnel
    kUdpPayload,  // a UDP payload (the tunnel header first), as a socket returns it
  };

  // `udp_port` (kFrame only): the outer UDP destination port to accept, 0 for any.
  DecapTransform(const DecapConfig& cfg, uint16_t udp_port, Input input = Input::kFrame)
      : cfg_(cfg), udp_port_(udp_port), input_(input) {}

  PacketBatch Apply(const PacketBatch& in) override {
    if (views_.size() < in.size) views_.resize(in.size);
    size_t n = 0;
    for (const PacketView& p : in) {
      ++stats_.frames;
      const uint32_t missing = p.wire_len > p.caplen ? p.wire_len - p.caplen : 0;
      const DecapResult r = input_ == Input::kFrame
                                ? DecapsulateFrame(p.bytes(), p.link_type, udp_port_, cfg_,
                                                   size_t{p.caplen} + missing)
                                : Decapsulate(p.bytes(), cfg_);
      if (r.error != DecapError::kOk) {
        ++stats_.malformed;
        ++stats_.malformed_by[static_cast<size_t>(r.error)];
        continue;
      }
      PacketView& v = views_[n++];
      v = p;
      SetInnerView(r, missing, &v);
      ++stats_.decapsulated;
      if (r.snapped) ++stats_.snapped;
    }
    return PacketBatch{views_.data(), n};
  }

  const DecapStats& stats() const { return stats_; }
  const DecapConfig& config() const { return cfg_; }

 private:
  DecapConfig cfg_;
  uint16_t udp_port_;
  Input input_;
  std::vector<PacketView> views_;
  DecapStats stats_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_DECAP_TRANSFORM_H_
