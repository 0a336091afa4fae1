// pktkit/io/next_hop.h — where the kernel would send a datagram to an IP address: the output
// interface, the next hop (gateway or the address itself), its Ethernet address from the
// neighbour table, and the source address the kernel would choose. What a sender that builds
// whole Ethernet frames itself (pktkit/io/tx_ring.h) needs, asked of the kernel over rtnetlink.
//
//   absl::StatusOr<pktkit::NextHop> h = pktkit::ResolveNextHop(*dest);   // SocketAddress
//   if (!h.ok()) return h.status();
//   if (!h->ethernet) use_sendmmsg(h->why_not_ethernet);
//   // h->ifindex, h->src_mac, h->dst_mac, h->src (IpEndpoint), h->mtu
//
// Reads only; never adds neighbour entries or sends packets. In the calling thread's network
// namespace. References: rtnetlink(7) (RTM_GETROUTE, RTM_GETNEIGH with NDA_DST, Linux >= 4.20),
// netdevice(7) (SIOCGIFHWADDR, SIOCGIFMTU, SIOCGIFNAME).
#ifndef PKTKIT_IO_NEXT_HOP_H_
#define PKTKIT_IO_NEXT_HOP_H_

// glibc's <net/if.h> before any <linux/...> header (the UAPI copies defer to it, not the reverse).
#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/socket_address.h"
#include "pktkit/wire/tunnel_meta.h"

