// pktkit/io/tx_ring.h — an AF_PACKET transmit ring (PACKET_TX_RING, TPACKET_V2) on one
// interface: whole frames are written into mapped slots and sent with one send(2) per batch,
// past the qdisc where the kernel allows it (PACKET_QDISC_BYPASS). The tunnel sender built on it
// is pktkit/io/tunnel_tx_sink.h.
//
//   auto ring = pktkit::TxRing::Open(ifindex, "eth0", /*mtu=*/1500, 4 << 20, /*bypass=*/true);
//   if (!ring.ok()) return ring.status();       // EPERM without CAP_NET_RAW
//   uint8_t* f = (*ring)->Acquire(/*wait_ms=*/1000);  // nullptr: the kernel holds every slot
//   size_t n = BuildFrame(f, (*ring)->max_frame());   // Ethernet header included
//   (*ring)->Commit(n);
//   (*ring)->Kick(/*wait=*/false);                     // send what is committed
//
// Slots go back to the kernel with a release store of TP_STATUS_SEND_REQUEST and come back as
// TP_STATUS_AVAILABLE (acquire load); with PACKET_LOSS set, a frame the kernel refuses (longer
// than MTU + 14, ...) comes back TP_STATUS_WRONG_FORMAT and is counted, never retried.
// References: Documentation/networking/packet_mmap.rst ("TX ring"), packet(7).
#ifndef PKTKIT_IO_TX_RING_H_
#define PKTKIT_IO_TX_RING_H_

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace pktkit {

class TxRing {
 public:
  static absl::StatusOr<std::unique_ptr<TxRing>> Open(int ifindex, const std::string& ifname,
                                                      uint32_t mtu, size_t ring_bytes,
                                                      bool qdisc_bypass) {
    std::unique_ptr<TxRing> r(new TxRing());
    r->fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // protocol 0: receives nothing
    if (r->fd_ < 0) return absl::ErrnoToStatus(errno, "socket(AF_PACKET)");
    const int v2 = TPACKET_V2, one = 1;
    if (setsockopt(r->fd_, SOL_PACKET, PACKET_VERSION, &v2, sizeof v2) != 0) {
      return absl::ErrnoToStatus(errno, "setsockopt(PACKET_VERSION, TPACKET_V2)");
    }
    // PACKET_LOSS: a malformed frame is marked TP_STATUS_WRONG_FORMAT and skipped instead of
    // stopping the ring.
    setsockopt(r->fd_, SOL_PACKET, PACKET_LOSS, &one, sizeof one);
    if (qdisc_bypass) {
      r->bypass_ = setsockopt(r->fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) == 0;
    }
    // A virtio-net header in front of each frame says how many bytes the kernel copies into
    // the skb (hdr_len); the rest it would attach as fragments of the ring's pages. A device
    // that hands the frame to a local receiver (veth) must then copy those fragments into a
    // newly allocated page per frame (skb_copy_ubufs) before the slot can be reused: for
    // frames up to kLinearMax one plain copy is cheaper. Best effort: without it, fragments.
    r->vnet_ = setsockopt(r->fd_, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) == 0;
    r->max_frame_ = size_t{mtu} + ETH_HLEN;
    r->data_off_ = TPACKET2_HDRLEN - sizeof(sockaddr_ll) + (r->vnet_ ? kVnetHdr : 0);
    size_t fs = 2048;
    while (fs < r->data_off_ + r->max_frame_) fs <<= 1;
    tpacket_req req = {};
    req.tp_frame_size = static_cast<unsigned>(fs);
    req.tp_block_size = static_cast<unsigned>(fs > 65536 ? fs : 65536);
    req.tp_block_nr = static_cast<unsigned>(ring_bytes / req.tp_block_size + 1);
    req.tp_frame_nr = req.tp_block_nr * (req.tp_block_size / req.tp_frame_size);
    if (setsockopt(r->fd_, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("setsockopt(PACKET_TX_RING) on ", ifname));
    }
    r->frame_size_ = fs;
    r->frames_ = req.tp_frame_nr;
    r->map_len_ = size_t{req.tp_block_size} * req.tp_block_nr;
    void* m = mmap(nullptr, r->map_len_, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd_, 0);
    if (m == MAP_FAILED) return absl::ErrnoToStatus(errno, absl::StrCat("mmap TX ring ", ifname));
    r->map_ = static_cast<uint8_t*>(m);
    sockaddr_ll sll = {};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = ifindex;
    if (bind(r->fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("bind AF_PACKET to ", ifname));
    }
    return r;
  }
  ~TxRing() {
    if (map_ != nullptr) munmap(map_, map_len_);
    if (fd_ >= 0) close(fd_);
  }
  TxRing(const TxRing&) = delete;
  TxRing& operator=(const TxRing&) = delete;

  size_t max_frame() const { return max_frame_; }
  bool qdisc_bypass() const { return bypass_; }

  // Room for a frame of up to max_frame() bytes in the next free slot; nullptr when none came
  // free within `wait_ms` (the kernel still owns the whole ring).
  uint8_t* Acquire(int wait_ms) {
    tpacket2_hdr* h = Header(head_);
    for (int waited = 0;; waited += 10) {
      const uint32_t s = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
      if (s == TP_STATUS_AVAILABLE) break;
      if (s & TP_STATUS_WRONG_FORMAT) {  // refused by the kernel; the slot is ours again
        ++wrong_format_;
        break;
      }
      if (waited >= wait_ms) return nullptr;
      Kick(false);
      pollfd p = {fd_, POLLOUT, 0};
      poll(&p, 1, 10);
    }
    return reinterpret_cast<uint8_t*>(h) + data_off_;
  }
  // Hands the frame from the last Acquire (of `len` bytes) to the kernel.
  void Commit(size_t len) {
    tpacket2_hdr* h = Header(head_);
    if (vnet_) {  // virtio_net_hdr: no offloads, hdr_len (little-endian) = bytes to copy
      uint8_t* v = reinterpret_cast<uint8_t*>(h) + data_off_ - kVnetHdr;
      std::memset(v, 0, kVnetHdr);
      const size_t copy = len <= kLinearMax ? len : 0;
      v[2] = static_cast<uint8_t>(copy & 0xff);
      v[3] = static_cast<uint8_t>(copy >> 8);
      len += kVnetHdr;
    }
    h->tp_len = static_cast<uint32_t>(len);
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    head_ = head_ + 1 == frames_ ? 0 : head_ + 1;
    ++pending_;
  }
  // Asks the kernel to send what is committed; `wait` blocks until it has been transmitted.
  void Kick(bool wait) {
    if (pending_ == 0 && !wait) return;
    pending_ = 0;
    while (send(fd_, nullptr, 0, wait ? 0 : MSG_DONTWAIT) < 0 && errno == EINTR) {
    }
  }
  uint64_t wrong_format() const { return wrong_format_; }

 private:
  TxRing() = default;
  static constexpr size_t kVnetHdr = 10;      // sizeof(struct virtio_net_hdr)
  static constexpr size_t kLinearMax = 2048;  // larger frames stay fragments of the ring

  // Kernel ring memory: the frame index is < frames_, so the header lies inside the mapping.
  tpacket2_hdr* Header(size_t i) const {
    return reinterpret_cast<tpacket2_hdr*>(map_ + i * frame_size_);
  }

  int fd_ = -1;
  uint8_t* map_ = nullptr;
  size_t map_len_ = 0;
  size_t frame_size_ = 0;
  size_t frames_ = 0;
  size_t head_ = 0;
  size_t pending_ = 0;
  size_t max_frame_ = 0;
  size_t data_off_ = 0;
  bool bypass_ = false;
  bool vnet_ = false;
  uint64_t wrong_format_ = 0;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_TX_RING_H_
