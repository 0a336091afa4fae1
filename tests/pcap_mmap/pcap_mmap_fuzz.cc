// Capture-file parser fuzzer (pcap and pcapng, as PcapMmapReader reads them from a mapping).
// Properties: Init either fails or the walk ends (kEnd or kError, never loops: every packet
// advances the offset); every view lies inside the input; caplen <= wire_len and caplen is
// within the snap length limit; after kError the parser stays in error with a message.
#include <cstddef>
#include <cstdint>

#include "pktkit/io/pcap_mmap_reader.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pktkit::CaptureFileParser p;
  if (!p.Init(pktkit::ByteSpan(data, size)).ok()) return 0;
  pktkit::PacketView v;
  size_t last = p.offset();
  for (size_t n = 0;; ++n) {
    PKTKIT_FUZZ_CHECK(n <= size);  // each packet consumes at least one record header
    const pktkit::CaptureFileParser::Result r = p.Next(&v);
    if (r == pktkit::CaptureFileParser::Result::kEnd) {
      PKTKIT_FUZZ_CHECK(p.offset() == size);
      break;
    }
    if (r == pktkit::CaptureFileParser::Result::kError) {
      PKTKIT_FUZZ_CHECK(!p.error().empty());
      PKTKIT_FUZZ_CHECK(p.Next(&v) == pktkit::CaptureFileParser::Result::kError);
      break;
    }
    PKTKIT_FUZZ_CHECK(p.offset() > last && p.offset() <= size);
    last = p.offset();
    PKTKIT_FUZZ_CHECK(v.caplen <= v.wire_len);
    PKTKIT_FUZZ_CHECK(v.caplen <= pktkit::kPcapNgMaxBlockBytes);
    if (v.caplen > 0) {
      PKTKIT_FUZZ_CHECK(v.data >= data && v.data + v.caplen <= data + size);
    }
  }
  return 0;
}
