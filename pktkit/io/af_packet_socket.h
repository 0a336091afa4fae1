// pktkit/io/af_packet_socket.h — AfPacketSocket: RAII owner of one AF_PACKET socket and its
// mmap'd TPACKET_V3 receive ring, set up from an AfPacketConfig. AfPacketSource
// (pktkit/io/af_packet.h) reads it; this header only builds and tears it down.
//
//   absl::StatusOr<pktkit::AfPacketSocket> s = pktkit::AfPacketSocket::Open(cfg);
//   if (!s.ok()) return s.status();
//   uint8_t* first_block = s->block(0);   // unmapped and closed with `s`
//
// Order of set-up: socket(AF_PACKET, SOCK_RAW, 0) receives nothing until bound; then
// PACKET_VERSION=TPACKET_V3, PACKET_RESERVE, SO_ATTACH_FILTER, PACKET_IGNORE_OUTGOING,
// SIOCSHWTSTAMP + PACKET_TIMESTAMP, PACKET_RX_RING, mmap; then bind(ETH_P_ALL, ifindex),
// PACKET_ADD_MEMBERSHIP(PROMISC) and PACKET_FANOUT (+ PACKET_FANOUT_DATA), which the kernel
// only allows on a bound socket.
// References: packet(7); Documentation/networking/packet_mmap.rst;
// Documentation/networking/timestamping.rst (SIOCSHWTSTAMP); pcap_compile(3PCAP).
#ifndef PKTKIT_IO_AF_PACKET_SOCKET_H_
#define PKTKIT_IO_AF_PACKET_SOCKET_H_

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/af_packet_config.h"
#include "pktkit/io/bpf.h"
#include "pktkit/io/netdev.h"

