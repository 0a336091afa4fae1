// pktkit/io/tunnel_tx_sink.h — a VXLAN/GENEVE tunnel sender (a PacketSink) on the kernel's fastest
// transmit path: whole Ethernet frames written into an AF_PACKET PACKET_TX_RING (TPACKET_V2,
// pktkit/io/tx_ring.h) that bypasses the qdisc (PACKET_QDISC_BYPASS), outer headers from
// per-destination templates (pktkit/io/tunnel_templates.h) and the destination's Ethernet address from
// the kernel's neighbour table (pktkit/io/next_hop.h). Where the output interface does not allow it
// (loopback, a local or non-Ethernet destination, no neighbour entry, no CAP_NET_RAW) it falls back
// to sendmmsg(2) through the core's UdpSender (pktkit/io/udp_sender.h): raw IPPROTO_UDP sockets
// carrying the same UDP header and tunnel bytes (the kernel writes the IP header), or plain UDP
// sockets without CAP_NET_RAW; fallback_reason() says why. Destinations and source ports are chosen
// exactly as pktkit::TunnelSink (pktkit/io/tunnel_sink.h) chooses them (FlowDestinationChooser
// over the same "host|port" names), so switching between the two sinks moves no flow.
//
//   pktkit::TunnelTxOptions o;
//   o.dests = {*pktkit::ParseTunnelDestination("192.0.2.10", 4789)};
//   o.encap.vni = pktkit::Vni::FromMasked(42);        // VXLAN; GENEVE: o.encap.mode = kGeneve
//   auto sink = pktkit::TunnelTxSink::Open(o);
//   if (!sink.ok()) return sink.status();
//   if (!(*sink)->using_tx_ring()) Log((*sink)->fallback_reason());  // why sendmmsg
//   (*sink)->Write(batch);  ...  (*sink)->Flush();
//
// Inner packets: Ethernet for VXLAN (others are counted as unsupported_link_type: put
// pktkit/io/normalize_transform.h in front); GENEVE also carries raw IP (Protocol Type
// 0x0800/0x86DD). The outer UDP checksum is 0 over IPv4 (RFC 7348 §5, RFC 8926 §3.3, the Linux
// vxlan default) unless ipv4_udp_checksum; over IPv6 it is always computed (RFC 8200 §8.1).
// Oversize packets follow TunnelSink's policy: outer IP packets over `mtu` are counted, then
// dropped (drop_oversize) or sent. The ring never fragments, so one past the interface MTU goes
// through the sendmmsg socket the sink keeps beside the ring, after the frames before it, and the
// kernel fragments it. One output interface for all destinations. Every refresh_ms the sink asks
// the kernel again for each destination's next hop: a new Ethernet address rebuilds the templates
// (next_hop_changes); a destination that can no longer be reached through the ring (its
// neighbour entry gone or unusable, another interface) moves every packet to the sendmmsg socket
// until a later refresh finds the ring usable again (ring_suspensions; fallback_reason() says
// why). A ring opened before ARP/ND has resolved a destination starts that way too (counted as a
// suspension): the socket's traffic makes the kernel resolve it, and the next refresh moves over. The VNI is encap.vni, or by the outer VLAN ID through vni_by_vlan as TunnelSink does
// (one set of templates per distinct VNI).
// References: Documentation/networking/packet_mmap.rst (TX ring), packet(7), sendmmsg(2).
#ifndef PKTKIT_IO_TUNNEL_TX_SINK_H_
#define PKTKIT_IO_TUNNEL_TX_SINK_H_

#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/flow/destination.h"
#include "pktkit/io/clock.h"
#include "pktkit/io/next_hop.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/sink.h"
#include "pktkit/io/tunnel_sink.h"
#include "pktkit/io/tunnel_templates.h"
#include "pktkit/io/tx_ring.h"
#include "pktkit/io/udp_sender.h"
#include "pktkit/wire/encap.h"

