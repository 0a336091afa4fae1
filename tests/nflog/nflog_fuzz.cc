// Fuzzes ParseNflog with both TLV byte orders. Properties: the TLV walk never goes past the
// end and every value lies inside the input; a record that parses re-serializes into bytes
// that parse to the same fields and serialize identically again (a fixed point).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "pktkit/wire/nflog.h"
#include "tests/fuzz/fuzz_check.h"

namespace {
bool Inside(pktkit::ByteSpan s, const uint8_t* d, size_t n) {
  return s.size == 0 || (s.data >= d && s.data + s.size <= d + n);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pktkit;
  for (TlvByteOrder order : {TlvByteOrder::kLittle, TlvByteOrder::kBig}) {
    if (size >= kNflogHeaderSize) {
      NflogTlvIterator it(ByteSpan(data + 4, size - 4), order);
      NflogTlv t;
      while (it.Next(&t)) {
        PKTKIT_FUZZ_CHECK(Inside(t.value, data, size));
        PKTKIT_FUZZ_CHECK(it.position() <= size - 4);
      }
    }
    NflogRecord r;
    if (ParseNflog(ByteSpan(data, size), order, &r) != NflogError::kOk) continue;
    PKTKIT_FUZZ_CHECK(Inside(r.payload, data, size));
    PKTKIT_FUZZ_CHECK(Inside(r.prefix, data, size));
    PKTKIT_FUZZ_CHECK(Inside(r.hwheader, data, size));
    std::vector<uint8_t> a(NflogSerializedSize(r));
    ByteWriter wa(a.data(), a.size());
    PKTKIT_FUZZ_CHECK(SerializeNflog(r, order, &wa));
    PKTKIT_FUZZ_CHECK(wa.size() == a.size());
    NflogRecord r2;
    PKTKIT_FUZZ_CHECK(ParseNflog(ByteSpan(a.data(), a.size()), order, &r2) == NflogError::kOk);
    PKTKIT_FUZZ_CHECK(r2.unknown_tlvs == 0);
    PKTKIT_FUZZ_CHECK(r2.mark == r.mark && r2.has_mark == r.has_mark);
    PKTKIT_FUZZ_CHECK(r2.uid == r.uid && r2.gid == r.gid && r2.has_uid == r.has_uid);
    PKTKIT_FUZZ_CHECK(r2.payload.size == r.payload.size);
    PKTKIT_FUZZ_CHECK(r.payload.size == 0 ||
                std::memcmp(r2.payload.data, r.payload.data, r.payload.size) == 0);
    PKTKIT_FUZZ_CHECK(r2.prefix.size == r.prefix.size);
    std::vector<uint8_t> b(NflogSerializedSize(r2));
    ByteWriter wb(b.data(), b.size());
    PKTKIT_FUZZ_CHECK(SerializeNflog(r2, order, &wb));
    PKTKIT_FUZZ_CHECK(a == b);
  }
  NetlinkMessageIterator nl(ByteSpan(data, size));
  NetlinkMessage m;
  while (nl.Next(&m)) PKTKIT_FUZZ_CHECK(Inside(m.payload, data, size));
  return 0;
}
