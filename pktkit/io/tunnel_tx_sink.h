// pktkit/io/tunnel_tx_sink.h — a VXLAN/GENEVE tunnel sender (a PacketSink) on the kernel's fastest
// transmit path: whole Ethernet frames written into an AF_PACKET PACKET_TX_RING (TPACKET_V2,
// pktkit/io/tx_ring.h) that bypasses the qdisc (PACKET_QDISC_BYPASS), outer headers from
// per-destination templates (pktkit/wire/encap.h) and the destination's Ethernet address from
// the kernel's neighbour table (pktkit/io/next_hop.h). Where the output interface does not allow it (loopback, a local
// or non-Ethernet destination, no neighbour entry, no CAP_NET_RAW) it falls back to sendmmsg(2)
// on a raw IPPROTO_UDP socket (same UDP header and tunnel bytes, the kernel writes the IP
// header), or a plain UDP socket without CAP_NET_RAW, and says why in fallback_reason().
//
//   pktkit::TunnelTxOptions o;
//   o.dests = {*pktkit::SocketAddress::Parse("192.0.2.10", 4789)};
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
// Frames larger than the interface MTU are dropped and counted (the ring does not fragment; the
// sendmmsg path lets the kernel fragment). One output interface for all destinations.
// References: Documentation/networking/packet_mmap.rst (TX ring), packet(7), sendmmsg(2).
#ifndef PKTKIT_IO_TUNNEL_TX_SINK_H_
#define PKTKIT_IO_TUNNEL_TX_SINK_H_

#include <linux/filter.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/flow/flow_hash.h"
#include "pktkit/io/next_hop.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/sink.h"
#include "pktkit/io/socket_address.h"
#include "pktkit/io/tx_ring.h"
#include "pktkit/wire/encap.h"

namespace pktkit {

// Which destination and outer source port a packet gets.
struct TunnelRoute {
  size_t dest = 0;
  uint16_t src_port = 0;
};

struct TunnelTxOptions {
  std::vector<SocketAddress> dests;  // all on one output interface
  EncapSpec encap;  // mode, VNI, GENEVE options (not copied: must outlive the sink)
  bool ipv4_udp_checksum = false;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t src_port_lo = 49152;  // RFC 7348 §5
  uint16_t src_port_hi = 65535;
  uint64_t hash_seed = 0;
  // Default route: pktkit::SymmetricFlowHash (addresses + protocol) of the inner packet picks
  // the destination and the source port, so both directions of a flow go alike.
  std::function<TunnelRoute(const PacketView&)> route;
  enum class Backend : uint8_t { kAuto, kTxRing, kSendmmsg };
  Backend backend = Backend::kAuto;  // kTxRing: Open fails instead of falling back
  size_t ring_bytes = 4 << 20;
  bool qdisc_bypass = true;
};

struct TunnelTxStats {
  uint64_t sent = 0;   // handed to the ring or accepted by sendmmsg
  uint64_t bytes = 0;  // inner bytes of those
  uint64_t unsupported_link_type = 0;
  uint64_t too_big_for_udp = 0;  // the outer lengths cannot hold it
  uint64_t too_big_for_mtu = 0;  // ring only: larger than the interface MTU
  uint64_t ring_stalled = 0;     // ring only: no free frame within 1 s
  uint64_t wrong_format = 0;     // ring only: the kernel refused the frame
  uint64_t send_errors = 0;      // sendmmsg only: per-message errors (ENOBUFS, ...)
  uint64_t bad_route = 0;        // route() returned a destination out of range
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
    std::string reason;
    int ifindex = 0;
    for (const SocketAddress& d : o.dests) {
      absl::StatusOr<NextHop> h = ResolveNextHop(d);
      if (!h.ok()) return h.status();
      if (reason.empty() && !h->ethernet) reason = h->why_not_ethernet;
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
    s->reason_ = reason;
    absl::Status st = s->BuildTemplates();
    if (st.ok() && s->ring_ == nullptr) st = s->OpenSockets();
    if (!st.ok()) return st;
    return s;
  }

  ~TunnelTxSink() override {
    for (int fd : raw_fd_) {
      if (fd >= 0) close(fd);
    }
  }