namespace pktkit {

// Which destination and outer source port a packet gets.
struct TunnelRoute {
  size_t dest = 0;
  uint16_t src_port = 0;
};

struct TunnelTxOptions {
  std::vector<TunnelDestination> dests;  // all on one output interface
  EncapSpec encap;  // mode, VNI, GENEVE options (not copied: must outlive the sink)
  // Outer VLAN ID (0: untagged) -> VNI, as TunnelSinkOptions::vni_by_vlan; others: encap.vni.
  std::vector<std::pair<uint16_t, Vni>> vni_by_vlan;
  bool ipv4_udp_checksum = false;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t src_port_lo = 49152;  // RFC 7348 §5
  uint16_t src_port_hi = 65535;
  uint64_t hash_seed = 0;
  // Default route: FlowDestinationChooser over the destinations' names (as TunnelSink), so
  // both directions of a flow go alike.
  std::function<TunnelRoute(const PacketView&)> route;
  enum class Backend : uint8_t { kAuto, kTxRing, kSendmmsg };
  Backend backend = Backend::kAuto;  // kTxRing: Open fails instead of falling back
  size_t ring_bytes = 4 << 20;
  bool qdisc_bypass = true;
  size_t mtu = 0;  // outer IP packet bytes for the oversize count and policy (0: interface MTU)
  bool drop_oversize = false;  // false: send (past the interface MTU: socket, kernel fragments)
  int64_t refresh_ms = 1000;   // next-hop re-check period while the ring is open (0: never)
  uint32_t retries = 0;        // socket: retries of a message failing with ENOBUFS/EAGAIN
};

struct TunnelTxStats {
  uint64_t sent = 0;   // handed to the ring or accepted by sendmmsg
  uint64_t bytes = 0;  // inner bytes of those
  uint64_t truncated = 0;  // an Ethernet frame shorter than its 14-byte header
  uint64_t unsupported_link_type = 0;
  uint64_t too_big_for_udp = 0;  // the outer lengths cannot hold it
  uint64_t oversize = 0;         // outer IP packet over the MTU (sent and fragmented, or dropped)
  uint64_t too_big_for_mtu = 0;  // of those, dropped (drop_oversize)
  uint64_t ring_stalled = 0;     // ring only: no free frame within 1 s
  uint64_t wrong_format = 0;     // ring only: the kernel refused the frame
  uint64_t send_errors = 0;      // sendmmsg only: per-message errors (UdpSender counts causes)
  uint64_t bad_route = 0;        // route() returned a destination out of range
  uint64_t next_hop_changes = 0;  // refreshes that rebuilt the templates (new MAC or source)
  uint64_t ring_suspensions = 0;  // refreshes that moved sending from the ring to sendmmsg
};

class TunnelTxSink : public PacketSink {
 public:
  static constexpr size_t kBatch = 256;

  // Errors: InvalidArgument (no destination, invalid encap spec, mixed interfaces with
  // Backend::kTxRing), the status of ResolveNextHop, FailedPrecondition with the reason when
  // Backend::kTxRing cannot be had, socket errors of the fallback.
  static absl::StatusOr<std::unique_ptr<TunnelTxSink>> Open(const TunnelTxOptions& o) {
    if (o.dests.empty()) return absl::InvalidArgumentError("tunnel sender: no destination");
    std::unique_ptr<TunnelTxSink> s(new TunnelTxSink(o));
    std::string reason;   // why there is no ring
    std::string pending;  // why the ring waits (a neighbour entry not resolved yet)
    int ifindex = 0;
    std::vector<uint64_t> keys;
    for (const TunnelDestination& d : o.dests) {
      keys.push_back(DestinationKey(d.name));
      absl::StatusOr<NextHop> h = ResolveNextHop(d.address);
      if (!h.ok()) return h.status();
      if (h->neighbour_pending) {
        if (pending.empty()) pending = h->why_not_ethernet;
      } else if (reason.empty() && !h->ethernet) {
        reason = h->why_not_ethernet;
      }
      if (reason.empty() && ifindex != 0 && h->ifindex != ifindex) {
        reason = "destinations leave through different interfaces";
      }
      ifindex = h->ifindex;
      s->hops_.push_back(*h);
    }
    if (o.backend == TunnelTxOptions::Backend::kSendmmsg) reason = "sendmmsg requested";
    if (reason.empty()) {
      absl::StatusOr<std::unique_ptr<TxRing>> ring =
          TxRing::Open(ifindex, s->hops_[0].ifname, s->hops_[0].mtu, o.ring_bytes, o.qdisc_bypass);
      if (ring.ok()) {
        s->ring_ = std::move(*ring);
      } else {
        reason = std::string(ring.status().message());
      }
    }
    if (s->ring_ == nullptr && o.backend == TunnelTxOptions::Backend::kTxRing) {
      return absl::FailedPreconditionError(absl::StrCat("no transmit ring: ", reason));
    }
    // A ring that waits for a neighbour entry starts on the socket; the refresh moves it over.
    s->use_ring_ = s->ring_ != nullptr && pending.empty();
    if (s->ring_ != nullptr && !pending.empty()) ++s->st_.ring_suspensions;
    if (s->ring_ != nullptr) reason = pending;
    s->ifindex_ = ifindex;
    s->chooser_ =
        FlowDestinationChooser(std::move(keys), o.hash_seed, o.src_port_lo, o.src_port_hi);
    absl::Status st = s->BuildTemplates();
    if (!st.ok()) return st;
    // The socket: the whole path without a ring; beside a ring, for what the ring cannot carry.
    std::vector<SocketAddress> addrs;
    for (const TunnelDestination& d : o.dests) addrs.push_back(d.address);
    UdpSenderOptions uo;
    uo.socket = UdpSenderOptions::Socket::kAuto;
    uo.allow_fragmentation = true;
    uo.retries = o.retries;
    absl::StatusOr<std::unique_ptr<UdpSender>> u = UdpSender::Open(addrs, uo);
    if (!u.ok()) return u.status();
    s->udp_ = std::move(*u);
    s->SetReason(reason);
    s->refreshed_ms_ = MonotonicMs();
    return s;
  }

