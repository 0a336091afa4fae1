// pktkit/io/tpacket_ring.h — the TPACKET_V3 block walker: hand-off, bounds checks, VLAN
// reinsertion. Runs over kernel ring memory or over a synthetic block in a plain buffer.
//
// The kernel fills a block, sets block_status to TP_STATUS_USER and lets user space walk its
// packets; user space hands it back by storing TP_STATUS_KERNEL. BlockOwnedByUser() is the
// acquire load that makes the kernel's writes visible, ReturnBlockToKernel() the release store
// that orders our reads (and VLAN rewrites) before the kernel may reuse the memory. Every
// offset and length the kernel hands out (offset_to_first_pkt, blk_len, tp_next_offset,
// tp_mac, tp_snaplen) is checked against the block before a byte is touched; a corrupt packet
// ends the walk of its block and is counted, never read. Gaps in the block sequence number
// (seq_num) are counted. When the kernel stripped a VLAN tag (TP_STATUS_VLAN_VALID), the tag
// is put back in front of the EtherType with its real TPID (tp_vlan_tpid when
// TP_STATUS_VLAN_TPID_VALID, else 0x8100) and TCI, using the headroom between the
// tpacket3_hdr + sockaddr_ll and tp_mac, so the bytes match the wire.
//
//   pktkit::RingCounters counters;
//   pktkit::BlockWalker walker(&counters);
//   if (pktkit::BlockOwnedByUser(block) && walker.Begin(block, block_size)) {
//     pktkit::PacketView v;
//     while (walker.Next(&v)) Handle(v);    // views valid until the block goes back
//     pktkit::ReturnBlockToKernel(block);
//   }
//
// References: Documentation/networking/packet_mmap.rst; include/uapi/linux/if_packet.h;
// net/packet/af_packet.c (prb_fill_curr_block, tpacket_rcv); IEEE 802.1Q-2018 §9.6.
#ifndef PKTKIT_IO_TPACKET_RING_H_
#define PKTKIT_IO_TPACKET_RING_H_

#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pktkit/internal/check.h"
#include "pktkit/io/packet.h"
#include "pktkit/wire/link_type.h"
#include "pktkit/wire/vlan.h"

namespace pktkit {

// Why a block or a packet in it was rejected. Each value has a counter (RingCounters::errors).
enum class RingError : uint8_t {
  kOk = 0,
  kBlockTooShort,        // block smaller than its descriptor
  kBadBlockLength,       // blk_len smaller than the descriptor or larger than the block
  kBadFirstOffset,       // offset_to_first_pkt inside the descriptor or past blk_len
  kPacketHeaderOverrun,  // a tpacket3_hdr does not fit before blk_len
  kBadMacOffset,         // tp_mac points into the headers
  kCaplenOverrun,        // tp_mac + tp_snaplen passes blk_len
  kBadNextOffset,        // tp_next_offset overlaps the packet or passes blk_len
  kVlanNoHeadroom,       // stripped tag could not be reinserted: no room before tp_mac
  kVlanTruncated,        // stripped tag could not be reinserted: frame shorter than 2 MACs
  kCount,
};

inline const char* RingErrorName(RingError e) {
  switch (e) {
    case RingError::kOk:
      return "ok";
    case RingError::kBlockTooShort:
      return "block_too_short";
    case RingError::kBadBlockLength:
      return "bad_block_length";
    case RingError::kBadFirstOffset:
      return "bad_first_offset";
    case RingError::kPacketHeaderOverrun:
      return "packet_header_overrun";
    case RingError::kBadMacOffset:
      return "bad_mac_offset";
    case RingError::kCaplenOverrun:
      return "caplen_overrun";
    case RingError::kBadNextOffset:
      return "bad_next_offset";
    case RingError::kVlanNoHeadroom:
      return "vlan_no_headroom";
    case RingError::kVlanTruncated:
      return "vlan_truncated";
    case RingError::kCount:
      break;
  }
  return "unknown";
}

// User-space counts of what the walker saw. Plain integers: one walker per thread.
struct RingCounters {
  uint64_t blocks = 0;           // blocks walked
  uint64_t packets = 0;          // views handed out
  uint64_t bytes = 0;            // captured bytes handed out (after reinsertion)
  uint64_t snapped = 0;          // views whose caplen < wire_len
  uint64_t vlan_reinserted = 0;  // stripped tags put back into the bytes
  uint64_t seq_gaps = 0;         // blocks missing between consecutive seq_num values
  uint64_t seq_regressions = 0;  // seq_num not greater than the previous one
  uint64_t packets_skipped = 0;  // packets after a corrupt one in its block (not read)
  uint64_t errors[static_cast<size_t>(RingError::kCount)] = {};

