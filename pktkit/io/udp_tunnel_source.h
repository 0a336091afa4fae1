// pktkit/io/udp_tunnel_source.h — opens a UDP tunnel receiver of the requested kind, falling
// back from io_uring to recvmmsg (and saying so) where io_uring is unavailable.
//
//   std::string note;
//   auto r = pktkit::OpenUdpReceiver(addr, pktkit::UdpReceiverKind::kIoUring, sock_opts, opts,
//   &note); if (!note.empty()) std::cerr << note << "\n";   // e.g. "io_uring unavailable (...):
//   recvmmsg"
//
// References: pktkit/io/recvmmsg_receiver.h, pktkit/io/uring_receiver.h.
#ifndef PKTKIT_IO_UDP_TUNNEL_SOURCE_H_
#define PKTKIT_IO_UDP_TUNNEL_SOURCE_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/recvmmsg_receiver.h"
#include "pktkit/io/socket_address.h"
#include "pktkit/io/udp_receiver.h"
#include "pktkit/io/udp_socket.h"
#include "pktkit/io/uring_receiver.h"

namespace pktkit {

enum class UdpReceiverKind : uint8_t { kRecvmmsg, kIoUring };

inline absl::StatusOr<std::unique_ptr<UdpReceiver>> OpenUdpReceiver(
    const SocketAddress& addr, UdpReceiverKind kind, const UdpSocketOptions& sock_opts,
    const UdpReceiverOptions& opts, std::string* note) {
  absl::StatusOr<UdpSocket> s = UdpSocket::Bind(addr, sock_opts);
  if (!s.ok()) return s.status();
  if (note != nullptr) *note = s->warning();
  if (kind == UdpReceiverKind::kIoUring) {
    absl::StatusOr<std::unique_ptr<UringReceiver>> u = UringReceiver::Create(std::move(*s), opts);
    if (u.ok()) {
      if (note != nullptr && !(*u)->fallback_reason().empty()) {
        *note = absl::StrCat(note->empty() ? "" : *note + "; ", (*u)->fallback_reason(),
                             ": using one io_uring recvmsg per buffer");
      }
      return std::unique_ptr<UdpReceiver>(std::move(*u));
    }
    if (note != nullptr) {
      *note = absl::StrCat(note->empty() ? "" : *note + "; ", u.status().message(),
                           ": using recvmmsg instead");
    }
    s = UdpSocket::Bind(addr, sock_opts);  // the failed attempt closed the first socket
    if (!s.ok()) return s.status();
  }
  absl::StatusOr<std::unique_ptr<RecvmmsgReceiver>> r =
      RecvmmsgReceiver::Create(std::move(*s), opts);
  if (!r.ok()) return r.status();
  return std::unique_ptr<UdpReceiver>(std::move(*r));
}

}  // namespace pktkit

#endif  // PKTKIT_IO_UDP_TUNNEL_SOURCE_H_