  // Asks the kernel for every destination's next hop now (Write does it every refresh_ms while a
  // ring is open): rebuilds the templates when an Ethernet or source address changed, and sends
  // through the ring only while every destination is reachable through it. No-op without a ring.
  void RefreshNextHops() {
    refreshed_ms_ = MonotonicMs();
    if (ring_ == nullptr) return;
    std::vector<NextHop> hops;
    std::string why;
    for (const TunnelDestination& d : o_.dests) {
      absl::StatusOr<NextHop> h = ResolveNextHop(d.address);
      if (!h.ok()) {
        why = std::string(h.status().message());
      } else if (!h->ethernet) {
        why = h->why_not_ethernet;
      } else if (h->ifindex != ifindex_) {
        why = absl::StrCat(d.address.ToString(), " now leaves through ", h->ifname, ", not ",
                           hops_[0].ifname);
      }
      if (!why.empty()) break;
      hops.push_back(*h);
    }
    if (!why.empty()) {
      if (use_ring_) {
        ring_->Kick(true);
        ++st_.ring_suspensions;
        use_ring_ = false;
      }
      SetReason(why);
      return;
    }
    bool changed = false;
    for (size_t i = 0; i < hops.size(); ++i) {
      changed = changed || std::memcmp(hops[i].dst_mac, hops_[i].dst_mac, 6) != 0 ||
                std::memcmp(hops[i].src_mac, hops_[i].src_mac, 6) != 0 ||
                hops[i].src.family != hops_[i].src.family ||
                std::memcmp(hops[i].src.addr, hops_[i].src.addr, 16) != 0;
    }
    if (changed) {
      std::swap(hops_, hops);
      if (!BuildTemplates().ok()) {  // not expected: the same specs built at Open
        std::swap(hops_, hops);      // the old templates stay
        return;
      }
      ++st_.next_hop_changes;
    }
    if (!use_ring_) FlushSendmmsg();  // what the socket holds goes first
    use_ring_ = true;
    SetReason("");
  }

  // Whether packets go through the ring now (false: no ring, or suspended by a refresh).
  bool using_tx_ring() const { return use_ring_; }
  // Whether a ring is open (in use, or waiting for its destinations' neighbour entries).
  bool has_tx_ring() const { return ring_ != nullptr; }
  bool qdisc_bypass() const { return use_ring_ && ring_->qdisc_bypass(); }
  // Why the ring is not used ("" when it is).
  const std::string& fallback_reason() const { return reason_; }
  // "tx_ring", "sendmmsg_raw" (raw IPPROTO_UDP socket) or "sendmmsg_udp" (plain UDP socket).
  const char* backend() const {
    return use_ring_ ? "tx_ring" : udp_->raw() ? "sendmmsg_raw" : "sendmmsg_udp";
  }
  const std::vector<NextHop>& next_hops() const { return hops_; }

