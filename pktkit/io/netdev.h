// pktkit/io/netdev.h — what a capture source needs to know about a network interface: its
// index, whether it is up, its MTU and its receive counters, in the caller's network namespace.
//
//   absl::StatusOr<pktkit::NetdevState> s = pktkit::QueryNetdev("eth0");
//   if (s.ok() && s->up) Open();
//
// All queries go through ioctl(SIOCGIF*) and getifaddrs(3) (netlink), never /sys, so they
// answer for the calling thread's network namespace (a test's unshare(CLONE_NEWNET) included).
// Reference: netdevice(7), getifaddrs(3).
#ifndef PKTKIT_IO_NETDEV_H_
#define PKTKIT_IO_NETDEV_H_

#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if.h>
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

namespace pktkit {

struct NetdevState {
  int ifindex = 0;
  bool up = false;       // IFF_UP (administratively up)
  bool running = false;  // IFF_RUNNING (carrier)
  uint32_t mtu = 0;
};

// Errors: InvalidArgument for a name longer than IFNAMSIZ-1; NotFound when no interface has
// that name in this namespace; the errno status of socket()/ioctl() otherwise.
inline absl::StatusOr<NetdevState> QueryNetdev(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrCat("bad interface name '", name, "'"));
  }
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket(AF_INET) for interface queries");
  ifreq ifr = {};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  NetdevState s;
  absl::Status status;
  if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
    status = errno == ENODEV ? absl::NotFoundError(absl::StrCat("no interface '", name, "'"))
                             : absl::ErrnoToStatus(errno, absl::StrCat("SIOCGIFINDEX ", name));
  } else {
    s.ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
      status = absl::ErrnoToStatus(errno, absl::StrCat("SIOCGIFFLAGS ", name));
    } else {
      s.up = (ifr.ifr_flags & IFF_UP) != 0;
      s.running = (ifr.ifr_flags & IFF_RUNNING) != 0;
      if (ioctl(fd, SIOCGIFMTU, &ifr) == 0) s.mtu = static_cast<uint32_t>(ifr.ifr_mtu);
    }
  }
  close(fd);
  if (!status.ok()) return status;
  return s;
}

// The interface's received-packet counter (rtnl_link_stats.rx_packets, 32-bit in this API:
// compare deltas modulo 2^32). NotFound when the interface does not exist.
inline absl::StatusOr<uint32_t> NetdevRxPackets(const std::string& name) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return absl::ErrnoToStatus(errno, "getifaddrs");
  absl::StatusOr<uint32_t> result = absl::NotFoundError(absl::StrCat("no interface '", name, "'"));
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_PACKET || a->ifa_data == nullptr) {
      continue;
    }
    if (name != a->ifa_name) continue;
    rtnl_link_stats st;
    std::memcpy(&st, a->ifa_data, sizeof st);  // getifaddrs(3): ifa_data is rtnl_link_stats
    result = st.rx_packets;
    break;
  }
  freeifaddrs(list);
  return result;
}

}  // namespace pktkit

#endif  // PKTKIT_IO_NETDEV_H_
