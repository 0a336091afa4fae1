// pktkit/io/udp_sender.h — a sendmmsg(2) batch sender to one or more IPv4/IPv6 destinations,
// over UDP sockets or raw IPPROTO_UDP sockets. Each message is a gather list (headers + inner
// bytes, no copy) and a destination index. Send errors never stop the batch: the failing
// message is counted by errno class and skipped (ENOBUFS, ECONNREFUSED, EHOSTUNREACH, ...),
// after `retries` retries for ENOBUFS/EAGAIN.
//
//   auto s = pktkit::UdpSender::Open({*dest});
//   iovec iov[2] = {{hdr, hdr_len}, {inner, inner_len}};
//   pktkit::UdpSender::Message m{iov, 2, /*dest=*/0};
//   pktkit::UdpSender::Result r = (*s)->Send(&m, 1);   // r.sent, r.errors
//
// Raw mode (UdpSenderOptions::socket = kRaw, needs CAP_NET_RAW; kAuto falls back to UDP
// without it): the caller writes the 8-byte UDP header itself as the first bytes of each
// message, so every datagram can carry its own source port (a flow hash, RFC 7348 §5). Over
// IPv4 the UDP checksum is the caller's (0 is allowed); over IPv6 the kernel computes it
// (IPV6_CHECKSUM). A raw socket would also receive a copy of every incoming UDP datagram: a
// one-instruction BPF program drops them all in the kernel.
// References: sendmmsg(2), udp(7), raw(7), ip(7) IP_MTU_DISCOVER, ipv6(7) IPV6_CHECKSUM.
#ifndef PKTKIT_IO_UDP_SENDER_H_
#define PKTKIT_IO_UDP_SENDER_H_

#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/socket_address.h"

namespace pktkit {

struct UdpSenderOptions {
  enum class Socket : uint8_t {
    kUdp,   // SOCK_DGRAM: the kernel writes the UDP header (one source port per socket)
    kRaw,   // SOCK_RAW IPPROTO_UDP: each message starts with its own UDP header
    kAuto,  // kRaw when permitted (CAP_NET_RAW), else kUdp (fallback_reason() says why)
  };
  Socket socket = Socket::kUdp;
  uint16_t bind_port = 0;            // kUdp: != 0 binds the sockets to that source port
  int send_buffer_bytes = 4 << 20;   // SO_SNDBUF (the kernel may cap it)
  bool allow_fragmentation = false;  // IP_PMTUDISC_DONT: oversize datagrams fragment
  uint32_t retries = 0;              // retries of a message failing with ENOBUFS/EAGAIN
};

class UdpSender {
 public:
  struct Message {
    const iovec* iov = nullptr;
    size_t iov_count = 0;
    size_t dest = 0;           // index into the destinations given to Open
    uint32_t count_bytes = 0;  // the caller's own byte count, summed for sent messages
  };
  struct Result {
    size_t sent = 0;
    size_t errors = 0;
    uint64_t counted_bytes = 0;  // sum of count_bytes over the messages sent
  };
  struct Stats {
    uint64_t sent = 0;
    uint64_t no_buffers = 0;     // ENOBUFS / EAGAIN (after the retries)
    uint64_t refused = 0;        // ECONNREFUSED
    uint64_t unreachable = 0;    // EHOSTUNREACH / ENETUNREACH / EHOSTDOWN / ENETDOWN
    uint64_t too_big = 0;        // EMSGSIZE
    uint64_t not_permitted = 0;  // EPERM / EACCES (a firewall rule, a broadcast address)
    uint64_t bad_dest = 0;       // dest index out of range
    uint64_t other_errors = 0;
    uint64_t retries = 0;  // ENOBUFS/EAGAIN retries (not failures)
  };

  static constexpr size_t kMaxBatch = 1024;

  // `bind_port` != 0 binds the sockets to that source port (all addresses).
  static absl::StatusOr<std::unique_ptr<UdpSender>> Open(const std::vector<SocketAddress>& dests,
                                                         uint16_t bind_port = 0) {
    UdpSenderOptions o;
    o.bind_port = bind_port;
    return Open(dests, o);
  }

  // Opens one socket per address family among `dests`. Errors: InvalidArgument (no
  // destination), the errno of socket()/bind()/setsockopt() that failed.
  static absl::StatusOr<std::unique_ptr<UdpSender>> Open(const std::vector<SocketAddress>& dests,
                                                         const UdpSenderOptions& o) {
    if (dests.empty()) return absl::InvalidArgumentError("UDP sender: no destination");
    std::unique_ptr<UdpSender> s(new UdpSender());
    s->dests_ = dests;
    s->options_ = o;
    s->raw_ = o.socket != UdpSenderOptions::Socket::kUdp;
    for (const SocketAddress& d : dests) {
      int& fd = d.family() == AF_INET6 ? s->fd6_ : s->fd4_;
      if (fd >= 0) continue;
      if (s->raw_) {
        fd = socket(d.family(), SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd < 0 && o.socket == UdpSenderOptions::Socket::kAuto &&
            (errno == EPERM || errno == EACCES) && s->fd4_ < 0 && s->fd6_ < 0) {
          s->raw_ = false;
          s->fallback_reason_ =
              "no CAP_NET_RAW: UDP socket (one outer source port chosen by the kernel)";
        } else if (fd < 0) {
          return absl::ErrnoToStatus(errno, absl::StrCat("raw UDP socket for ", d.ToString()));
        }
      }
      if (!s->raw_) {
        fd = socket(d.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("socket() for ", d.ToString()));
      }
      if (absl::Status st = s->Configure(fd, d.family()); !st.ok()) return st;
    }
    if (s->raw_) {
      // Raw sockets: the port lives in the caller's UDP header; IPv6 insists on 0 here.
      for (SocketAddress& d : s->dests_) d.set_port(0);
    }
    s->msgs_.resize(kMaxBatch);
    return s;
  }