  absl::Status Write(const PacketBatch& batch) override {
    if (ring_ != nullptr && o_.refresh_ms > 0 && MonotonicMs() - refreshed_ms_ >= o_.refresh_ms) {
      RefreshNextHops();
    }
    for (const PacketView& v : batch) {
      const EncapTemplate* t = nullptr;
      TunnelRoute r;
      if (!Prepare(v, &t, &r)) continue;
      const size_t len = t->FrameSize(v.caplen);
      if (len - kEthernetHeaderSize > mtu_) {
        ++st_.oversize;
        if (o_.drop_oversize) {
          ++st_.too_big_for_mtu;
          continue;
        }
      }
      if (!use_ring_) {
        QueueSendmmsg(*t, r, v);
      } else if (len <= ring_->max_frame()) {
        SendRing(*t, r, v, len);
      } else {  // past the interface MTU: the kernel fragments it, after the frames before it
        ring_->Kick(false);
        QueueSendmmsg(*t, r, v);
        FlushSendmmsg();
      }
    }
    if (use_ring_) ring_->Kick(false);
    FlushSendmmsg();
    return absl::OkStatus();
  }

  absl::Status Flush() override {
    if (ring_ != nullptr) ring_->Kick(true);
    FlushSendmmsg();
    return absl::OkStatus();
  }

  SinkStats stats() const override {
    SinkStats s;
    const TunnelTxStats d = detailed_stats();
    s.packets = d.sent;
    s.bytes = d.bytes;
    s.dropped = d.truncated + d.unsupported_link_type + d.too_big_for_udp + d.too_big_for_mtu +
                d.ring_stalled + d.wrong_format + d.send_errors + d.bad_route;
    return s;
  }
  // The same counters in TunnelSink's shape, for programs that report either sink alike:
  // too_big_for_mtu counts as kOversize, ring_stalled as kSendNoBuffer, wrong_format and
  // bad_route as kSendOther, the socket's errors by their cause as TunnelSink counts them.
  TunnelSinkStats tunnel_stats() const {
    const TunnelTxStats d = detailed_stats();
    TunnelSinkStats t;
    t.packets = d.sent;
    t.bytes = d.bytes;
    auto set = [&t](TunnelDrop c, uint64_t n) {
      t.dropped_by[static_cast<size_t>(c)] += n;
      t.dropped += n;
    };
    set(TunnelDrop::kTruncated, d.truncated);
    set(TunnelDrop::kUnsupportedLinkType, d.unsupported_link_type);
    set(TunnelDrop::kTooBigForUdp, d.too_big_for_udp);
    set(TunnelDrop::kOversize, d.too_big_for_mtu);
    const UdpSender::Stats& u = udp_->stats();  // the socket's errors by cause
    set(TunnelDrop::kSendNoBuffer, d.ring_stalled + u.no_buffers);
    set(TunnelDrop::kSendRefused, u.refused);
    set(TunnelDrop::kSendUnreachable, u.unreachable);
    set(TunnelDrop::kSendTooBig, u.too_big);
    set(TunnelDrop::kSendNotPermitted, u.not_permitted);
    set(TunnelDrop::kSendOther, d.wrong_format + d.bad_route + u.other_errors + u.bad_dest);
    t.oversize = d.oversize;
    t.send_retries = u.retries;
    return t;
  }
  TunnelTxStats detailed_stats() const {
    TunnelTxStats d = st_;
    if (ring_ != nullptr) {
      d.wrong_format = ring_->wrong_format();
      d.sent -= d.wrong_format < d.sent ? d.wrong_format : d.sent;
    }
    return d;
  }

 private:
  explicit TunnelTxSink(const TunnelTxOptions& o) : o_(o) {}

  void SetReason(const std::string& why) {
    reason_ = why;
    if (!use_ring_ && !udp_->raw()) reason_ += absl::StrCat(" (", udp_->fallback_reason(), ")");
  }