namespace pktkit {

// Compiles `expr` for kernel attachment on `interface`. Prefers a live libpcap handle on the
// interface: on Linux its code generator then reads the VLAN tag from the kernel's metadata
// (SKF_AD_VLAN_TAG*), which is right for an AF_PACKET socket where the tag was stripped. Falls
// back to a dead Ethernet handle (tag assumed in the bytes) when the live one cannot be made.
// `*vlan_aware` says which one was used. Errors: InvalidArgument naming the expression.
inline absl::StatusOr<std::vector<sock_filter>> CompileKernelFilter(const std::string& expr,
                                                                    const std::string& interface,
                                                                    uint32_t snaplen,
                                                                    bool* vlan_aware) {
  std::vector<sock_filter> out;
  *vlan_aware = false;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* live = pcap_create(interface.c_str(), errbuf);
  if (live != nullptr) {
    pcap_set_snaplen(live, static_cast<int>(snaplen));
    pcap_set_buffer_size(live, 1 << 16);
    if (pcap_activate(live) >= 0 && pcap_datalink(live) == DLT_EN10MB) {
      bpf_program prog = {};
      if (pcap_compile(live, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        absl::Status s = absl::InvalidArgumentError(
            absl::StrCat("bad filter expression '", expr, "': ", pcap_geterr(live)));
        pcap_close(live);
        return s;
      }
      for (u_int i = 0; i < prog.bf_len; ++i) {
        const bpf_insn& in = prog.bf_insns[i];
        out.push_back(sock_filter{in.code, in.jt, in.jf, in.k});
      }
      pcap_freecode(&prog);
      *vlan_aware = true;
    }
    pcap_close(live);
    if (*vlan_aware) return out;
  }
  absl::StatusOr<BpfFilter> f = BpfFilter::Compile(expr, LinkType::kEthernet, snaplen);
  if (!f.ok()) return f.status();
  for (u_int i = 0; i < f->program().bf_len; ++i) {
    const bpf_insn& in = f->program().bf_insns[i];
    out.push_back(sock_filter{in.code, in.jt, in.jf, in.k});
  }
  return out;
}

class AfPacketSocket {
 public:
  AfPacketSocket() = default;
  AfPacketSocket(AfPacketSocket&& o) noexcept { *this = std::move(o); }
  AfPacketSocket& operator=(AfPacketSocket&& o) noexcept {
    if (this != &o) {
      Close();
      std::swap(fd_, o.fd_);
      std::swap(map_, o.map_);
      std::swap(map_bytes_, o.map_bytes_);
      std::swap(block_bytes_, o.block_bytes_);
      std::swap(block_count_, o.block_count_);
      std::swap(vlan_aware_, o.vlan_aware_);
    }
    return *this;
  }
  AfPacketSocket(const AfPacketSocket&) = delete;
  AfPacketSocket& operator=(const AfPacketSocket&) = delete;
  ~AfPacketSocket() { Close(); }

  // See the file comment for the order. Errors name the interface and the failing call.
  static absl::StatusOr<AfPacketSocket> Open(const AfPacketConfig& cfg) {
    absl::StatusOr<NetdevState> dev = QueryNetdev(cfg.interface);
    if (!dev.ok()) return dev.status();
    const std::string& ifname = cfg.interface;
    AfPacketSocket s;
    s.fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (s.fd_ < 0) return Errno(absl::StrCat("socket(AF_PACKET) for ", ifname));
    int v = TPACKET_V3;
    if (setsockopt(s.fd_, SOL_PACKET, PACKET_VERSION, &v, sizeof v) != 0) {
      return Errno(absl::StrCat("setsockopt(PACKET_VERSION=TPACKET_V3) on ", ifname));
    }
    unsigned int reserve = cfg.reserve_bytes;
    if (setsockopt(s.fd_, SOL_PACKET, PACKET_RESERVE, &reserve, sizeof reserve) != 0) {
      return Errno(absl::StrCat("setsockopt(PACKET_RESERVE) on ", ifname));
    }
    std::vector<sock_filter> code;
    if (!cfg.bpf.empty()) {
      absl::StatusOr<std::vector<sock_filter>> c =
          CompileKernelFilter(cfg.bpf, ifname, cfg.snaplen, &s.vlan_aware_);
      if (!c.ok()) return c.status();
      code = std::move(*c);
    } else if (cfg.snaplen < 262144) {
      code.push_back(sock_filter{BPF_RET | BPF_K, 0, 0, cfg.snaplen});  // accept, snapped
    }
    if (!code.empty()) {
      sock_fprog prog = {static_cast<unsigned short>(code.size()), code.data()};
      if (setsockopt(s.fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
        return Errno(absl::StrCat("setsockopt(SO_ATTACH_FILTER '", cfg.bpf, "') on ", ifname));
      }
    }
    if (cfg.ignore_outgoing) {
      int one = 1;
      if (setsockopt(s.fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0) {
        return Errno(absl::StrCat("setsockopt(PACKET_IGNORE_OUTGOING) on ", ifname));
      }
    }
    if (cfg.hardware_timestamps) {
      absl::Status st = EnableHardwareTimestamps(s.fd_, ifname);
      if (!st.ok()) return st;
    }
    absl::Status ring = s.SetUpRing(cfg, dev->mtu);
    if (!ring.ok()) return ring;
    sockaddr_ll sll = {};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = dev->ifindex;
    if (bind(s.fd_, reinterpret_cast<const sockaddr*>(&sll), sizeof sll) != 0) {
      return Errno(absl::StrCat("bind(AF_PACKET) to ", ifname));
    }
    if (cfg.promiscuous) {
      packet_mreq mr = {};
      mr.mr_ifindex = dev->ifindex;
      mr.mr_type = PACKET_MR_PROMISC;
      if (setsockopt(s.fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0) {
        return Errno(absl::StrCat("setsockopt(PACKET_ADD_MEMBERSHIP promiscuous) on ", ifname));
      }
    }
    if (cfg.fanout.mode != FanoutMode::kNone) {
      absl::Status st = JoinFanout(s.fd_, cfg.fanout, ifname);
      if (!st.ok()) return st;
    }
    return s;
  }

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  size_t block_bytes() const { return block_bytes_; }
  size_t block_count() const { return block_count_; }
  uint8_t* block(size_t i) const { return map_ + i * block_bytes_; }
  bool vlan_aware_filter() const { return vlan_aware_; }

 private:
  static absl::Status Errno(const std::string& what) { return absl::ErrnoToStatus(errno, what); }

  absl::Status SetUpRing(const AfPacketConfig& cfg, uint32_t mtu) {
    const size_t page = PageBytes();
    size_t block = cfg.block_bytes != 0 ? cfg.block_bytes : DefaultBlockBytes(cfg.snaplen, mtu);
    if (block % page != 0 || block > (size_t{1} << 31)) {
      return absl::InvalidArgumentError(absl::StrCat(cfg.interface, ": block size ", block,
                                                     " is not a multiple of the page size ", page));
    }
    size_t count = cfg.buffer_bytes / block;
    if (count == 0) count = 1;
    constexpr unsigned kFrame = TPACKET_ALIGNMENT << 7;  // only checked by the kernel for V3
    tpacket_req3 req = {};
    req.tp_block_size = static_cast<unsigned>(block);
    req.tp_block_nr = static_cast<unsigned>(count);
    req.tp_frame_size = kFrame;
    req.tp_frame_nr = static_cast<unsigned>(block / kFrame * count);
    req.tp_retire_blk_tov = cfg.block_timeout_ms;
    if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) {
      return Errno(absl::StrCat("setsockopt(PACKET_RX_RING ", count, " x ", block, " bytes) on ",
                                cfg.interface));
    }
    void* m =
        mmap(nullptr, block * count, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, 0);
    if (m == MAP_FAILED) return Errno(absl::StrCat("mmap of the ring on ", cfg.interface));
    map_ = static_cast<uint8_t*>(m);
    map_bytes_ = block * count;
    block_bytes_ = block;
    block_count_ = count;
    return absl::OkStatus();
  }

  static absl::Status EnableHardwareTimestamps(int fd, const std::string& ifname) {
    hwtstamp_config hw = {};
    hw.tx_type = HWTSTAMP_TX_OFF;
    hw.rx_filter = HWTSTAMP_FILTER_ALL;
    ifreq ifr = {};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = reinterpret_cast<char*>(&hw);
    if (ioctl(fd, SIOCSHWTSTAMP, &ifr) != 0) {
      const int e = errno;
      if (e == EOPNOTSUPP || e == EINVAL || e == ERANGE) {
        return absl::FailedPreconditionError(absl::StrCat(
            ifname, ": the NIC cannot timestamp received packets in hardware (SIOCSHWTSTAMP: ",
            std::strerror(e), "); capture without hardware timestamps"));
      }
      return absl::ErrnoToStatus(e, absl::StrCat("ioctl(SIOCSHWTSTAMP) on ", ifname));
    }
    int req = SOF_TIMESTAMPING_RAW_HARDWARE;
    if (setsockopt(fd, SOL_PACKET, PACKET_TIMESTAMP, &req, sizeof req) != 0) {
      return Errno(absl::StrCat("setsockopt(PACKET_TIMESTAMP) on ", ifname));
    }
    return absl::OkStatus();
  }

  static absl::Status JoinFanout(int fd, const FanoutConfig& f, const std::string& ifname) {
    const std::string what =
        absl::StrCat("fanout ", FanoutModeName(f.mode), ":", f.group_id, " on ", ifname);
    const uint32_t arg = f.OptionValue();
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
      const int e = errno;
      if (e == EINVAL) {
        return absl::FailedPreconditionError(absl::StrCat(
            what, ": group id ", f.group_id,
            " is already used by a fanout group on another interface or with another mode or "
            "flags (EINVAL); choose another fanout id"));
      }
      if (e == ENOSPC) {
        return absl::ResourceExhaustedError(absl::StrCat(what, ": the group is full (ENOSPC)"));
      }
      return absl::ErrnoToStatus(e, absl::StrCat("setsockopt(PACKET_FANOUT) ", what));
    }
    if (f.mode == FanoutMode::kCbpf) {
      if (f.cbpf_program.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": cbpf mode needs a program"));
      }
      sock_fprog prog = {static_cast<unsigned short>(f.cbpf_program.size()),
                         const_cast<sock_filter*>(f.cbpf_program.data())};
      if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof prog) != 0) {
        return Errno(absl::StrCat("setsockopt(PACKET_FANOUT_DATA cbpf) ", what));
      }
    } else if (f.mode == FanoutMode::kEbpf) {
      if (f.ebpf_fd < 0) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": ebpf mode needs a program fd"));
      }
      if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &f.ebpf_fd, sizeof f.ebpf_fd) != 0) {
        return Errno(absl::StrCat("setsockopt(PACKET_FANOUT_DATA ebpf) ", what));
      }
    }
    return absl::OkStatus();
  }

  void Close() {
    if (map_ != nullptr) munmap(map_, map_bytes_);
    if (fd_ >= 0) close(fd_);
    map_ = nullptr;
    map_bytes_ = 0;
    fd_ = -1;
  }

  int fd_ = -1;
  uint8_t* map_ = nullptr;
  size_t map_bytes_ = 0;
  size_t block_bytes_ = 0;
  size_t block_count_ = 0;
  bool vlan_aware_ = false;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_AF_PACKET_SOCKET_H_
