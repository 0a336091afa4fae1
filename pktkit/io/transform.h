// pktkit/io/transform.h — the interface every batch transform implements.
//
// A transform maps a batch of packet views to another batch: tunnel decapsulation,
// link-type normalisation, filtering (pktkit/io/decap_transform.h,
// pktkit/io/normalize_transform.h). Output views point into the input's bytes or into the
// transform's own scratch, so nothing is copied unless a header must be rewritten.
//
//   pktkit::PacketTransform& decap = ...;
//   pktkit::PacketBatch out = decap.Apply(in);   // `in` from PacketSource::NextBatch
//   for (const pktkit::PacketView& p : out) Use(p);
//   source.ReleaseBatch();                       // `out` is invalid from here on
//
// The run loop that drives source -> transforms -> sink is pktkit/io/run.h.
#ifndef PKTKIT_IO_TRANSFORM_H_
#define PKTKIT_IO_TRANSFORM_H_

#include "pktkit/io/packet.h"

namespace pktkit {

class PacketTransform {
 public:
  virtual ~PacketTransform() = default;

  // Maps a batch to a batch. Output views point into the input's bytes or the transform's
  // own scratch; they stay valid until the next Apply() or until the input batch is
  // released, whichever comes first. Packets it drops it counts itself, by cause.
  virtual PacketBatch Apply(const PacketBatch& in) = 0;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_TRANSFORM_H_