  // The outer headers for the current next hops, and the oversize limit from their MTU.
  absl::Status BuildTemplates() {
    mtu_ = o_.mtu;
    for (const NextHop& h : hops_) {
      if (o_.mtu == 0 && h.mtu != 0 && (mtu_ == 0 || h.mtu < mtu_)) mtu_ = h.mtu;
    }
    if (mtu_ == 0) mtu_ = 1500;
    return templates_.Build(hops_, o_.encap, o_.vni_by_vlan,
                            {o_.ttl, o_.tos, o_.ipv4_udp_checksum});
  }

  bool Prepare(const PacketView& v, const EncapTemplate** t, TunnelRoute* r) {
    TunnelPayload payload = TunnelPayload::kEthernet;
    if (v.link_type == LinkType::kEthernet && v.caplen < kEthernetHeaderSize) {
      ++st_.truncated;
      return false;
    }
    if (v.link_type != LinkType::kEthernet) {
      const uint8_t ver = v.caplen > 0 ? v.data[0] >> 4 : 0;
      if (o_.encap.mode != EncapMode::kGeneve || v.link_type != LinkType::kRaw ||
          (ver != 4 && ver != 6)) {
        ++st_.unsupported_link_type;
        return false;
      }
      payload = ver == 4 ? TunnelPayload::kIpv4 : TunnelPayload::kIpv6;
    }
    if (o_.route) {
      *r = o_.route(v);
    } else {
      const FlowChoice c = chooser_.Choose(v.bytes(), v.link_type);
      r->dest = c.destination;
      r->src_port = c.source_port;
    }
    if (r->dest >= hops_.size()) {
      ++st_.bad_route;
      return false;
    }
    *t = &templates_.For(v, r->dest, payload);
    if ((*t)->FrameSize(v.caplen) == 0) {
      ++st_.too_big_for_udp;
      return false;
    }
    return true;
  }

  void SendRing(const EncapTemplate& t, const TunnelRoute& r, const PacketView& v, size_t len) {
    uint8_t* p = ring_->Acquire(1000);
    if (p == nullptr) {
      ++st_.ring_stalled;
      return;
    }
    t.WriteHeaders(r.src_port, ip_id_++, v.bytes(), p);
    std::memcpy(p + t.header_size(), v.data, v.caplen);
    ring_->Commit(len);
    ++st_.sent;
    st_.bytes += v.caplen;
  }

  // sendmmsg: the template's bytes from the UDP header on (raw socket) or from the tunnel
  // header on (plain UDP socket), gathered with the inner bytes.
  void QueueSendmmsg(const EncapTemplate& t, const TunnelRoute& r, const PacketView& v) {
    if (n_ == kBatch) FlushSendmmsg();
    const size_t k = n_++;
    t.WriteHeaders(r.src_port, ip_id_++, v.bytes(), hdr_[k]);
    const size_t skip = t.udp_offset() + (udp_->raw() ? 0 : kUdpHeaderSize);
    iov_[k][0] = {hdr_[k] + skip, t.header_size() - skip};
    iov_[k][1] = {const_cast<uint8_t*>(v.data), v.caplen};
    msgs_[k] = UdpSender::Message{iov_[k], 2, r.dest, v.caplen};
  }
  void FlushSendmmsg() {
    if (n_ == 0) return;
    const UdpSender::Result res = udp_->Send(msgs_, n_);
    st_.sent += res.sent;
    st_.bytes += res.counted_bytes;
    st_.send_errors += res.errors;
    n_ = 0;
  }

  TunnelTxOptions o_;
  std::vector<NextHop> hops_;
  TunnelTemplates templates_;
  std::unique_ptr<TxRing> ring_;
  bool use_ring_ = false;  // ring_ is open and not suspended by a refresh
  int ifindex_ = 0;        // the ring's interface
  size_t mtu_ = 1500;      // outer IP bytes over which a packet is oversize
  int64_t refreshed_ms_ = 0;
  std::string reason_;
  FlowDestinationChooser chooser_{{0}, 0, 49152, 65535};
  std::unique_ptr<UdpSender> udp_;  // without a ring: every packet; beside it: what it cannot carry
  size_t n_ = 0;
  UdpSender::Message msgs_[kBatch];
  iovec iov_[kBatch][2];
  uint8_t hdr_[kBatch][kMaxOuterHeaderSize];
  uint16_t ip_id_ = 0;
  TunnelTxStats st_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_TUNNEL_TX_SINK_H_
