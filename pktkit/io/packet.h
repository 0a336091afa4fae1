// pktkit/io/packet.h — the packet view and batch that every source and sink speaks.
//
// A PacketView is the bytes of one packet plus what is known about it: the original wire
// length, a nanosecond timestamp and which clock made it, the link type, up to two VLAN tags
// the kernel stripped (if they were not put back into the bytes), checksum status and, when
// the packet was decapsulated, the tunnel metadata. The bytes are never copied on the fast
// path: they point into a ring block, a receive buffer or a pcap buffer.
//
//   for (const pktkit::PacketView& p : batch) {
//     sink.Write(p);  // p.data valid until the source's ReleaseBatch()
//   }
//   source.ReleaseBatch();
//
// Lifetime: a batch and every view in it stay valid until the source that produced them is
// told the batch is consumed (PacketSource::ReleaseBatch in pktkit/io/source.h). Copy the
// bytes to keep them longer. This header has no dependencies beyond the wire layer.
#ifndef PKTKIT_IO_PACKET_H_
#define PKTKIT_IO_PACKET_H_

#include <cstddef>
#include <cstdint>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/link_type.h"
#include "pktkit/wire/tunnel_meta.h"

namespace pktkit {

// Which clock stamped a packet.
enum class TimestampSource : uint8_t {
  kNone = 0,   // no timestamp was available; timestamp_ns is 0
  kKernel,     // software timestamp taken by the kernel on receive
  kHardware,   // NIC hardware timestamp
  kFile,       // read from a capture file
  kUser,       // taken in user space on receive (fallback when the kernel gave none)
};

// What the kernel said about the packet's checksums (TP_STATUS_CSUM_*).
enum class ChecksumStatus : uint8_t {
  kUnknown = 0,
  kValid,     // verified by the NIC or kernel
  kNotReady,  // checksum offloaded on transmit, not yet computed (local traffic)
};

struct PacketView {
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;    // bytes at `data`
  uint32_t wire_len = 0;  // length on the wire (>= caplen; larger when snapped)
  int64_t timestamp_ns = 0;  // since the Unix epoch
  TimestampSource ts_source = TimestampSource::kNone;
  LinkType link_type = LinkType::kEthernet;
  ChecksumStatus checksum = ChecksumStatus::kUnknown;
  // Tags the kernel stripped and that are NOT in `data` (sources that reinsert them leave
  // this empty). Index 0 is the outermost.
  uint8_t vlan_count = 0;
  VlanTag vlan[2];
  uint32_t ifindex = 0;  // receiving interface, when known
  TunnelMeta tunnel;     // type kNone unless decapsulated

  ByteSpan bytes() const { return ByteSpan(data, caplen); }
};

// A batch of views owned by a source; see the lifetime note above.
struct PacketBatch {
  const PacketView* packets = nullptr;
  size_t size = 0;

  bool empty() const { return size == 0; }
  const PacketView* begin() const { return packets; }
  const PacketView* end() const { return packets + size; }
  const PacketView& operator[](size_t i) const { return packets[i]; }
};

}  // namespace pktkit

#endif  // PKTKIT_IO_PACKET_H_
