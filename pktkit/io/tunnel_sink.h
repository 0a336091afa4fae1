// pktkit/io/tunnel_sink.h — the UDP tunnel sender as a PacketSink: each packet is wrapped in a
// VXLAN or GENEVE header (pktkit/wire/encap.h) and sent to one of several destinations chosen by
// its symmetric flow hash (pktkit/flow/destination.h), with sendmmsg on UDP sockets or on raw
// sockets that put the flow hash in the outer UDP source port (pktkit/io/udp_sender.h). The
// same sink can instead hand whole encapsulated frames (outer Ethernet / IP / UDP headers with
// correct lengths and checksums) to another sink, e.g. a pcap file or a transmit ring.
//
//   std::vector<pktkit::TunnelDestination> dests = {*pktkit::ParseTunnelDestination("10.0.0.5",
//   4789)}; pktkit::TunnelSinkOptions o;                      // VXLAN, VNI 0, ports 49152-65535
//   pktkit::UdpSenderOptions so;
//   so.socket = pktkit::UdpSenderOptions::Socket::kAuto;   // raw if permitted
//   auto sink = pktkit::TunnelSink::OpenSender(dests, o, so);
//   pktkit::NormalizeTransform norm(pktkit::NormalizeTarget::kEthernet);  // VXLAN carries Ethernet
//   pktkit::PacketTransform* t[] = {&norm};
//   pktkit::RunPipeline(source, t, **sink, stop, {}, nullptr);
//
// Input: Ethernet (GENEVE Protocol Type 0x6558) or, for GENEVE, raw IPv4/IPv6 (0x0800/0x86DD);
// run pktkit/io/normalize_transform.h first for other link types. Anything else is counted as
// unsupported_link_type, an Ethernet frame shorter than 14 bytes as truncated. Per packet: the VNI
// (TunnelSinkOptions::vni, or by the outer VLAN ID), the destination and source port by flow hash,
// the tunnel size by TunnelHeaderSize. Datagrams larger than 65507 bytes are dropped
// (too_big_for_udp); IP packets over `mtu` are counted (oversize) and sent — the kernel fragments
// them — or dropped. Send failures are counted by errno class and never stop the run; every dropped
// packet has a cause in stats(). References: RFC 7348 §5, RFC 8926 §3.4, RFC 768, pktkit/io/sink.h.
#ifndef PKTKIT_IO_TUNNEL_SINK_H_
#define PKTKIT_IO_TUNNEL_SINK_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "pktkit/flow/destination.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/sink.h"
#include "pktkit/io/socket_address.h"
#include "pktkit/io/udp_sender.h"
#include "pktkit/wire/encap.h"
#include "pktkit/wire/link_layer.h"

