// pktkit/io/udp_receiver.h — the common part of the UDP tunnel receivers (recvmmsg in
// pktkit/io/recvmmsg_receiver.h, io_uring in pktkit/io/uring_receiver.h): options, counters by
// cause, and turning one received datagram (payload, kernel timestamp, overflow counter, peer)
// into a decapsulated PacketView. A receiver is a PacketSource whose views are the INNER
// packets, with link type, tunnel metadata (VNI, outer source) and a nanosecond timestamp.
//
//   std::unique_ptr<pktkit::UdpReceiver> r = ...;   // see pktkit/io/udp_tunnel_source.h
//   absl::StatusOr<pktkit::PacketBatch> b = r->NextBatch(100);
//   ... r->stats().malformed[size_t(pktkit::DecapError::kTruncated)] ...
//
// Datagrams larger than the slot (options.max_datagram) are counted as truncated and dropped;
// a datagram without a kernel timestamp gets a user-space one (TimestampSource::kUser).
// References: socket(7) SO_TIMESTAMPNS / SO_RXQ_OVFL, cmsg(3), pktkit/wire/decap.h.
#ifndef PKTKIT_IO_UDP_RECEIVER_H_
#define PKTKIT_IO_UDP_RECEIVER_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pktkit/io/clock.h"
#include "pktkit/io/decap_transform.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/socket_address.h"
#include "pktkit/io/source.h"
#include "pktkit/wire/decap.h"

namespace pktkit {

struct UdpReceiverOptions {
  size_t batch_size = 64;       // datagrams per NextBatch at most
  size_t max_datagram = 9216;   // bytes per receive slot; larger datagrams are truncated
  DecapConfig decap;            // how to decapsulate (EncapMode::kRaw keeps the payload)
  // io_uring: provided buffers (power of two). When the sender outpaces the reader, the
  // multishot receive fills every buffer, ends with ENOBUFS and must be re-armed: 256 meant one
  // re-arm per ~260 datagrams in pktkit-recv at 64 B; 1024 (as the Zeek plugin's default) a
  // quarter of that, for 1024 x (max_datagram + ~200) bytes per receiver.
  size_t uring_buffers = 1024;
  bool uring_multishot = true;  // io_uring: false forces the one-receive-per-slot path
};

struct UdpReceiverStats {
  uint64_t datagrams = 0;     // received from the socket (including bad ones)
  uint64_t bytes = 0;         // UDP payload bytes received
  uint64_t decapsulated = 0;  // handed out as views
  uint64_t truncated = 0;     // larger than the slot (MSG_TRUNC)
  uint64_t malformed = 0;     // decapsulation failed; by cause in malformed_by[]
  uint64_t malformed_by[static_cast<size_t>(DecapError::kCount)] = {};
  uint64_t socket_overflow = 0;  // dropped in the socket queue (SO_RXQ_OVFL, cumulative)
  uint64_t no_timestamp = 0;     // no kernel timestamp: user-space time used
  uint64_t no_buffers = 0;       // io_uring: ENOBUFS completions (provided buffers exhausted)
  uint64_t rearms = 0;           // io_uring: multishot receives re-armed
  uint64_t submit_retries = 0;   // io_uring: re-arm submits that failed transiently, retried
  uint64_t bad_completions = 0;  // io_uring: datagrams whose completion could not be read (lost)
};

class UdpReceiver : public PacketSource {
 public:
  // "recvmmsg", "io_uring-multishot" or "io_uring-recvmsg".
  virtual const char* backend() const = 0;
  // The address the socket is bound to, as the kernel says (the real port after binding
  // port 0).
  virtual const SocketAddress& local_address() const = 0;
  const UdpReceiverStats& stats() const { return stats_; }

 protected:
  explicit UdpReceiver(const UdpReceiverOptions& o) : options_(o) {}

  // The control buffer size a receive needs for the timestamp and the overflow counter.
  static constexpr size_t kControlBytes =
      CMSG_SPACE(sizeof(timespec)) + CMSG_SPACE(sizeof(uint32_t)) + 64;

  static int64_t NowNs() { return RealtimeNs(); }  // a datagram's time without a kernel one

  // Reads SCM_TIMESTAMPNS and SO_RXQ_OVFL from one control message.
  void ReadControl(const cmsghdr* c, int64_t* ts_ns) {
    if (c->cmsg_level != SOL_SOCKET) return;
    if (c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      *ts_ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    } else if (c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
      uint32_t drops = 0;
      std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
      if (drops > stats_.socket_overflow) stats_.socket_overflow = drops;
    }
  }

  // One datagram: counts it and, when it decapsulates, fills *v and returns true.
  // ts_ns < 0: no kernel timestamp (user_ns is used).
  bool Accept(const uint8_t* data, size_t len, bool truncated, int64_t ts_ns, int64_t user_ns,
              const sockaddr_storage* peer, PacketView* v) {
    ++stats_.datagrams;
    stats_.bytes += len;
    if (truncated) {
      ++stats_.truncated;
      return false;
    }
    DecapResult r = Decapsulate(ByteSpan(data, len), options_.decap);
    if (r.error != DecapError::kOk) {
      ++stats_.malformed;
      ++stats_.malformed_by[static_cast<size_t>(r.error)];
      return false;
    }
    *v = PacketView();
    SetInnerView(r, /*missing_bytes=*/0, v);  // the same conversion as DecapTransform's
    if (ts_ns >= 0) {
      v->timestamp_ns = ts_ns;
      v->ts_source = TimestampSource::kKernel;
    } else {
      ++stats_.no_timestamp;
      v->timestamp_ns = user_ns;
      v->ts_source = TimestampSource::kUser;
    }
    if (peer != nullptr) SetPeer(*peer, &v->tunnel.outer_src);
    ++stats_.decapsulated;
    return true;
  }

  static void SetPeer(const sockaddr_storage& ss, IpEndpoint* ep) {
    if (ss.ss_family == AF_INET) {
      sockaddr_in a;
      std::memcpy(&a, &ss, sizeof a);
      ep->family = 4;
      std::memcpy(ep->addr, &a.sin_addr, 4);
      ep->port = ntohs(a.sin_port);
    } else if (ss.ss_family == AF_INET6) {
      sockaddr_in6 a;
      std::memcpy(&a, &ss, sizeof a);
      ep->family = 6;
      std::memcpy(ep->addr, &a.sin6_addr, 16);
      ep->port = ntohs(a.sin6_port);
    }
  }

  UdpReceiverOptions options_;
  UdpReceiverStats stats_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_UDP_RECEIVER_H_