  bool using_tx_ring() const { return ring_ != nullptr; }
  bool qdisc_bypass() const { return ring_ != nullptr && ring_->qdisc_bypass(); }
  // Why the ring is not used ("" when it is).
  const std::string& fallback_reason() const { return reason_; }
  // "tx_ring", "sendmmsg_raw" (raw IPPROTO_UDP socket) or "sendmmsg_udp" (plain UDP socket).
  const char* backend() const {
    return ring_ != nullptr ? "tx_ring" : plain_udp_ ? "sendmmsg_udp" : "sendmmsg_raw";
  }
  const std::vector<NextHop>& next_hops() const { return hops_; }

  absl::Status Write(const PacketBatch& batch) override {
    for (const PacketView& v : batch) {
      const EncapTemplate* t = nullptr;
      TunnelRoute r;
      if (!Prepare(v, &t, &r)) continue;
      if (ring_ != nullptr) {
        SendRing(*t, r, v);
      } else {
        QueueSendmmsg(*t, r, v);
      }
    }
    if (ring_ != nullptr) {
      ring_->Kick(false);
    } else {
      FlushSendmmsg();
    }
    return absl::OkStatus();
  }

  absl::Status Flush() override {
    if (ring_ != nullptr) {
      ring_->Kick(true);
    } else {
      FlushSendmmsg();
    }
    return absl::OkStatus();
  }