namespace pktkit {

// One tunnel endpoint: its address (with the tunnel port) and the name its rendezvous key is
// made of ("host|port", the host as the user wrote it, so keys do not change with DNS).
struct TunnelDestination {
  SocketAddress address;
  std::string name;
};

// "host", "host:port", "[v6]:port" or a bare IPv6 address; names are resolved once.
inline absl::StatusOr<TunnelDestination> ParseTunnelDestination(absl::string_view text,
                                                                uint16_t default_port) {
  std::string host;
  absl::StatusOr<SocketAddress> a = SocketAddress::ResolveHostPort(text, default_port, &host);
  if (!a.ok()) return a.status();
  return TunnelDestination{*a, absl::StrCat(host, "|", a->port())};
}

// The outer VLAN ID a per-VLAN VNI map keys on: a tag the kernel stripped, else the first tag in
// the Ethernet bytes; 0 when untagged.
inline uint16_t TunnelOuterVid(const PacketView& p) {
  if (p.vlan_count > 0) return p.vlan[0].vid();
  if (p.link_type == LinkType::kEthernet && p.caplen >= 16 && IsVlanTpid(LoadBe16(p.data + 12))) {
    return LoadBe16(p.data + 14) & 0x0fff;
  }
  return 0;
}

struct TunnelSinkOptions {
  EncapMode mode = EncapMode::kVxlan;  // kVxlan or kGeneve
  Vni vni;
  std::vector<std::pair<uint16_t, Vni>> vni_by_vlan;  // outer VLAN ID (0: untagged) -> VNI
  std::vector<GeneveOptionSpec> geneve_options;       // data not copied: must outlive the sink
  uint64_t hash_seed = 0;
  uint16_t source_port_lo = 49152;  // RFC 7348 §5
  uint16_t source_port_hi = 65535;
  size_t mtu = 1500;           // outer IP packet bytes, for the oversize count and policy
  bool drop_oversize = false;  // false: send (the kernel fragments the outer packet)
};

// Frames mode: the outer addresses and MACs of frames handed to another sink.
struct TunnelFrameOptions {
  uint8_t source_ipv4[4] = {192, 0, 2, 1};  // RFC 5737 documentation address
  uint8_t source_ipv6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
};

enum class TunnelDrop : uint8_t {
  kTruncated,            // an Ethernet frame shorter than its 14-byte header
  kUnsupportedLinkType,  // not Ethernet (or, for GENEVE, raw IPv4/IPv6)
  kTooBigForUdp,         // the datagram would exceed 65507 bytes
  kOversize,             // over the MTU with drop_oversize
  kSendNoBuffer,         // ENOBUFS/EAGAIN after the retries
  kSendRefused,          // ECONNREFUSED
  kSendUnreachable,      // EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN
  kSendTooBig,           // EMSGSIZE
  kSendNotPermitted,     // EPERM, EACCES
  kSendOther,            // any other errno, or a frames sink that failed a batch
  kCount,
};

// Stable snake_case names, used as Prometheus label values.
inline const char* TunnelDropName(TunnelDrop d) {
  switch (d) {
    case TunnelDrop::kTruncated:
      return "truncated";
    case TunnelDrop::kUnsupportedLinkType:
      return "unsupported_link_type";
    case TunnelDrop::kTooBigForUdp:
      return "too_big_for_udp";
    case TunnelDrop::kOversize:
      return "oversize";
    case TunnelDrop::kSendNoBuffer:
      return "send_no_buffer";
    case TunnelDrop::kSendRefused:
      return "send_refused";
    case TunnelDrop::kSendUnreachable:
      return "send_unreachable";
    case TunnelDrop::kSendTooBig:
      return "send_too_big";
    case TunnelDrop::kSendNotPermitted:
      return "send_not_permitted";
    case TunnelDrop::kSendOther:
      return "send_other_error";
    case TunnelDrop::kCount:
      break;
  }
  return "unknown";
}

struct TunnelSinkStats {
  uint64_t packets = 0;  // datagrams sent (or frames handed on)
  uint64_t bytes = 0;    // inner bytes in them
  uint64_t dropped = 0;  // by cause in dropped_by[]
  uint64_t dropped_by[static_cast<size_t>(TunnelDrop::kCount)] = {};
  uint64_t oversize = 0;      // over the MTU (sent and fragmented, or dropped)
  uint64_t send_retries = 0;  // ENOBUFS/EAGAIN retries
};

class TunnelSink : public PacketSink {
 public:
  // Sends over sockets (UDP or raw, per `sender`). Errors: bad options, socket set-up.
  static absl::StatusOr<std::unique_ptr<TunnelSink>> OpenSender(
      const std::vector<TunnelDestination>& dests, const TunnelSinkOptions& options,
      const UdpSenderOptions& sender) {
    absl::StatusOr<std::unique_ptr<TunnelSink>> s = Create(dests, options);
    if (!s.ok()) return s;
    std::vector<SocketAddress> addrs;
    for (const TunnelDestination& d : dests) addrs.push_back(d.address);
    absl::StatusOr<std::unique_ptr<UdpSender>> u = UdpSender::Open(addrs, sender);
    if (!u.ok()) return u.status();
    (*s)->sender_ = std::move(*u);
    return s;
  }

