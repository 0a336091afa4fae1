// pktkit/io/udp_sender.h — a sendmmsg(2) batch sender to one or more IPv4/IPv6 destinations.
// Each message is a gather list (tunnel header + inner bytes, no copy) and a destination
// index. Send errors never stop the batch: the failing message is counted by errno class and
// skipped (ENOBUFS, ECONNREFUSED, EHOSTUNREACH, ...), and the counts come back.
//
//   auto s = pktkit::UdpSender::Open({*dest});
//   iovec iov[2] = {{hdr, hdr_len}, {inner, inner_len}};
//   pktkit::UdpSender::Message m{iov, 2, /*dest=*/0};
//   pktkit::UdpSender::Result r = (*s)->Send(&m, 1);   // r.sent, r.errors
//
// References: sendmmsg(2), udp(7), ip(7) (IP_RECVERR is not used: errors are per call).
#ifndef PKTKIT_IO_UDP_SENDER_H_
#define PKTKIT_IO_UDP_SENDER_H_

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/socket_address.h"

namespace pktkit {

class UdpSender {
 public:
  struct Message {
    const iovec* iov = nullptr;
    size_t iov_count = 0;
    size_t dest = 0;  // index into the destinations given to Open
  };
  struct Result {
    size_t sent = 0;
    size_t errors = 0;
  };
  struct Stats {
    uint64_t sent = 0;
    uint64_t no_buffers = 0;   // ENOBUFS / EAGAIN
    uint64_t refused = 0;      // ECONNREFUSED
    uint64_t unreachable = 0;  // EHOSTUNREACH / ENETUNREACH
    uint64_t too_big = 0;      // EMSGSIZE
    uint64_t bad_dest = 0;     // dest index out of range
    uint64_t other_errors = 0;
  };

  static constexpr size_t kMaxBatch = 1024;

  // `bind_port` != 0 binds the sockets to that source port (all addresses).
  static absl::StatusOr<std::unique_ptr<UdpSender>> Open(const std::vector<SocketAddress>& dests,
                                                         uint16_t bind_port = 0) {
    if (dests.empty()) return absl::InvalidArgumentError("UDP sender: no destination");
    std::unique_ptr<UdpSender> s(new UdpSender());
    s->dests_ = dests;
    for (const SocketAddress& d : dests) {
      int& fd = d.family() == AF_INET6 ? s->fd6_ : s->fd4_;
      if (fd >= 0) continue;
      fd = socket(d.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("socket() for ", d.ToString()));
      const int big = 4 << 20;
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
      if (bind_port != 0) {
        absl::StatusOr<SocketAddress> any =
            SocketAddress::Parse(d.family() == AF_INET6 ? "::" : "0.0.0.0", bind_port);
        if (!any.ok()) return any.status();
        if (bind(fd, any->addr(), any->length()) != 0) {
          return absl::ErrnoToStatus(errno, absl::StrCat("bind sender to ", any->ToString()));
        }
      }
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
        mmsghdr& h = msgs_[k++];
        h = mmsghdr();
        h.msg_hdr.msg_name = const_cast<sockaddr*>(d.addr());
        h.msg_hdr.msg_namelen = d.length();
        h.msg_hdr.msg_iov = const_cast<iovec*>(m[i].iov);
        h.msg_hdr.msg_iovlen = m[i].iov_count;
        if (k == kMaxBatch) {
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

  void Flush(int fd, size_t k, Result* r) {
    size_t off = 0;
    while (off < k) {
      const int rc = sendmmsg(fd, msgs_.data() + off, static_cast<unsigned>(k - off), 0);
      if (rc > 0) {
        off += static_cast<size_t>(rc);
        r->sent += static_cast<size_t>(rc);
        stats_.sent += static_cast<uint64_t>(rc);
        continue;
      }
      if (rc < 0 && errno == EINTR) continue;
      // The message at `off` failed: count it by cause and go on with the next.
      const int e = rc < 0 ? errno : EIO;
      if (e == ENOBUFS || e == EAGAIN) {
        ++stats_.no_buffers;
      } else if (e == ECONNREFUSED) {
        ++stats_.refused;
      } else if (e == EHOSTUNREACH || e == ENETUNREACH) {
        ++stats_.unreachable;
      } else if (e == EMSGSIZE) {
        ++stats_.too_big;
      } else {
        ++stats_.other_errors;
      }
      ++r->errors;
      ++off;
    }
  }

  std::vector<SocketAddress> dests_;
  std::vector<mmsghdr> msgs_;
  int fd4_ = -1;
  int fd6_ = -1;
  Stats stats_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_UDP_SENDER_H_
