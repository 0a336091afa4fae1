// pktkit/wire/vlan.h — put a stripped 802.1Q/802.1ad tag back into a frame.
//
// NICs and the kernel strip the outer VLAN tag and report it beside the packet (AF_PACKET's
// tp_vlan_tci/tp_vlan_tpid). InsertVlanTag writes it back so the bytes match the wire: the
// two MAC addresses move 4 bytes towards the front, into caller-provided headroom, and the
// TPID and the whole TCI (PCP, DEI, VID) are written big-endian after them. A frame that
// already carries tags (QinQ) keeps them: the reinserted tag becomes the outermost.
//
//   // 4+ bytes of scratch space lie before `frame` (for example in a ring slot)
//   pktkit::VlanInsertResult r = pktkit::InsertVlanTag(frame, len, headroom, {0x8100, tci});
//   if (r.error != pktkit::VlanInsertError::kOk) ++counters.vlan_no_room;
//   else Deliver(r.frame, r.length);
//
// Nothing is written when the insertion is refused. References: IEEE 802.1Q-2018 §9.6;
// the approach is that of DPDK's rte_vlan_insert (check headroom, move MACs, write tag).
#ifndef PKTKIT_WIRE_VLAN_H_
#define PKTKIT_WIRE_VLAN_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/link_type.h"

namespace pktkit {

enum class VlanInsertError : uint8_t {
  kOk,
  kNoHeadroom,  // fewer than 4 writable bytes before the frame
  kTruncated,   // the frame is shorter than its two MAC addresses
  kCount,       // number of values (sizes counter arrays); never returned
};

inline const char* VlanInsertErrorName(VlanInsertError e) {
  switch (e) {
    case VlanInsertError::kOk:
      return "ok";
    case VlanInsertError::kNoHeadroom:
      return "vlan_no_headroom";
    case VlanInsertError::kTruncated:
      return "vlan_truncated";
    case VlanInsertError::kCount:
      break;
  }
  return "vlan_unknown";
}

struct VlanInsertResult {
  VlanInsertError error = VlanInsertError::kOk;
  uint8_t* frame = nullptr;  // start of the tagged frame (the old start - 4) on success
  size_t length = 0;         // old length + 4 on success
};

inline constexpr size_t kMacPairSize = 12;
inline constexpr size_t kVlanTagInsertSize = 4;

// `frame` points at `length` bytes; the `headroom` bytes just before it are writable. On
// success the tagged frame starts 4 bytes earlier and is 4 bytes longer. On failure nothing
// is written and the result points at the unchanged frame.
inline VlanInsertResult InsertVlanTag(uint8_t* frame, size_t length, size_t headroom, VlanTag tag) {
  VlanInsertResult result;
  result.frame = frame;
  result.length = length;
  if (length < kMacPairSize) {
    result.error = VlanInsertError::kTruncated;
    return result;
  }
  if (headroom < kVlanTagInsertSize) {
    result.error = VlanInsertError::kNoHeadroom;
    return result;
  }
  uint8_t* start = frame - kVlanTagInsertSize;
  std::memmove(start, frame, kMacPairSize);
  StoreBe16(start + kMacPairSize, tag.tpid);
  StoreBe16(start + kMacPairSize + 2, tag.tci);
  result.frame = start;
  result.length = length + kVlanTagInsertSize;
  return result;
}

}  // namespace pktkit

#endif  // PKTKIT_WIRE_VLAN_H_