  // Hands whole encapsulated Ethernet frames to `frames` (not owned; outlives this sink).
  static absl::StatusOr<std::unique_ptr<TunnelSink>> OpenFrames(
      const std::vector<TunnelDestination>& dests, const TunnelSinkOptions& options,
      const TunnelFrameOptions& frame_options, PacketSink* frames) {
    if (frames == nullptr) return absl::InvalidArgumentError("tunnel sink: no frame sink");
    absl::StatusOr<std::unique_ptr<TunnelSink>> s = Create(dests, options);
    if (!s.ok()) return s;
    (*s)->frames_ = frames;
    (*s)->frame_options_ = frame_options;
    return s;
  }

  absl::Status Write(const PacketBatch& batch) override {
    return frames_ != nullptr ? WriteFrames(batch) : SendBatch(batch);
  }

  absl::Status Flush() override {
    return frames_ != nullptr ? frames_->Flush() : absl::OkStatus();  // sends happen in Write
  }

  SinkStats stats() const override {
    const TunnelSinkStats t = tunnel_stats();
    return SinkStats{t.packets, t.bytes, t.dropped};
  }

  TunnelSinkStats tunnel_stats() const {
    TunnelSinkStats t = stats_;
    if (sender_ != nullptr) {
      const UdpSender::Stats& u = sender_->stats();
      Set(&t, TunnelDrop::kSendNoBuffer, u.no_buffers);
      Set(&t, TunnelDrop::kSendRefused, u.refused);
      Set(&t, TunnelDrop::kSendUnreachable, u.unreachable);
      Set(&t, TunnelDrop::kSendTooBig, u.too_big);
      Set(&t, TunnelDrop::kSendNotPermitted, u.not_permitted);
      Set(&t, TunnelDrop::kSendOther, u.other_errors + u.bad_dest);
      t.send_retries = u.retries;
    }
    return t;
  }

  // True when datagrams carry the flow hash as their source port (raw sockets or frames).
  bool per_flow_source_port() const { return sender_ == nullptr || sender_->raw(); }
  // The socket sender (null in frames mode), e.g. for fallback_reason().
  const UdpSender* sender() const { return sender_.get(); }

 private:
  static constexpr size_t kBatch = 256;
  static constexpr size_t kHeaderRoom = kUdpHeaderSize + kMaxTunnelHeaderSize;
  static constexpr size_t kMaxUdpLength = 65507;  // the largest datagram over IPv4

  struct Plan {
    size_t dest = 0;
    uint16_t source_port = 0;
    EncapSpec spec;
  };

  TunnelSink(std::vector<TunnelDestination> dests, const TunnelSinkOptions& o,
             std::vector<uint64_t> keys)
      : dests_(std::move(dests)),
        options_(o),
        chooser_(std::move(keys), o.hash_seed, o.source_port_lo, o.source_port_hi) {}

  static absl::StatusOr<std::unique_ptr<TunnelSink>> Create(
      const std::vector<TunnelDestination>& dests, const TunnelSinkOptions& o) {
    if (dests.empty()) return absl::InvalidArgumentError("tunnel sink: no destination");
    if (o.mode != EncapMode::kVxlan && o.mode != EncapMode::kGeneve) {
      return absl::InvalidArgumentError("tunnel sink: the encapsulation must be vxlan or geneve");
    }
    if (o.mode == EncapMode::kVxlan && !o.geneve_options.empty()) {
      return absl::InvalidArgumentError("tunnel sink: GENEVE options need GENEVE");
    }
    if (o.source_port_lo == 0 || o.source_port_lo > o.source_port_hi) {
      return absl::InvalidArgumentError("tunnel sink: bad source port range");
    }
    std::vector<uint64_t> keys;
    for (const TunnelDestination& d : dests) keys.push_back(DestinationKey(d.name));
    std::unique_ptr<TunnelSink> s(new TunnelSink(dests, o, std::move(keys)));
    EncapSpec probe;
    probe.mode = o.mode;
    probe.options = o.geneve_options.data();
    probe.option_count = o.geneve_options.size();
    s->tunnel_bytes_ = TunnelHeaderSize(probe);  // the same for every packet of this sink
    if (s->tunnel_bytes_ == 0) {
      return absl::InvalidArgumentError(
          "tunnel sink: GENEVE option data must be a multiple of 4 bytes, at most 124 each, "
          "252 in all");
    }
    if (!o.vni_by_vlan.empty()) {
      s->vni_by_vid_.assign(4096, -1);
      for (const auto& [vid, vni] : o.vni_by_vlan) {
        if (vid < 4096) s->vni_by_vid_[vid] = static_cast<int32_t>(vni.value());
      }
    }
    for (const TunnelDestination& d : dests) s->ports_.push_back(d.address.port());
    return s;
  }

