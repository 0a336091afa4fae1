// pktkit/io/recvmmsg_receiver.h — UDP tunnel receiver on recvmmsg(2): one system call fills up
// to options.batch_size slots; each datagram is decapsulated in place (no copy) into a view.
//
//   absl::StatusOr<pktkit::UdpSocket> s = pktkit::UdpSocket::Bind(addr, {});
//   auto r = pktkit::RecvmmsgReceiver::Create(std::move(*s), pktkit::UdpReceiverOptions());
//   absl::StatusOr<pktkit::PacketBatch> b = (*r)->NextBatch(/*timeout_ms=*/100);
//
// References: recvmmsg(2), poll(2), pktkit/io/udp_receiver.h.
#ifndef PKTKIT_IO_RECVMMSG_RECEIVER_H_
#define PKTKIT_IO_RECVMMSG_RECEIVER_H_

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/udp_receiver.h"
#include "pktkit/io/udp_socket.h"

namespace pktkit {

class RecvmmsgReceiver : public UdpReceiver {
 public:
  static absl::StatusOr<std::unique_ptr<RecvmmsgReceiver>> Create(UdpSocket socket,
                                                                  const UdpReceiverOptions& o) {
    if (o.batch_size == 0 || o.max_datagram == 0) {
      return absl::InvalidArgumentError("recvmmsg receiver: batch size and slot size must be > 0");
    }
    return std::unique_ptr<RecvmmsgReceiver>(new RecvmmsgReceiver(std::move(socket), o));
  }

  const char* backend() const override { return "recvmmsg"; }
  const SocketAddress& local_address() const override { return socket_.local_address(); }
  const UdpSocket& socket() const { return socket_; }

  absl::StatusOr<PacketBatch> NextBatch(int timeout_ms) override {
    const unsigned n = static_cast<unsigned>(options_.batch_size);
    for (unsigned i = 0; i < n; ++i) {
      msgs_[i].msg_hdr.msg_controllen = kControlBytes;
      msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      msgs_[i].msg_hdr.msg_flags = 0;
    }
    // A short previous batch means we drained the queue: wait first (poll, then one recvmmsg)
    // instead of paying for a recvmmsg that would only say EAGAIN. After a full batch more is
    // likely queued, so read at once.
    int rc = -1;
    errno = EAGAIN;
    if (!drained_ || timeout_ms == 0)
      rc = recvmmsg(socket_.fd(), msgs_.data(), n, MSG_DONTWAIT, nullptr);
    if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && timeout_ms != 0) {
      pollfd p{socket_.fd(), POLLIN, 0};
      const int pr = poll(&p, 1, timeout_ms);
      if (pr < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "poll on UDP socket");
      if (pr <= 0) return PacketBatch();
      rc = recvmmsg(socket_.fd(), msgs_.data(), n, MSG_DONTWAIT, nullptr);
    }
    drained_ = rc < static_cast<int>(n);
    if (rc < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return PacketBatch();
      return absl::ErrnoToStatus(errno,
                                 absl::StrCat("recvmmsg on ", socket_.local_address().ToString()));
    }
    const int64_t user_ns = NowNs();
    size_t out = 0;
    for (int i = 0; i < rc; ++i) {
      msghdr& h = msgs_[i].msg_hdr;
      int64_t ts = -1;
      for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
        ReadControl(c, &ts);
      }
      const uint8_t* data = buffers_.data() + static_cast<size_t>(i) * options_.max_datagram;
      const bool trunc = (h.msg_flags & MSG_TRUNC) != 0;
      if (Accept(data, msgs_[i].msg_len, trunc, ts, user_ns, &names_[i], &views_[out])) ++out;
    }
    return PacketBatch{views_.data(), out};
  }

  void ReleaseBatch() override {}  // slots are reused by the next NextBatch

 private:
  RecvmmsgReceiver(UdpSocket s, const UdpReceiverOptions& o)
      : UdpReceiver(o),
        socket_(std::move(s)),
        buffers_(o.batch_size * o.max_datagram),
        control_(o.batch_size * kControlBytes),
        names_(o.batch_size),
        iovs_(o.batch_size),
        msgs_(o.batch_size),
        views_(o.batch_size) {
    for (size_t i = 0; i < o.batch_size; ++i) {
      iovs_[i].iov_base = buffers_.data() + i * o.max_datagram;
      iovs_[i].iov_len = o.max_datagram;
      msghdr& h = msgs_[i].msg_hdr;
      h = msghdr();
      h.msg_name = &names_[i];
      h.msg_iov = &iovs_[i];
      h.msg_iovlen = 1;
      h.msg_control = control_.data() + i * kControlBytes;
    }
  }

  UdpSocket socket_;
  std::vector<uint8_t> buffers_;
  std::vector<uint8_t> control_;
  std::vector<sockaddr_storage> names_;
  std::vector<iovec> iovs_;
  std::vector<mmsghdr> msgs_;
  std::vector<PacketView> views_;
  bool drained_ = false;  // the last recvmmsg returned fewer than a full batch
};

}  // namespace pktkit

#endif  // PKTKIT_IO_RECVMMSG_RECEIVER_H_
