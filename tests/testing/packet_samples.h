// tests/testing/packet_samples.h — packets that own their bytes, for tests of sinks and
// writers: each is patterned (byte k of packet i is i*7+k, so a misplaced byte shows), with its
// own captured and original length, timestamp and link type, and the views point at them.
//
//   pktkit::samples::OwnedPackets p;
//   for (size_t i = 0; i < 10; ++i) p.Add(i, /*size=*/60 + i, /*extra_wire=*/0, 1000 * i);
//   ASSERT_TRUE(sink.Write(p.batch()).ok());
#ifndef PKTKIT_TESTS_TESTING_PACKET_SAMPLES_H_
#define PKTKIT_TESTS_TESTING_PACKET_SAMPLES_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "pktkit/io/packet.h"

namespace pktkit::samples {

struct OwnedPackets {
  // Appends packet number `index`: `size` patterned bytes, an original length `extra_wire`
  // bytes longer (a snapped packet), the given timestamp and link type. Earlier views stay
  // valid (each packet's bytes have their own buffer).
  void Add(size_t index, size_t size, uint32_t extra_wire, int64_t timestamp_ns,
           LinkType lt = LinkType::kEthernet) {
    std::vector<uint8_t> b(size);
    for (size_t k = 0; k < size; ++k) b[k] = static_cast<uint8_t>(index * 7 + k);
    bytes.push_back(std::move(b));
    PacketView v;
    v.data = bytes.back().data();
    v.caplen = static_cast<uint32_t>(size);
    v.wire_len = v.caplen + extra_wire;
    v.timestamp_ns = timestamp_ns;
    v.link_type = lt;
    views.push_back(v);
  }
  PacketBatch batch() const { return PacketBatch{views.data(), views.size()}; }
  PacketBatch batch(size_t off, size_t n) const { return PacketBatch{views.data() + off, n}; }

  std::vector<std::vector<uint8_t>> bytes;
  std::vector<PacketView> views;
};

}  // namespace pktkit::samples

#endif  // PKTKIT_TESTS_TESTING_PACKET_SAMPLES_H_