  static void Set(TunnelSinkStats* t, TunnelDrop d, uint64_t n) {
    t->dropped_by[static_cast<size_t>(d)] += n;
    t->dropped += n;
  }
  void Drop(TunnelDrop d) { Set(&stats_, d, 1); }

  // Everything about one packet but its bytes; false (counted) when it cannot go.
  bool PlanPacket(const PacketView& p, Plan* plan) {
    uint16_t protocol = kEtherTypeTransparentEthernet;
    if (p.link_type == LinkType::kEthernet && p.caplen < kEthernetHeaderSize) {
      Drop(TunnelDrop::kTruncated);
      return false;
    }
    if (p.link_type != LinkType::kEthernet) {
      const uint16_t et = p.link_type == LinkType::kRaw ? internal::RawIpEthertype(p.bytes()) : 0;
      if (et == 0 || options_.mode != EncapMode::kGeneve) {
        Drop(TunnelDrop::kUnsupportedLinkType);
        return false;
      }
      protocol = et;
    }
    const FlowChoice c = chooser_.Choose(p.bytes(), p.link_type);
    plan->dest = c.destination;
    plan->source_port = c.source_port;
    Vni vni = options_.vni;
    if (!vni_by_vid_.empty()) {
      const int32_t v = vni_by_vid_[TunnelOuterVid(p)];
      if (v >= 0) vni = Vni::FromMasked(static_cast<uint32_t>(v));
    }
    EncapSpec& spec = plan->spec;
    spec = EncapSpec();
    spec.mode = options_.mode;
    spec.vni = vni;
    if (options_.mode == EncapMode::kGeneve) {
      spec.geneve_protocol = protocol;
      spec.options = options_.geneve_options.data();
      spec.option_count = options_.geneve_options.size();
    }
    const size_t udp_len = kUdpHeaderSize + tunnel_bytes_ + p.caplen;
    const bool v4 = dests_[plan->dest].address.family() == AF_INET;
    if (udp_len + (v4 ? 20 : 40) > options_.mtu) {
      ++stats_.oversize;
      if (options_.drop_oversize) {
        Drop(TunnelDrop::kOversize);
        return false;
      }
    }
    if (udp_len > kMaxUdpLength) {
      Drop(TunnelDrop::kTooBigForUdp);
      return false;
    }
    return true;
  }

  absl::Status SendBatch(const PacketBatch& batch) {
    const bool raw = sender_->raw();
    size_t k = 0;
    for (const PacketView& p : batch) {
      Plan plan;
      if (!PlanPacket(p, &plan)) continue;
      ByteWriter w(headers_[k], kHeaderRoom);
      if (raw) {  // our own UDP header: the flow hash as source port, checksum 0 (RFC 7348 §5)
        w.WriteU16(plan.source_port);
        w.WriteU16(ports_[plan.dest]);
        w.WriteU16(static_cast<uint16_t>(kUdpHeaderSize + tunnel_bytes_ + p.caplen));
        w.WriteU16(0);
      }
      WriteTunnelHeader(plan.spec, &w);
      iov_[k][0] = {headers_[k], w.size()};
      iov_[k][1] = {const_cast<uint8_t*>(p.data), p.caplen};
      msgs_[k] = UdpSender::Message{iov_[k], 2, plan.dest, p.caplen};
      if (++k == kBatch) {
        SendQueued(k);
        k = 0;
      }
    }
    SendQueued(k);
    return absl::OkStatus();
  }

