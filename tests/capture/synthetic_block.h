// tests/capture/synthetic_block.h — builds TPACKET_V3 blocks in memory the way the kernel
// lays them out (net/packet/af_packet.c: tpacket_rcv, prb_fill_curr_block), so the walker can
// be tested, fuzzed and benchmarked without a socket.
//
//   SyntheticBlock b(1 << 16);
//   b.Add(frame, /*status=*/0);
//   b.Finish(/*seq_num=*/1);            // block_status = TP_STATUS_USER
//   walker.Begin(b.data(), b.size());
#ifndef TESTS_CAPTURE_SYNTHETIC_BLOCK_H_
#define TESTS_CAPTURE_SYNTHETIC_BLOCK_H_

#include <linux/if_packet.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace pktkit::testing {

class SyntheticBlock {
 public:
  // `reserve` is PACKET_RESERVE (extra headroom before the frame).
  explicit SyntheticBlock(size_t block_size, uint32_t reserve = 0)
      : storage_((block_size + 7) / 8, 0), size_(block_size), reserve_(reserve) {
    next_ = TPACKET_ALIGN(sizeof(tpacket_block_desc));
  }

  uint8_t* data() { return reinterpret_cast<uint8_t*>(storage_.data()); }
  size_t size() const { return size_; }

  // Appends one packet; the kernel's offsets: netoff = ALIGN(TPACKET3_HDRLEN + 16) + reserve,
  // macoff = netoff - 14. Returns the packet header's offset, or 0 when the block is full.
  size_t Add(const std::vector<uint8_t>& frame, uint32_t status, uint32_t wire_len = 0,
             uint16_t vlan_tci = 0, uint16_t vlan_tpid = 0, uint32_t sec = 1, uint32_t nsec = 2) {
    const uint32_t netoff = TPACKET_ALIGN(TPACKET3_HDRLEN + 16) + reserve_;
    const uint32_t macoff = netoff - 14;
    const size_t total = TPACKET_ALIGN(macoff + frame.size());
    if (next_ + total > size_) return 0;
    const size_t off = next_;
    tpacket3_hdr h = {};
    h.tp_sec = sec;
    h.tp_nsec = nsec;
    h.tp_snaplen = static_cast<uint32_t>(frame.size());
    h.tp_len = wire_len != 0 ? wire_len : static_cast<uint32_t>(frame.size());
    h.tp_status = status;
    h.tp_mac = static_cast<uint16_t>(macoff);
    h.tp_net = static_cast<uint16_t>(netoff);
    h.hv1.tp_vlan_tci = vlan_tci;
    h.hv1.tp_vlan_tpid = vlan_tpid;
    if (last_ != 0) {
      uint32_t delta = static_cast<uint32_t>(off - last_);
      std::memcpy(data() + last_ + offsetof(tpacket3_hdr, tp_next_offset), &delta, 4);
    }
    std::memcpy(data() + off, &h, sizeof h);
    sockaddr_ll sll = {};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = 7;
    std::memcpy(data() + off + TPACKET_ALIGN(sizeof(tpacket3_hdr)), &sll, sizeof sll);
    if (!frame.empty()) std::memcpy(data() + off + macoff, frame.data(), frame.size());
    if (first_ == 0) first_ = off;
    last_ = off;
    next_ = off + total;
    ++num_;
    return off;
  }

  void Finish(uint64_t seq_num) {
    tpacket_block_desc d = {};
    d.version = TPACKET_V3;
    d.hdr.bh1.block_status = TP_STATUS_USER;
    d.hdr.bh1.num_pkts = num_;
    d.hdr.bh1.offset_to_first_pkt = static_cast<uint32_t>(first_ != 0 ? first_ : next_);
    d.hdr.bh1.blk_len = static_cast<uint32_t>(next_);
    d.hdr.bh1.seq_num = seq_num;
    std::memcpy(data(), &d, sizeof d);
  }

  // Overwrites a 32-bit or 16-bit field (for corruption tests).
  void Put32(size_t offset, uint32_t v) { std::memcpy(data() + offset, &v, 4); }
  void Put16(size_t offset, uint16_t v) { std::memcpy(data() + offset, &v, 2); }

 private:
  std::vector<uint64_t> storage_;  // 8-byte aligned, as ring blocks are
  size_t size_;
  uint32_t reserve_;
  size_t next_;
  size_t first_ = 0;
  size_t last_ = 0;
  uint32_t num_ = 0;
};

}  // namespace pktkit::testing

#endif  // TESTS_CAPTURE_SYNTHETIC_BLOCK_H_
