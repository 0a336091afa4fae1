// Fuzzes ParseVxlan in both strictness modes. Properties: on success the payload is exactly the
// input after 8 bytes, the I flag is set, and serializing the parsed header gives back the
// input's first 8 bytes; on failure the payload is empty and the error matches the input.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "tests/fuzz/fuzz_check.h"
#include "pktkit/wire/vxlan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using pktkit::VxlanError;
  for (auto strictness : {pktkit::VxlanStrictness::kLenient, pktkit::VxlanStrictness::kStrict}) {
    pktkit::VxlanHeader h;
    pktkit::ByteSpan payload;
    const VxlanError e = pktkit::ParseVxlan(pktkit::ByteSpan(data, size), &h, &payload, strictness);
    if (size < pktkit::kVxlanHeaderSize) {
      PKTKIT_FUZZ_CHECK(e == VxlanError::kTruncated);
    }
    if (e != VxlanError::kOk) {
      PKTKIT_FUZZ_CHECK(payload.empty());
      continue;
    }
    PKTKIT_FUZZ_CHECK((h.flags & pktkit::kVxlanFlagI) != 0);
    if (strictness == pktkit::VxlanStrictness::kStrict)
      PKTKIT_FUZZ_CHECK(h.flags == pktkit::kVxlanFlagI);
    PKTKIT_FUZZ_CHECK(payload.data == data + pktkit::kVxlanHeaderSize);
    PKTKIT_FUZZ_CHECK(payload.size == size - pktkit::kVxlanHeaderSize);
    PKTKIT_FUZZ_CHECK(h.vni.value() <= pktkit::Vni::kMax);
    uint8_t out[pktkit::kVxlanHeaderSize];
    pktkit::ByteWriter w(out, sizeof out);
    PKTKIT_FUZZ_CHECK(pktkit::SerializeVxlan(h, &w));
    PKTKIT_FUZZ_CHECK(std::memcmp(out, data, sizeof out) == 0);
  }
  return 0;
}
