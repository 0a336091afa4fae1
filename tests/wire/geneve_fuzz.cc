// Fuzzes ParseGeneve and the option iterator. Properties: on success the options area and the
// payload lie inside the input and tile it (8 + options + payload == size); iterating the options
// succeeds and the option sizes (4 + data) sum to the options length; each option's data lies
// inside the options area; serializing the parsed header reproduces the input's header bytes;
// rebuilding from GeneveOptionSpecs reproduces them too (reserved bits included).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tests/fuzz/fuzz_check.h"
#include "pktkit/wire/geneve.h"

namespace {
bool Inside(pktkit::ByteSpan inner, pktkit::ByteSpan outer) {
  return inner.data >= outer.data && inner.size <= outer.size &&
         static_cast<size_t>(inner.data - outer.data) <= outer.size - inner.size;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using pktkit::GeneveError;
  const pktkit::ByteSpan in(data, size);
  pktkit::GeneveOptionPolicy lenient;
  lenient.accept_unknown_critical = true;
  pktkit::GeneveHeader h;
  pktkit::ByteSpan payload;
  const GeneveError strict_e = pktkit::ParseGeneve(in, &h, &payload);
  const GeneveError e = pktkit::ParseGeneve(in, &h, &payload, lenient);
  // The policy can only turn kOk into kUnknownCriticalOption.
  PKTKIT_FUZZ_CHECK(strict_e == e ||
                (e == GeneveError::kOk && strict_e == GeneveError::kUnknownCriticalOption));
  PKTKIT_FUZZ_CHECK(e != GeneveError::kUnknownCriticalOption);
  if (e != GeneveError::kOk) {
    PKTKIT_FUZZ_CHECK(payload.empty());
    // The iterator over whatever the header claims must stay inside the input too.
    if (size > pktkit::kGeneveHeaderSize) {
      pktkit::GeneveOptionIterator it(pktkit::ByteSpan(data + 8, size - 8));
      pktkit::GeneveOption o;
      for (int i = 0; i < 256 && !it.Done(); ++i) {
        if (it.Next(&o) != GeneveError::kOk) break;
        PKTKIT_FUZZ_CHECK(Inside(o.data, in));
      }
    }
    return 0;
  }
  PKTKIT_FUZZ_CHECK(h.version == 0);
  PKTKIT_FUZZ_CHECK(h.options.size == size_t{h.opt_len_words} * 4);
  PKTKIT_FUZZ_CHECK(h.options.data == data + pktkit::kGeneveHeaderSize);
  PKTKIT_FUZZ_CHECK(Inside(h.options, in) && Inside(payload, in));
  PKTKIT_FUZZ_CHECK(pktkit::kGeneveHeaderSize + h.options.size + payload.size == size);

  pktkit::GeneveOptionSpec specs[63];
  size_t count = 0;
  size_t sum = 0;
  bool any_critical = false;
  pktkit::GeneveOption o;
  for (pktkit::GeneveOptionIterator it(h.options); !it.Done();) {
    PKTKIT_FUZZ_CHECK(it.Next(&o) == GeneveError::kOk);
    PKTKIT_FUZZ_CHECK(Inside(o.data, h.options));
    PKTKIT_FUZZ_CHECK(o.critical == ((o.type & 0x80) != 0));
    any_critical |= o.critical;
    sum += pktkit::kGeneveOptionHeaderSize + o.data.size;
    PKTKIT_FUZZ_CHECK(count < 63);
    specs[count++] = pktkit::GeneveOptionSpec{o.option_class, o.type, o.data, o.flags};
  }
  PKTKIT_FUZZ_CHECK(sum == h.options.size);

  const size_t header_len = pktkit::kGeneveHeaderSize + h.options.size;
  uint8_t out[pktkit::kGeneveHeaderSize + pktkit::kGeneveMaxOptionsBytes];
  pktkit::ByteWriter w(out, sizeof out);
  PKTKIT_FUZZ_CHECK(pktkit::SerializeGeneve(h, &w));
  PKTKIT_FUZZ_CHECK(w.size() == header_len && std::memcmp(out, data, header_len) == 0);

  // Rebuilt from specs: identical except the C flag, which the builder sets for critical options.
  pktkit::ByteWriter w2(out, sizeof out);
  PKTKIT_FUZZ_CHECK(pktkit::SerializeGeneve(h, specs, count, &w2));
  PKTKIT_FUZZ_CHECK(w2.size() == header_len);
  uint8_t want1 = data[1];
  if (any_critical) want1 |= pktkit::kGeneveFlagCritical;
  PKTKIT_FUZZ_CHECK(out[0] == data[0] && out[1] == want1);
  PKTKIT_FUZZ_CHECK(std::memcmp(out + 2, data + 2, header_len - 2) == 0);
  return 0;
}