  ~UdpSender() {
    if (fd4_ >= 0) close(fd4_);
    if (fd6_ >= 0) close(fd6_);
  }
  UdpSender(const UdpSender&) = delete;
  UdpSender& operator=(const UdpSender&) = delete;

  // True when each message must start with its own UDP header (raw sockets).
  bool raw() const { return raw_; }
  // Why kAuto fell back to UDP sockets (empty when it did not).
  const std::string& fallback_reason() const { return fallback_reason_; }

  // Sends every message (split into sendmmsg calls per address family); never fails as a whole.
  Result Send(const Message* m, size_t n) {
    Result r;
    for (int fam : {AF_INET, AF_INET6}) {
      const int fd = fam == AF_INET6 ? fd6_ : fd4_;
      size_t k = 0;
      for (size_t i = 0; i < n; ++i) {
        if (m[i].dest >= dests_.size()) {
          if (fam == AF_INET) {
            ++stats_.bad_dest;
            ++r.errors;
          }
          continue;
        }
        const SocketAddress& d = dests_[m[i].dest];
        if (d.family() != fam) continue;
        mmsghdr& h = msgs_[k];
        h = mmsghdr();
        h.msg_hdr.msg_name = const_cast<sockaddr*>(d.addr());
        h.msg_hdr.msg_namelen = d.length();
        h.msg_hdr.msg_iov = const_cast<iovec*>(m[i].iov);
        h.msg_hdr.msg_iovlen = m[i].iov_count;
        counts_[k] = m[i].count_bytes;
        if (++k == kMaxBatch) {
          Flush(fd, k, &r);
          k = 0;
        }
      }
      Flush(fd, k, &r);
    }
    return r;
  }

  const Stats& stats() const { return stats_; }

 private:
  UdpSender() = default;

  absl::Status Configure(int fd, int family) {
    if (raw_) {
      sock_filter drop_all = BPF_STMT(BPF_RET | BPF_K, 0);
      sock_fprog prog = {1, &drop_all};
      setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);  // best effort
      if (family == AF_INET6) {
        int offset = 6;  // the UDP checksum field: the kernel fills it in (mandatory over IPv6)
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &offset, sizeof offset) != 0) {
          return absl::ErrnoToStatus(errno, "setsockopt(IPV6_CHECKSUM)");
        }
      }
    }
    if (options_.send_buffer_bytes > 0) {
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &options_.send_buffer_bytes,
                 sizeof options_.send_buffer_bytes);  // best effort: capped by wmem_max
    }
    if (options_.allow_fragmentation) {
      int v = family == AF_INET ? IP_PMTUDISC_DONT : IPV6_PMTUDISC_DONT;
      setsockopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
                 family == AF_INET ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER, &v, sizeof v);
    }
    if (!raw_ && options_.bind_port != 0) {
      absl::StatusOr<SocketAddress> any =
          SocketAddress::Parse(family == AF_INET6 ? "::" : "0.0.0.0", options_.bind_port);
      if (!any.ok()) return any.status();
      if (bind(fd, any->addr(), any->length()) != 0) {
        return absl::ErrnoToStatus(errno, absl::StrCat("bind sender to ", any->ToString()));
      }
    }
    return absl::OkStatus();
  }

  void Flush(int fd, size_t k, Result* r) {
    size_t off = 0;
    uint32_t tries = 0;
    while (off < k) {
      const int rc = sendmmsg(fd, msgs_.data() + off, static_cast<unsigned>(k - off), 0);
      if (rc > 0) {
        for (size_t i = off; i < off + static_cast<size_t>(rc); ++i) r->counted_bytes += counts_[i];
        off += static_cast<size_t>(rc);
        r->sent += static_cast<size_t>(rc);
        stats_.sent += static_cast<uint64_t>(rc);
        tries = 0;
        continue;
      }
      if (rc < 0 && errno == EINTR) continue;
      // The message at `off` failed: retry a full buffer a few times, else count it by cause
      // and go on with the next.
      const int e = rc < 0 ? errno : EIO;
      if ((e == ENOBUFS || e == EAGAIN) && tries < options_.retries) {
        ++tries;
        ++stats_.retries;
        usleep(100 * tries);
        continue;
      }
      if (e == ENOBUFS || e == EAGAIN) {
        ++stats_.no_buffers;
      } else if (e == ECONNREFUSED) {
        ++stats_.refused;
      } else if (e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN || e == ENETDOWN) {
        ++stats_.unreachable;
      } else if (e == EMSGSIZE) {
        ++stats_.too_big;
      } else if (e == EPERM || e == EACCES) {
        ++stats_.not_permitted;
      } else {
        ++stats_.other_errors;
      }
      ++r->errors;
      ++off;
      tries = 0;
    }
  }

  std::vector<SocketAddress> dests_;
  std::vector<mmsghdr> msgs_;
  uint32_t counts_[kMaxBatch] = {};
  UdpSenderOptions options_;
  bool raw_ = false;
  std::string fallback_reason_;
  int fd4_ = -1;
  int fd6_ = -1;
  Stats stats_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_UDP_SENDER_H_
