// Fuzzes ByteReader with a script taken from the input itself: each byte picks a verb and a
// size. Properties: the position never passes the end, a failed call poisons the reader for
// good, and bytes read equal the input at the position they were read from.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tests/fuzz/fuzz_check.h"
#include "pktkit/wire/bytes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t script_len = data[0] % 16;
  if (size < 1 + script_len) return 0;
  const uint8_t* script = data + 1;
  pktkit::ByteReader r(data + 1 + script_len, size - 1 - script_len);
  bool failed = false;
  for (size_t i = 0; i < script_len; ++i) {
    const size_t before = r.position();
    bool ok = false;
    switch (script[i] & 7) {
      case 0: {
        uint8_t v;
        ok = r.ReadU8(&v);
        if (ok) PKTKIT_FUZZ_CHECK(v == r.Whole().data[before]);
        break;
      }
      case 1: {
        uint16_t v;
        ok = r.ReadU16(&v);
        if (ok) PKTKIT_FUZZ_CHECK(v == pktkit::LoadBe16(r.Whole().data + before));
        break;
      }
      case 2: {
        uint32_t v;
        ok = r.ReadU32(&v);
        break;
      }
      case 3: {
        uint64_t v;
        ok = r.ReadU64(&v);
        break;
      }
      case 4:
        ok = r.Skip(script[i] >> 3);
        break;
      case 5: {
        pktkit::ByteSpan s;
        ok = r.ReadSpan(script[i] >> 3, &s);
        if (ok) PKTKIT_FUZZ_CHECK(s.data == r.Whole().data + before);
        break;
      }
      case 6:
        ok = r.Seek(script[i] >> 3);
        break;
      default: {
        uint8_t tmp[32];
        ok = r.ReadBytes(tmp, script[i] >> 3);
        break;
      }
    }
    if (!ok) failed = true;
    PKTKIT_FUZZ_CHECK(r.position() <= r.size());
    PKTKIT_FUZZ_CHECK(r.ok() == !failed);
  }
  return 0;
}