  uint64_t error(RingError e) const { return errors[static_cast<size_t>(e)]; }
  void Count(RingError e) { ++errors[static_cast<size_t>(e)]; }
};

// Layout constants of the kernel ABI (include/uapi/linux/if_packet.h).
inline constexpr size_t kBlockDescSize = sizeof(tpacket_block_desc);
inline constexpr size_t kTpacket3HdrSize = sizeof(tpacket3_hdr);
// tpacket3_hdr, aligned, then the sockaddr_ll; the frame at tp_mac follows (TPACKET3_HDRLEN).
inline constexpr size_t kSockaddrLlOffset = TPACKET_ALIGN(sizeof(tpacket3_hdr));
inline constexpr size_t kTpacket3HdrLen = TPACKET3_HDRLEN;
inline constexpr size_t kBlockStatusOffset =
    offsetof(tpacket_block_desc, hdr) + offsetof(tpacket_hdr_v1, block_status);

// True when the kernel has passed the block to user space. Acquire: the kernel's writes to the
// block happen-before our reads. `block` must be 8-byte aligned (ring blocks are page-aligned).
inline bool BlockOwnedByUser(const uint8_t* block) {
  PKTKIT_DCHECK(reinterpret_cast<uintptr_t>(block) % alignof(uint64_t) == 0);
  // The one place pktkit casts ring memory: block_status is a naturally aligned __u32 that the
  // kernel and we access concurrently, so it must be read with an atomic acquire load.
  const uint32_t* status = reinterpret_cast<const uint32_t*>(block + kBlockStatusOffset);
  return (__atomic_load_n(status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

// Hands the block back. Release: all our reads and writes of it happen-before the kernel's.
inline void ReturnBlockToKernel(uint8_t* block) {
  PKTKIT_DCHECK(reinterpret_cast<uintptr_t>(block) % alignof(uint64_t) == 0);
  // Same aligned __u32 as in BlockOwnedByUser (see the comment there).
  uint32_t* status = reinterpret_cast<uint32_t*>(block + kBlockStatusOffset);
  __atomic_store_n(status, static_cast<uint32_t>(TP_STATUS_KERNEL), __ATOMIC_RELEASE);
}

namespace internal {
// Field reads by memcpy at the ABI offset: no alignment or aliasing assumptions.
template <typename T>
inline T LoadField(const uint8_t* p, size_t offset) {
  T v;
  std::memcpy(&v, p + offset, sizeof v);
  return v;
}
#define PKTKIT_BD_FIELD(f) (offsetof(tpacket_block_desc, hdr) + offsetof(tpacket_hdr_v1, f))
#define PKTKIT_TP3_FIELD(f) offsetof(tpacket3_hdr, f)
#define PKTKIT_TP3_HV1(f) (offsetof(tpacket3_hdr, hv1) + offsetof(tpacket_hdr_variant1, f))
}  // namespace internal

// Walks the packets of one block the caller owns. Views point into the block and stay valid
// until the block is returned. Not thread-safe; one walker per ring.
class BlockWalker {
 public:
  explicit BlockWalker(RingCounters* counters) : counters_(counters) {}

  // Starts walking `block` (`block_size` bytes, the ring's tp_block_size). Checks the block
  // descriptor and counts seq_num gaps. Returns false (and counts why) when the block header
  // is unusable; the caller still returns the block to the kernel.
  bool Begin(uint8_t* block, size_t block_size) {
    block_ = block;
    left_ = 0;
    ++counters_->blocks;
    if (block_size < kBlockDescSize) return Reject(RingError::kBlockTooShort, 0);
    const uint32_t num_pkts = internal::LoadField<uint32_t>(block, PKTKIT_BD_FIELD(num_pkts));
    const uint32_t first =
        internal::LoadField<uint32_t>(block, PKTKIT_BD_FIELD(offset_to_first_pkt));
    const uint32_t blk_len = internal::LoadField<uint32_t>(block, PKTKIT_BD_FIELD(blk_len));
    const uint64_t seq = internal::LoadField<uint64_t>(block, PKTKIT_BD_FIELD(seq_num));
    if (have_seq_) {
      if (seq > last_seq_) {
        counters_->seq_gaps += seq - last_seq_ - 1;
      } else {
        ++counters_->seq_regressions;
      }
    }
    have_seq_ = true;
    last_seq_ = seq;
    if (num_pkts == 0) return false;  // a timed-out empty block: nothing to walk
    if (blk_len < kBlockDescSize || blk_len > block_size) {
      return Reject(RingError::kBadBlockLength, num_pkts);
    }
    if (first < kBlockDescSize || first >= blk_len) {
      return Reject(RingError::kBadFirstOffset, num_pkts);
    }
    len_ = blk_len;
    offset_ = first;
    left_ = num_pkts;
    return true;
  }

  // Fills `out` with the next packet; false at the end of the block or at a corrupt packet
  // (counted; the rest of the block is skipped and counted in packets_skipped). Sets every
  // field but `tunnel`, which it leaves untouched (default in a fresh view). On false, `*out`
  // may have been partly written.
  bool Next(PacketView* out) {
    if (left_ == 0) return false;
    // All arithmetic in 64 bits on values < 2^32: cannot overflow.
    const uint64_t off = offset_;
    if (off + kTpacket3HdrSize > len_) return Reject(RingError::kPacketHeaderOverrun, left_);
    uint8_t* hdr = block_ + off;
    const uint32_t next = internal::LoadField<uint32_t>(hdr, PKTKIT_TP3_FIELD(tp_next_offset));
    const uint32_t sec = internal::LoadField<uint32_t>(hdr, PKTKIT_TP3_FIELD(tp_sec));
    const uint32_t nsec = internal::LoadField<uint32_t>(hdr, PKTKIT_TP3_FIELD(tp_nsec));
    const uint32_t snaplen = internal::LoadField<uint32_t>(hdr, PKTKIT_TP3_FIELD(tp_snaplen));
    const uint32_t len = internal::LoadField<uint32_t>(hdr, PKTKIT_TP3_FIELD(tp_len));
    const uint32_t status = internal::LoadField<uint32_t>(hdr, PKTKIT_TP3_FIELD(tp_status));
    const uint16_t mac = internal::LoadField<uint16_t>(hdr, PKTKIT_TP3_FIELD(tp_mac));
    // tp_mac must leave the tpacket3_hdr and the sockaddr_ll intact.
    if (mac < kTpacket3HdrLen || off + mac > len_) return Reject(RingError::kBadMacOffset, left_);
    if (off + mac + snaplen > len_) return Reject(RingError::kCaplenOverrun, left_);
    --left_;
    if (left_ > 0) {
      // The next header must start after this packet's bytes (so views never overlap, and a
      // VLAN rewrite of a later packet cannot touch an earlier view) and inside the block.
      if (next < uint64_t{mac} + snaplen || off + next >= len_) {
        // This packet is sound; only the walk stops here.
        Reject(RingError::kBadNextOffset, left_);
      } else {
        offset_ = static_cast<uint32_t>(off + next);
      }
    }

    // Written in place: a PacketView is large (tunnel metadata), so building one and copying it
    // would cost more than the walk. Fields the ring never sets (tunnel) are left as they are.
    PacketView& v = *out;
    v.data = hdr + mac;
    v.caplen = snaplen;
    v.wire_len = len < snaplen ? snaplen : len;
    v.timestamp_ns = int64_t{sec} * 1000000000 + nsec;
    v.ts_source = (status & TP_STATUS_TS_RAW_HARDWARE) != 0 ? TimestampSource::kHardware
                                                            : TimestampSource::kKernel;
    v.link_type = LinkType::kEthernet;
    v.checksum = ChecksumStatus::kUnknown;
    v.vlan_count = 0;
    if ((status & TP_STATUS_CSUM_VALID) != 0) {
      v.checksum = ChecksumStatus::kValid;
    } else if ((status & TP_STATUS_CSUMNOTREADY) != 0) {
      v.checksum = ChecksumStatus::kNotReady;
    }
    // sockaddr_ll.sll_ifindex (an int at offset 4 of the sockaddr_ll); inside tp_mac (checked).
    v.ifindex = static_cast<uint32_t>(
        internal::LoadField<int32_t>(hdr, kSockaddrLlOffset + offsetof(sockaddr_ll, sll_ifindex)));
    if ((status & TP_STATUS_VLAN_VALID) != 0) {
      VlanTag tag;
      tag.tci =
          static_cast<uint16_t>(internal::LoadField<uint32_t>(hdr, PKTKIT_TP3_HV1(tp_vlan_tci)));
      tag.tpid = (status & TP_STATUS_VLAN_TPID_VALID) != 0
                     ? internal::LoadField<uint16_t>(hdr, PKTKIT_TP3_HV1(tp_vlan_tpid))
                     : kTpid8021Q;
      // Headroom: from the end of the sockaddr_ll to tp_mac, all inside this packet's slot.
      const VlanInsertResult r = InsertVlanTag(hdr + mac, snaplen, mac - kTpacket3HdrLen, tag);
      if (r.error == VlanInsertError::kOk) {
        v.data = r.frame;
        v.caplen = static_cast<uint32_t>(r.length);
        // Saturating: a corrupt tp_len near 2^32 must not wrap below caplen.
        v.wire_len = v.wire_len > UINT32_MAX - 4 ? UINT32_MAX : v.wire_len + 4;
        ++counters_->vlan_reinserted;
      } else {
        // Keep the packet; report the tag beside the bytes instead.
        counters_->Count(r.error == VlanInsertError::kNoHeadroom ? RingError::kVlanNoHeadroom
                                                                 : RingError::kVlanTruncated);
        v.vlan_count = 1;
        v.vlan[0] = tag;
      }
    }
    ++counters_->packets;
    counters_->bytes += v.caplen;
    if (v.caplen < v.wire_len) ++counters_->snapped;
    return true;
  }

  // Packets of the current block not yet walked.
  uint32_t packets_left() const { return left_; }

 private:
  bool Reject(RingError e, uint32_t skipped) {
    counters_->Count(e);
    counters_->packets_skipped += skipped;
    left_ = 0;
    return false;
  }

  RingCounters* counters_;
  uint8_t* block_ = nullptr;
  uint64_t len_ = 0;
  uint32_t offset_ = 0;
  uint32_t left_ = 0;
  bool have_seq_ = false;
  uint64_t last_seq_ = 0;
};

#undef PKTKIT_BD_FIELD
#undef PKTKIT_TP3_FIELD
#undef PKTKIT_TP3_HV1

}  // namespace pktkit

#endif  // PKTKIT_IO_TPACKET_RING_H_
