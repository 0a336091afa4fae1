// tests/capture/netns.h — a private network namespace with a veth pair for capture tests, and a
// raw sender. Needs root (CAP_NET_ADMIN, CAP_NET_RAW): unshare(CLONE_NEWNET) works inside the
// Bazel linux-sandbox as root; elsewhere tests skip with the reason.
//
//   std::string why;
//   if (!pktkit::testing::EnterNewNetns(&why)) GTEST_SKIP() << why;
//   ASSERT_TRUE(pktkit::testing::Sh("ip link add v0 type veth peer name v1"));
#ifndef TESTS_CAPTURE_NETNS_H_
#define TESTS_CAPTURE_NETNS_H_

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace pktkit::testing {

// Moves the calling thread into a new, empty network namespace with lo up.
inline bool EnterNewNetns(std::string* why) {
  if (geteuid() != 0) {
    *why = "needs root (unshare(CLONE_NEWNET), veth, AF_PACKET)";
    return false;
  }
  if (unshare(CLONE_NEWNET) != 0) {
    *why = std::string("unshare(CLONE_NEWNET) failed: ") + std::strerror(errno);
    return false;
  }
  return std::system("ip link set lo up") == 0;
}

inline bool Sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

// veth pair a<->b, both up, with `mtu`; no IPv6 link-local address (no DAD/RS/MLD noise).
inline bool MakeVeth(const std::string& a, const std::string& b, int mtu = 1500) {
  const std::string m = std::to_string(mtu);
  return Sh("ip link add " + a + " mtu " + m + " type veth peer name " + b + " mtu " + m) &&
         Sh("ip link set " + a + " addrgenmode none") &&
         Sh("ip link set " + b + " addrgenmode none") && Sh("ip link set " + a + " up") &&
         Sh("ip link set " + b + " up");
}

// Sends raw frames out of one interface.
class RawSender {
 public:
  explicit RawSender(const std::string& ifname) {
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    sll_.sll_family = AF_PACKET;
    sll_.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    sll_.sll_halen = 6;
  }
  ~RawSender() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0 && sll_.sll_ifindex > 0; }
  bool Send(const std::vector<uint8_t>& frame) {
    return sendto(fd_, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&sll_),
                  sizeof sll_) == static_cast<ssize_t>(frame.size());
  }

 private:
  int fd_ = -1;
  sockaddr_ll sll_ = {};
};

// Frame builders. Source MAC 02:00:00:00:00:<src>, destination 02:00:00:00:00:<dst>.
inline std::vector<uint8_t> EthHeader(uint8_t src, uint8_t dst) {
  return {0x02, 0, 0, 0, 0, dst, 0x02, 0, 0, 0, 0, src};
}
inline void PushU16(std::vector<uint8_t>* f, uint16_t v) {
  f->push_back(static_cast<uint8_t>(v >> 8));
  f->push_back(static_cast<uint8_t>(v));
}
// IPv4/UDP frame (checksums zero: capture does not care), optional VLAN tags, total payload.
inline std::vector<uint8_t> UdpFrame(uint8_t src_mac, uint32_t src_ip, uint32_t dst_ip,
                                     uint16_t sport, uint16_t dport, size_t payload,
                                     std::vector<std::pair<uint16_t, uint16_t>> tags = {}) {
  std::vector<uint8_t> f = EthHeader(src_mac, 0x99);
  for (auto [tpid, tci] : tags) {
    PushU16(&f, tpid);
    PushU16(&f, tci);
  }
  PushU16(&f, 0x0800);
  const uint16_t ip_len = static_cast<uint16_t>(20 + 8 + payload);
  const uint8_t ip[] = {0x45,
                        0,
                        static_cast<uint8_t>(ip_len >> 8),
                        static_cast<uint8_t>(ip_len),
                        0,
                        0,
                        0x40,
                        0,
                        64,
                        17,
                        0,
                        0};
  f.insert(f.end(), ip, ip + sizeof ip);
  for (uint32_t a : {src_ip, dst_ip}) {
    for (int s = 24; s >= 0; s -= 8) f.push_back(static_cast<uint8_t>(a >> s));
  }
  PushU16(&f, sport);
  PushU16(&f, dport);
  PushU16(&f, static_cast<uint16_t>(8 + payload));
  PushU16(&f, 0);
  for (size_t i = 0; i < payload; ++i) f.push_back(static_cast<uint8_t>(i * 7));
  return f;
}

}  // namespace pktkit::testing

#endif  // TESTS_CAPTURE_NETNS_H_