  void SendQueued(size_t k) {
    if (k == 0) return;
    const UdpSender::Result r = sender_->Send(msgs_, k);
    stats_.packets += r.sent;
    stats_.bytes += r.counted_bytes;
  }

  absl::Status WriteFrames(const PacketBatch& batch) {
    // Size first, so the scratch never moves while views point into it.
    size_t need = 0;
    for (const PacketView& p : batch) {
      need += kEthernetHeaderSize + 40 + kUdpHeaderSize + tunnel_bytes_ + p.caplen;
    }
    if (scratch_.size() < need) scratch_.resize(need);
    if (views_.size() < batch.size) views_.resize(batch.size);
    size_t n = 0, used = 0;
    uint64_t inner_bytes = 0;
    for (const PacketView& p : batch) {
      Plan plan;
      if (!PlanPacket(p, &plan)) continue;
      const SocketAddress& dst = dests_[plan.dest].address;
      OuterSpec outer;
      std::memcpy(outer.src_mac, kSynthesizedSrcMac, 6);
      std::memcpy(outer.dst_mac, kSynthesizedDstMac, 6);
      const bool v4 = dst.family() == AF_INET;
      outer.src.family = outer.dst.family = v4 ? 4 : 6;
      std::memcpy(outer.src.addr, v4 ? frame_options_.source_ipv4 : frame_options_.source_ipv6,
                  v4 ? 4 : 16);
      dst.CopyIp(outer.dst.addr);
      outer.src.port = plan.source_port;
      outer.dst.port = ports_[plan.dest];
      outer.ip_id = ip_id_++;
      ByteWriter w(scratch_.data() + used, need - used);
      if (!WriteEncapsulatedFrame(outer, plan.spec, p.bytes(), &w)) {
        Drop(TunnelDrop::kTooBigForUdp);
        continue;
      }
      PacketView& v = views_[n++];
      v = PacketView();
      v.data = scratch_.data() + used;
      v.caplen = v.wire_len = static_cast<uint32_t>(w.size());
      v.timestamp_ns = p.timestamp_ns;
      v.ts_source = p.ts_source;
      v.link_type = LinkType::kEthernet;
      used += w.size();
      inner_bytes += p.caplen;
    }
    if (n == 0) return absl::OkStatus();
    absl::Status s = frames_->Write(PacketBatch{views_.data(), n});
    if (!s.ok()) {
      for (size_t i = 0; i < n; ++i) Drop(TunnelDrop::kSendOther);
      return s;
    }
    stats_.packets += n;
    stats_.bytes += inner_bytes;
    return absl::OkStatus();
  }

  std::vector<TunnelDestination> dests_;
  std::vector<uint16_t> ports_;
  TunnelSinkOptions options_;
  FlowDestinationChooser chooser_;
  size_t tunnel_bytes_ = 0;
  std::vector<int32_t> vni_by_vid_;  // empty: no per-VLAN VNIs; -1: not mapped
  TunnelSinkStats stats_;
  // Socket mode.
  std::unique_ptr<UdpSender> sender_;
  uint8_t headers_[kBatch][kHeaderRoom];
  iovec iov_[kBatch][2];
  UdpSender::Message msgs_[kBatch];
  // Frames mode.
  PacketSink* frames_ = nullptr;
  TunnelFrameOptions frame_options_;
  std::vector<uint8_t> scratch_;
  std::vector<PacketView> views_;
  uint16_t ip_id_ = 0;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_TUNNEL_SINK_H_
