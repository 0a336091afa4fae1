// pktkit/io/source.h — the interface every packet source implements.
//
// Sources (AF_PACKET ring, UDP tunnel socket, pcap file, NFLOG) hand out batches of
// PacketView; a batch stays valid until ReleaseBatch(). Set-up and I/O errors come back as
// absl::Status; end of input (a capture file's end) is absl::OutOfRangeError.
//
//   while (true) {
//     absl::StatusOr<pktkit::PacketBatch> batch = source.NextBatch(/*timeout_ms=*/100);
//     if (absl::IsOutOfRange(batch.status())) break;   // end of file
//     if (!batch.ok()) return batch.status();
//     for (const pktkit::PacketView& p : *batch) Handle(p);
//     source.ReleaseBatch();
//   }
#ifndef PKTKIT_IO_SOURCE_H_
#define PKTKIT_IO_SOURCE_H_

#include "absl/status/statusor.h"
#include "pktkit/io/packet.h"

namespace pktkit {

class PacketSource {
 public:
  virtual ~PacketSource() = default;

  // Waits up to `timeout_ms` (0: do not wait, <0: forever) for the next batch. Returns an
  // empty batch on timeout, OutOfRange at the end of finite input, another error on failure.
  // Calling NextBatch again without ReleaseBatch releases the previous batch first.
  virtual absl::StatusOr<PacketBatch> NextBatch(int timeout_ms) = 0;

  // Hands the current batch back; its views become invalid.
  virtual void ReleaseBatch() = 0;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_SOURCE_H_