namespace pktkit {

struct NextHop {
  int ifindex = 0;
  std::string ifname;
  uint32_t mtu = 0;
  IpEndpoint src;  // the source address the kernel picks (port 0)
  IpEndpoint dst;  // the destination asked about (with its port)
  uint8_t src_mac[6] = {};
  uint8_t dst_mac[6] = {};
  // True when whole Ethernet frames can be sent to it on `ifname`: an Ethernet interface and
  // a usable neighbour entry. Otherwise `why_not_ethernet` says why, in one sentence.
  bool ethernet = false;
  std::string why_not_ethernet;
  // Not yet: an Ethernet interface whose neighbour entry for the next hop is missing or not
  // usable. Traffic through the kernel (a socket) makes it resolve the entry; ask again later.
  bool neighbour_pending = false;
};

namespace internal {

// One rtnetlink request, one reply message of `want_type` copied to `reply`. ENOENT and other
// kernel errors come back as their errno status.
inline absl::Status NetlinkRequest(void* req, size_t len, uint16_t want_type, uint8_t* reply,
                                   size_t reply_cap, size_t* reply_len, const char* what) {
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket(AF_NETLINK)");
  timeval tv = {2, 0};  // never hang on a kernel that does not answer
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  absl::Status st = absl::InternalError(absl::StrCat(what, ": no reply"));
  if (send(fd, req, len, 0) < 0) {
    st = absl::ErrnoToStatus(errno, what);
  } else {
    const ssize_t n = recv(fd, reply, reply_cap, 0);
    if (n < 0) {
      st = absl::ErrnoToStatus(errno, what);
    } else if (static_cast<size_t>(n) >= sizeof(nlmsghdr)) {
      nlmsghdr h;
      std::memcpy(&h, reply, sizeof h);
      if (h.nlmsg_len > static_cast<size_t>(n) || h.nlmsg_len < sizeof h) {
        st = absl::InternalError(absl::StrCat(what, ": bad netlink reply"));
      } else if (h.nlmsg_type == NLMSG_ERROR && h.nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
        nlmsgerr e;
        std::memcpy(&e, reply + NLMSG_HDRLEN, sizeof e);
        st = absl::ErrnoToStatus(-e.error, what);
      } else if (h.nlmsg_type == want_type) {
        *reply_len = h.nlmsg_len;
        st = absl::OkStatus();
      }
    }
  }
  close(fd);
  return st;
}

// Calls f(type, payload, payload_len) for each attribute after a fixed header of `fixed` bytes.
template <typename F>
void ForEachRtAttr(const uint8_t* msg, size_t msg_len, size_t fixed, F f) {
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(fixed);
  while (off + sizeof(rtattr) <= msg_len) {
    rtattr a;
    std::memcpy(&a, msg + off, sizeof a);
    if (a.rta_len < sizeof a || off + a.rta_len > msg_len) return;
    f(a.rta_type, msg + off + RTA_LENGTH(0), a.rta_len - RTA_LENGTH(0));
    off += RTA_ALIGN(a.rta_len);
  }
}

inline void AddRtAttr(uint8_t* buf, size_t* len, uint16_t type, const void* data, size_t n) {
  rtattr a;
  a.rta_type = type;
  a.rta_len = static_cast<unsigned short>(RTA_LENGTH(n));
  std::memcpy(buf + *len, &a, sizeof a);
  std::memcpy(buf + *len + RTA_LENGTH(0), data, n);
  *len += RTA_ALIGN(a.rta_len);
}

}  // namespace internal

// Errors: InvalidArgument for a non-IP address; the errno status of a failing netlink or ioctl
// call (ENETUNREACH for no route). A destination that is only reachable without Ethernet
// framing (local address, loopback, tunnel device, no neighbour entry yet) is NOT an error:
// `ethernet` is false and `why_not_ethernet` says why.
inline absl::StatusOr<NextHop> ResolveNextHop(const SocketAddress& dest) {
  NextHop h;
  const int fam = dest.family();
  if (fam != AF_INET && fam != AF_INET6) return absl::InvalidArgumentError("not an IP address");
  const size_t alen = fam == AF_INET ? 4 : 16;
  h.dst.family = h.src.family = fam == AF_INET ? 4 : 6;
  h.dst.port = dest.port();
  if (fam == AF_INET) {
    std::memcpy(h.dst.addr, &reinterpret_cast<const sockaddr_in*>(dest.addr())->sin_addr, 4);
  } else {
    std::memcpy(h.dst.addr, &reinterpret_cast<const sockaddr_in6*>(dest.addr())->sin6_addr, 16);
  }
  // The source address: what a connected UDP socket would use (no packet is sent).
  {
    const int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::ErrnoToStatus(errno, "socket() for source address selection");
    sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    const bool ok = connect(fd, dest.addr(), dest.length()) == 0 &&
                    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl) == 0;
    const int e = errno;
    close(fd);
    if (!ok) return absl::ErrnoToStatus(e, absl::StrCat("no route to ", dest.ToString()));
    if (fam == AF_INET) {
      std::memcpy(h.src.addr, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, 4);
    } else {
      std::memcpy(h.src.addr, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, 16);
    }
  }
  // The route: output interface, gateway, type.
  alignas(nlmsghdr) uint8_t req[256] = {};
  alignas(nlmsghdr) uint8_t reply[8192];
  size_t len = NLMSG_LENGTH(sizeof(rtmsg));
  rtmsg rm = {};
  rm.rtm_family = static_cast<unsigned char>(fam);
  rm.rtm_dst_len = static_cast<unsigned char>(alen * 8);
  std::memcpy(req + NLMSG_HDRLEN, &rm, sizeof rm);
  internal::AddRtAttr(req, &len, RTA_DST, h.dst.addr, alen);
  nlmsghdr nh = {};
  nh.nlmsg_len = static_cast<uint32_t>(len);
  nh.nlmsg_type = RTM_GETROUTE;
  nh.nlmsg_flags = NLM_F_REQUEST;
  std::memcpy(req, &nh, sizeof nh);
  size_t rlen = 0;
  absl::Status st = internal::NetlinkRequest(req, len, RTM_NEWROUTE, reply, sizeof reply, &rlen,
                                             "rtnetlink RTM_GETROUTE");
  if (!st.ok()) return st;
  rtmsg got;
  std::memcpy(&got, reply + NLMSG_HDRLEN, sizeof got);
  uint8_t gateway[16] = {};
  bool has_gateway = false;
  internal::ForEachRtAttr(reply, rlen, sizeof(rtmsg), [&](uint16_t t, const uint8_t* p, size_t n) {
    if (t == RTA_OIF && n >= 4) std::memcpy(&h.ifindex, p, 4);
    if (t == RTA_GATEWAY && n == alen) {
      std::memcpy(gateway, p, alen);
      has_gateway = true;
    }
  });
  char name[IF_NAMESIZE] = {};
  if (h.ifindex <= 0 || if_indextoname(static_cast<unsigned>(h.ifindex), name) == nullptr) {
    return absl::NotFoundError(absl::StrCat("no output interface for ", dest.ToString()));
  }
  h.ifname = name;
  if (got.rtm_type == RTN_LOCAL) {
    h.why_not_ethernet = absl::StrCat(dest.ToString(), " is a local address (delivered through ",
                                      h.ifname, ", no Ethernet frame is sent)");
    return h;
  }
  // The interface: Ethernet or not, its address and MTU.
  {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::ErrnoToStatus(errno, "socket() for interface queries");
    ifreq ifr = {};
    std::memcpy(ifr.ifr_name, name, IF_NAMESIZE);
    const bool hw_ok = ioctl(fd, SIOCGIFHWADDR, &ifr) == 0;
    const int e = errno;
    const sa_family_t hw_type = ifr.ifr_hwaddr.sa_family;
    std::memcpy(h.src_mac, ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(fd, SIOCGIFMTU, &ifr) == 0) h.mtu = static_cast<uint32_t>(ifr.ifr_mtu);
    close(fd);
    if (!hw_ok) return absl::ErrnoToStatus(e, absl::StrCat("SIOCGIFHWADDR ", h.ifname));
    if (hw_type != ARPHRD_ETHER) {
      h.why_not_ethernet =
          absl::StrCat("interface ", h.ifname, " is not Ethernet (ARPHRD ", hw_type,
                       hw_type == ARPHRD_LOOPBACK ? ", loopback" : "", ")");
      return h;
    }
  }
  // The neighbour entry of the next hop.
  std::memset(req, 0, sizeof req);
  len = NLMSG_LENGTH(sizeof(ndmsg));
  ndmsg nd = {};
  nd.ndm_family = static_cast<uint8_t>(fam);
  nd.ndm_ifindex = h.ifindex;
  std::memcpy(req + NLMSG_HDRLEN, &nd, sizeof nd);
  internal::AddRtAttr(req, &len, NDA_DST, has_gateway ? gateway : h.dst.addr, alen);
  nh.nlmsg_len = static_cast<uint32_t>(len);
  nh.nlmsg_type = RTM_GETNEIGH;
  nh.nlmsg_flags = NLM_F_REQUEST;
  std::memcpy(req, &nh, sizeof nh);
  char hop_text[INET6_ADDRSTRLEN] = {};
  inet_ntop(fam, has_gateway ? gateway : h.dst.addr, hop_text, sizeof hop_text);
  st = internal::NetlinkRequest(req, len, RTM_NEWNEIGH, reply, sizeof reply, &rlen,
                                "rtnetlink RTM_GETNEIGH");
  if (absl::IsNotFound(st)) {
    h.why_not_ethernet = absl::StrCat("no neighbour entry for ", hop_text, " on ", h.ifname,
                                      " yet (ARP/ND has not resolved it)");
    h.neighbour_pending = true;
    return h;
  }
  if (!st.ok()) return st;
  ndmsg gotn;
  std::memcpy(&gotn, reply + NLMSG_HDRLEN, sizeof gotn);
  bool has_mac = false;
  internal::ForEachRtAttr(reply, rlen, sizeof(ndmsg), [&](uint16_t t, const uint8_t* p, size_t n) {
    if (t == NDA_LLADDR && n == 6) {
      std::memcpy(h.dst_mac, p, 6);
      has_mac = true;
    }
  });
  constexpr uint16_t kUsable =
      NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE;
  if (!has_mac || (gotn.ndm_state & kUsable) == 0) {
    h.why_not_ethernet = absl::StrCat("neighbour entry for ", hop_text, " on ", h.ifname,
                                      " is not usable (state 0x", absl::Hex(gotn.ndm_state), ")");
    h.neighbour_pending = true;
    return h;
  }
  h.ethernet = true;
  return h;
}

}  // namespace pktkit

#endif  // PKTKIT_IO_NEXT_HOP_H_