  SinkStats stats() const override {
    SinkStats s;
    const TunnelTxStats d = detailed_stats();
    s.packets = d.sent;
    s.bytes = d.bytes;
    s.dropped = d.unsupported_link_type + d.too_big_for_udp + d.too_big_for_mtu + d.ring_stalled +
                d.wrong_format + d.send_errors + d.bad_route;
    return s;
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

  // Three templates per destination: GENEVE Protocol Type Ethernet, IPv4, IPv6 (VXLAN: one).
  absl::Status BuildTemplates() {
    templates_.resize(hops_.size() * 3);
    for (size_t i = 0; i < hops_.size(); ++i) {
      OuterSpec outer;
      std::memcpy(outer.src_mac, hops_[i].src_mac, 6);
      std::memcpy(outer.dst_mac, hops_[i].dst_mac, 6);
      outer.src = hops_[i].src;
      outer.dst = hops_[i].dst;
      outer.ttl = o_.ttl;
      outer.tos = o_.tos;
      outer.udp_checksum = o_.ipv4_udp_checksum;
      static constexpr uint16_t kProto[3] = {kEtherTypeTransparentEthernet, kEtherTypeIpv4,
                                             kEtherTypeIpv6};
      for (size_t k = 0; k < 3; ++k) {
        EncapSpec spec = o_.encap;
        spec.geneve_protocol = kProto[k];
        if (!templates_[i * 3 + k].Init(outer, spec)) {
          return absl::InvalidArgumentError("tunnel sender: invalid encapsulation spec");
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status OpenSockets() {
    for (int f = 0; f < 2; ++f) {
      raw_fd_[f] = socket(f == 0 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
      if (raw_fd_[f] < 0 && (errno == EPERM || errno == EACCES)) {
        reason_ += " (no CAP_NET_RAW: plain UDP sockets, the kernel picks the source port)";
        plain_udp_ = true;
        for (int g = 0; g < 2; ++g) {
          if (raw_fd_[g] >= 0) close(raw_fd_[g]);
          raw_fd_[g] = socket(g == 0 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        }
        if (raw_fd_[0] < 0) return absl::ErrnoToStatus(errno, "socket(SOCK_DGRAM)");
        return absl::OkStatus();
      }
      if (raw_fd_[f] < 0) continue;  // no IPv6 here: IPv6 sends count as send errors
      // A raw UDP socket also receives a copy of every UDP datagram: drop them in the kernel.
      sock_filter drop_all = BPF_STMT(BPF_RET | BPF_K, 0);
      sock_fprog prog = {1, &drop_all};
      setsockopt(raw_fd_[f], SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
      const int big = 4 << 20;
      setsockopt(raw_fd_[f], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    }
    if (raw_fd_[0] < 0 && raw_fd_[1] < 0) return absl::ErrnoToStatus(errno, "socket(SOCK_RAW)");
    return absl::OkStatus();
  }

  bool Prepare(const PacketView& v, const EncapTemplate** t, TunnelRoute* r) {
    size_t proto = 0;
    if (v.link_type != LinkType::kEthernet) {
      const uint8_t ver = v.caplen > 0 ? v.data[0] >> 4 : 0;
      if (o_.encap.mode != EncapMode::kGeneve || v.link_type != LinkType::kRaw ||
          (ver != 4 && ver != 6)) {
        ++st_.unsupported_link_type;
        return false;
      }
      proto = ver == 4 ? 1 : 2;
    }
    if (o_.route) {
      *r = o_.route(v);
    } else {
      const uint32_t h = SymmetricFlowHash(v.bytes(), v.link_type, o_.hash_seed).hash;
      r->dest = static_cast<size_t>((uint64_t{h} * hops_.size()) >> 32);
      const uint32_t span = uint32_t{o_.src_port_hi} - o_.src_port_lo + 1;
      r->src_port = static_cast<uint16_t>(o_.src_port_lo + h % span);
    }
    if (r->dest >= hops_.size()) {
      ++st_.bad_route;
      return false;
    }
    *t = &templates_[r->dest * 3 + (o_.encap.mode == EncapMode::kGeneve ? proto : 0)];
    if ((*t)->FrameSize(v.caplen) == 0) {
      ++st_.too_big_for_udp;
      return false;
    }
    return true;
  }

  void SendRing(const EncapTemplate& t, const TunnelRoute& r, const PacketView& v) {
    const size_t len = t.FrameSize(v.caplen);
    if (len > ring_->max_frame()) {
      ++st_.too_big_for_mtu;
      return;
    }
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
    const int f = hops_[r.dest].dst.family == 4 ? 0 : 1;
    Queue& q = q_[f];
    if (q.n == kBatch) FlushQueue(f);
    const size_t k = q.n++;
    t.WriteHeaders(r.src_port, ip_id_++, v.bytes(), q.hdr[k]);
    const size_t skip = t.udp_offset() + (plain_udp_ ? kUdpHeaderSize : 0);
    q.iov[k][0] = {q.hdr[k] + skip, t.header_size() - skip};
    q.iov[k][1] = {const_cast<uint8_t*>(v.data), v.caplen};
    q.sa[k] = o_.dests[r.dest];
    if (!plain_udp_) q.sa[k].set_port(0);  // raw sockets: the port is in our UDP header
    mmsghdr& m = q.msgs[k];
    m = mmsghdr();
    m.msg_hdr.msg_name = const_cast<sockaddr*>(q.sa[k].addr());
    m.msg_hdr.msg_namelen = q.sa[k].length();
    m.msg_hdr.msg_iov = q.iov[k];
    m.msg_hdr.msg_iovlen = 2;
    q.bytes[k] = v.caplen;
  }
  void FlushSendmmsg() {
    FlushQueue(0);
    FlushQueue(1);
  }
  void FlushQueue(int f) {
    Queue& q = q_[f];
    const int fd = raw_fd_[f];
    size_t off = 0;
    while (off < q.n) {
      const int rc = fd < 0 ? -1 : sendmmsg(fd, q.msgs + off, static_cast<unsigned>(q.n - off), 0);
      if (rc > 0) {
        for (size_t k = off; k < off + static_cast<size_t>(rc); ++k) st_.bytes += q.bytes[k];
        st_.sent += static_cast<uint64_t>(rc);
        off += static_cast<size_t>(rc);
        continue;
      }
      if (rc < 0 && errno == EINTR && fd >= 0) continue;
      ++st_.send_errors;  // this message failed: count it, go on with the next
      ++off;
    }
    q.n = 0;
  }

  struct Queue {
    size_t n = 0;
    mmsghdr msgs[kBatch];
    iovec iov[kBatch][2];
    SocketAddress sa[kBatch];
    uint8_t hdr[kBatch][kMaxOuterHeaderSize];
    uint64_t bytes[kBatch];
  };

  TunnelTxOptions o_;
  std::vector<NextHop> hops_;
  std::vector<EncapTemplate> templates_;
  std::unique_ptr<TxRing> ring_;
  std::string reason_;
  int raw_fd_[2] = {-1, -1};  // raw IPPROTO_UDP sockets, or plain UDP ones (plain_udp_)
  bool plain_udp_ = false;
  Queue q_[2];
  uint16_t ip_id_ = 0;
  TunnelTxStats st_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_TUNNEL_TX_SINK_H_
