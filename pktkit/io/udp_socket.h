// pktkit/io/udp_socket.h — RAII set-up of a receiving UDP socket (IPv4 or IPv6): non-blocking,
// SO_REUSEPORT (several receivers on one port; the kernel spreads datagrams by the outer
// 4-tuple), a large receive buffer (SO_RCVBUFFORCE when privileged, else SO_RCVBUF; the
// effective size is read back and a warning produced when net.core.rmem_max capped it),
// nanosecond receive timestamps (SO_TIMESTAMPNS) and the socket-queue drop counter (SO_RXQ_OVFL).
//
//   pktkit::UdpSocketOptions o;               // 16 MiB buffer, timestamps, overflow counter
//   o.reuse_port = true;
//   absl::StatusOr<pktkit::UdpSocket> s = pktkit::UdpSocket::Bind(*addr, o);
//   if (!s.ok()) return s.status();
//   if (!s->warning().empty()) std::cerr << s->warning() << "\n";
//
// References: socket(7) (SO_RCVBUF, SO_RCVBUFFORCE, SO_REUSEPORT, SO_TIMESTAMPNS, SO_RXQ_OVFL),
// udp(7), ipv6(7) (IPV6_V6ONLY).
#ifndef PKTKIT_IO_UDP_SOCKET_H_
#define PKTKIT_IO_UDP_SOCKET_H_

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/socket_address.h"

namespace pktkit {

struct UdpSocketOptions {
  size_t receive_buffer_bytes = 16u << 20;  // 0: leave the kernel default
  bool reuse_port = false;
  bool timestamps = true;        // SO_TIMESTAMPNS
  bool overflow_counter = true;  // SO_RXQ_OVFL
  bool non_blocking = true;
};

class UdpSocket {
 public:
  UdpSocket() = default;
  ~UdpSocket() { Close(); }
  UdpSocket(UdpSocket&& o) noexcept { *this = std::move(o); }
  UdpSocket& operator=(UdpSocket&& o) noexcept {
    if (this != &o) {
      Close();
      fd_ = std::exchange(o.fd_, -1);
      local_ = o.local_;
      rcvbuf_ = o.rcvbuf_;
      warning_ = std::move(o.warning_);
    }
    return *this;
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  static absl::StatusOr<UdpSocket> Bind(const SocketAddress& addr, const UdpSocketOptions& o) {
    const std::string where = addr.ToString();
    int type = SOCK_DGRAM | SOCK_CLOEXEC | (o.non_blocking ? SOCK_NONBLOCK : 0);
    UdpSocket s;
    s.fd_ = socket(addr.family(), type, 0);
    if (s.fd_ < 0) return absl::ErrnoToStatus(errno, absl::StrCat("socket() for ", where));
    const int one = 1;
    if (o.reuse_port && setsockopt(s.fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("SO_REUSEPORT on ", where));
    }
    if (o.timestamps && setsockopt(s.fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("SO_TIMESTAMPNS on ", where));
    }
    if (o.overflow_counter && setsockopt(s.fd_, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("SO_RXQ_OVFL on ", where));
    }
    if (o.receive_buffer_bytes > 0) {
      // The kernel doubles the value it is given (socket(7)); ask for half.
      const int want = static_cast<int>(o.receive_buffer_bytes / 2);
      if (setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0 &&
          setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUF, &want, sizeof want) != 0) {
        return absl::ErrnoToStatus(errno, absl::StrCat("SO_RCVBUF on ", where));
      }
    }
    int got = 0;
    socklen_t len = sizeof got;
    if (getsockopt(s.fd_, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0) s.rcvbuf_ = got;
    if (o.receive_buffer_bytes > 0 && static_cast<size_t>(s.rcvbuf_) < o.receive_buffer_bytes) {
      s.warning_ = absl::StrCat("receive buffer of ", where, " is ", s.rcvbuf_, " bytes, not ",
                                o.receive_buffer_bytes,
                                " (capped by net.core.rmem_max; run as root or raise it)");
    }
    if (bind(s.fd_, addr.addr(), addr.length()) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("bind ", where));
    }
    sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(s.fd_, reinterpret_cast<sockaddr*>(&ss), &sl) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("getsockname ", where));
    }
    s.local_ = SocketAddress::FromSockaddr(ss, sl);
    return s;
  }

  int fd() const { return fd_; }
  const SocketAddress& local_address() const { return local_; }
  uint16_t local_port() const { return local_.port(); }
  int receive_buffer_bytes() const { return rcvbuf_; }     // as the kernel reports it
  const std::string& warning() const { return warning_; }  // empty unless the buffer was capped

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  SocketAddress local_;
  int rcvbuf_ = 0;
  std::string warning_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_UDP_SOCKET_H_
