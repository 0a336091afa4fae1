// pktkit/wire/geneve.h — the GENEVE header and its option TLVs (RFC 8926): parse, iterate,
// serialize, and the critical-option policy.
//
//    0                   1                   2                   3       (RFC 8926 §3.4)
//   |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
//   |        Virtual Network Identifier (VNI)       |    Reserved   |
//   |                    Variable-Length Options                    |
//   Option TLV (§3.5): |Option Class (16)|Type (8)|R|R|R|Length (5)| data (Length*4 bytes)
//
//   pktkit::GeneveHeader h;
//   pktkit::ByteSpan inner;
//   if (pktkit::ParseGeneve(udp_payload, &h, &inner) != pktkit::GeneveError::kOk) return;
//   pktkit::GeneveOption opt;
//   for (pktkit::GeneveOptionIterator it(h.options); !it.Done();) {
//     if (it.Next(&opt) != pktkit::GeneveError::kOk) break;
//     Use(opt.option_class, opt.type, opt.data);
//   }
//
// Lengths: Opt Len is 6 bits of 4-byte words (up to 252 option bytes, so header plus options
// reach 260 bytes); an option's Length is 5 bits of 4-byte words (up to 124 data bytes) and
// excludes its own 4-byte header. All offsets are size_t.
// Critical options: the high bit of an option's Type marks it critical (§3.5); a receiver that
// does not understand a critical option must not process the packet, so ParseGeneve reports
// kUnknownCriticalOption unless the (class, type) is in the caller's known list. The default
// list is the AWS Gateway Load Balancer options (class 0x0108).
// Everything handed out points into the caller's buffer (no copy; valid while it is).
// References: RFC 8926 §3.4, §3.5; AWS GWLB docs ("Geneve TLV options", class 0x0108).
#ifndef PKTKIT_WIRE_GENEVE_H_
#define PKTKIT_WIRE_GENEVE_H_

#include <cstddef>
#include <cstdint>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/tunnel_meta.h"

namespace pktkit {

inline constexpr uint16_t kGeneveDefaultPort = 6081;  // RFC 8926 §3.3 (IANA)
inline constexpr size_t kGeneveHeaderSize = 8;        // fixed part, RFC 8926 §3.4
// First byte (RFC 8926 §3.4): Ver:2 | Opt Len:6.
inline constexpr unsigned kGeneveVersionShift = 6;
inline constexpr uint8_t kGeneveVersionMask = 0x03;
inline constexpr uint8_t kGeneveOptLenMask = 0x3f;
// Second byte (RFC 8926 §3.4): O:1 | C:1 | Rsvd:6.
inline constexpr uint8_t kGeneveFlagOam = 0x80;
inline constexpr uint8_t kGeneveFlagCritical = 0x40;
inline constexpr uint8_t kGeneveReserved1Mask = 0x3f;
// Second word: VNI in the high 24 bits, then 8 reserved bits (RFC 8926 §3.4).
inline constexpr unsigned kGeneveVniShift = 8;
inline constexpr size_t kGeneveMaxOptionsBytes = size_t{kGeneveOptLenMask} * 4;  // 252
// Option TLV (RFC 8926 §3.5).
inline constexpr size_t kGeneveOptionHeaderSize = 4;
inline constexpr uint8_t kGeneveOptionTypeCritical = 0x80;  // high bit of Type
inline constexpr unsigned kGeneveOptionFlagsShift = 5;      // R R R above Length
inline constexpr uint8_t kGeneveOptionFlagsMask = 0x07;
inline constexpr uint8_t kGeneveOptionLengthMask = 0x1f;
inline constexpr size_t kGeneveMaxOptionDataBytes = size_t{kGeneveOptionLengthMask} * 4;  // 124
// AWS Gateway Load Balancer's option class (endpoint id, attachment id, flow cookie).
inline constexpr uint16_t kGeneveClassAwsGwlb = 0x0108;

enum class GeneveError : uint8_t {
  kOk = 0,
  kTruncated,              // shorter than 8 bytes, or than 8 + Opt Len * 4
  kBadVersion,             // Ver != 0 (RFC 8926 §3.4: unknown versions are dropped)
  kOptionOverrun,          // an option TLV runs past the options area
  kUnknownCriticalOption,  // a critical option not in the known list (RFC 8926 §3.5)
  kCount,
};

inline const char* GeneveErrorName(GeneveError e) {
  switch (e) {
    case GeneveError::kOk:
      return "ok";
    case GeneveError::kTruncated:
      return "truncated";
    case GeneveError::kBadVersion:
      return "bad_version";
    case GeneveError::kOptionOverrun:
      return "option_overrun";
    case GeneveError::kUnknownCriticalOption:
      return "unknown_critical_option";
    case GeneveError::kCount:
      break;
  }
  return "unknown";
}

// A parsed GENEVE header. `options` views the raw TLVs (no copy).
struct GeneveHeader {
  uint8_t version = 0;
  uint8_t opt_len_words = 0;  // 0..63
  bool oam = false;
  bool critical = false;
  uint8_t reserved1 = 0;  // the 6 reserved flag bits, kept for round trip
  uint16_t protocol_type = 0;
  Vni vni;
  uint8_t reserved2 = 0;
  ByteSpan options;
};

// One option TLV as found on the wire. `data` views the option's data (no copy).
struct GeneveOption {
  uint16_t option_class = 0;
  uint8_t type = 0;       // the full 8-bit type, critical bit included
  bool critical = false;  // type & kGeneveOptionTypeCritical
  uint8_t flags = 0;      // the 3 reserved bits
  ByteSpan data;          // length_words * 4 bytes
};

// An option to build. data.size must be a multiple of 4 and at most 124.
struct GeneveOptionSpec {
  uint16_t option_class = 0;
  uint8_t type = 0;
  ByteSpan data;
  uint8_t flags = 0;  // the 3 reserved bits, normally 0
};

// Walks option TLVs. Call Next() while !Done(); after an error Done() is true.
class GeneveOptionIterator {
 public:
  explicit GeneveOptionIterator(ByteSpan options) : r_(options) {}

  bool Done() const { return !r_.ok() || r_.remaining() == 0; }

  // Reads the next option. Returns kOptionOverrun (and stops) when the option's header or its
  // Length runs past the options area, kTruncated when called after Done().
  GeneveError Next(GeneveOption* out) {
    if (Done()) return GeneveError::kTruncated;
    uint16_t cls = 0;
    uint8_t type = 0;
    uint8_t len_byte = 0;
    if (!r_.ReadU16(&cls) || !r_.ReadU8(&type) || !r_.ReadU8(&len_byte)) {
      return GeneveError::kOptionOverrun;
    }
    const size_t data_len = size_t{static_cast<uint8_t>(len_byte & kGeneveOptionLengthMask)} * 4;
    ByteSpan data;
    if (!r_.ReadSpan(data_len, &data)) return GeneveError::kOptionOverrun;
    out->option_class = cls;
    out->type = type;
    out->critical = (type & kGeneveOptionTypeCritical) != 0;
    out->flags =
        static_cast<uint8_t>((len_byte >> kGeneveOptionFlagsShift) & kGeneveOptionFlagsMask);
    out->data = data;
    return GeneveError::kOk;
  }

 private:
  ByteReader r_;
};

// (class, type) of an option the receiver understands; `type` is the full 8-bit Type.
struct GeneveOptionKey {
  uint16_t option_class = 0;
  uint8_t type = 0;
};

// AWS Gateway Load Balancer options: 1 = GWLB endpoint id (8 bytes), 2 = attachment id
// (8 bytes), 3 = flow cookie (4 bytes). Their critical bit is clear today; listing them also
// with the bit set keeps a future critical variant from being dropped.
inline constexpr GeneveOptionKey kGeneveAwsGwlbOptions[] = {
    {kGeneveClassAwsGwlb, 0x01}, {kGeneveClassAwsGwlb, 0x02}, {kGeneveClassAwsGwlb, 0x03},
    {kGeneveClassAwsGwlb, 0x81}, {kGeneveClassAwsGwlb, 0x82}, {kGeneveClassAwsGwlb, 0x83},
};

// What ParseGeneve does with critical options: accept those in `known`, report the rest unless
// `accept_unknown_critical`. Non-critical options are always accepted (RFC 8926 §3.5).
struct GeneveOptionPolicy {
  const GeneveOptionKey* known = kGeneveAwsGwlbOptions;
  size_t known_count = sizeof(kGeneveAwsGwlbOptions) / sizeof(kGeneveAwsGwlbOptions[0]);
  bool accept_unknown_critical = false;

  bool Accepts(const GeneveOption& o) const {
    if (!o.critical || accept_unknown_critical) return true;
    for (size_t i = 0; i < known_count; ++i) {
      if (known[i].option_class == o.option_class && known[i].type == o.type) return true;
    }
    return false;
  }
};

// Parses the header and options at the start of `in` and checks every option TLV against the
// options area (kOptionOverrun, which wins) and then `policy` (kUnknownCriticalOption). On kOk
// fills `*header` and sets `*payload` to the bytes after the options (a view into `in`). On error
// `*payload` is empty and `*header` may be partly filled (version, lengths, VNI: useful for
// counters). Errors: kTruncated, kBadVersion, kOptionOverrun, kUnknownCriticalOption.
inline GeneveError ParseGeneve(ByteSpan in, GeneveHeader* header, ByteSpan* payload,
                               const GeneveOptionPolicy& policy = GeneveOptionPolicy()) {
  *payload = ByteSpan();
  ByteReader r(in);
  uint8_t b0 = 0;
  uint8_t b1 = 0;
  uint16_t protocol = 0;
  uint32_t word2 = 0;
  if (!r.ReadU8(&b0) || !r.ReadU8(&b1) || !r.ReadU16(&protocol) || !r.ReadU32(&word2)) {
    return GeneveError::kTruncated;
  }
  header->version = static_cast<uint8_t>((b0 >> kGeneveVersionShift) & kGeneveVersionMask);
  header->opt_len_words = static_cast<uint8_t>(b0 & kGeneveOptLenMask);
  header->oam = (b1 & kGeneveFlagOam) != 0;
  header->critical = (b1 & kGeneveFlagCritical) != 0;
  header->reserved1 = static_cast<uint8_t>(b1 & kGeneveReserved1Mask);
  header->protocol_type = protocol;
  header->vni = Vni::FromMasked(word2 >> kGeneveVniShift);
  header->reserved2 = static_cast<uint8_t>(word2 & 0xffu);
  header->options = ByteSpan();
  if (header->version != 0) return GeneveError::kBadVersion;
  ByteSpan options;
  if (!r.ReadSpan(size_t{header->opt_len_words} * 4, &options)) return GeneveError::kTruncated;
  // Walk every TLV before applying the policy, so a malformed area is always kOptionOverrun
  // whatever the policy.
  GeneveOption opt;
  bool unknown_critical = false;
  for (GeneveOptionIterator it(options); !it.Done();) {
    const GeneveError e = it.Next(&opt);
    if (e != GeneveError::kOk) return e;
    if (!unknown_critical && !policy.Accepts(opt)) unknown_critical = true;
  }
  if (unknown_critical) return GeneveError::kUnknownCriticalOption;
  header->options = options;
  *payload = r.Rest();
  return GeneveError::kOk;
}

// The encoded size of `count` options, or false when one has data not a multiple of 4 or over
// 124 bytes, or the total exceeds 252 bytes.
inline bool GeneveOptionsSize(const GeneveOptionSpec* specs, size_t count, size_t* bytes) {
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    const size_t n = specs[i].data.size;
    if (n % 4 != 0 || n > kGeneveMaxOptionDataBytes) return false;
    total += kGeneveOptionHeaderSize + n;
    if (total > kGeneveMaxOptionsBytes) return false;
  }
  *bytes = total;
  return true;
}

namespace internal {
inline bool WriteGeneveFixed(const GeneveHeader& h, size_t options_bytes, bool any_critical,
                             ByteWriter* w) {
  if (options_bytes > kGeneveMaxOptionsBytes || options_bytes % 4 != 0) return w->Fail();
  if (w->remaining() < kGeneveHeaderSize + options_bytes) return w->Fail();
  const uint8_t b0 = static_cast<uint8_t>(
      ((h.version & kGeneveVersionMask) << kGeneveVersionShift) | (options_bytes / 4));
  uint8_t b1 = static_cast<uint8_t>(h.reserved1 & kGeneveReserved1Mask);
  if (h.oam) b1 |= kGeneveFlagOam;
  if (h.critical || any_critical) b1 |= kGeneveFlagCritical;
  w->WriteU8(b0);
  w->WriteU8(b1);
  w->WriteU16(h.protocol_type);
  return w->WriteU32((h.vni.value() << kGeneveVniShift) | h.reserved2);
}
}  // namespace internal

// Writes `header` followed by its raw `header.options` (Opt Len is taken from options.size,
// not from opt_len_words). For round trips of parsed headers. Returns false (writer poisoned)
// when the options are over 252 bytes or not a multiple of 4, or capacity is short.
inline bool SerializeGeneve(const GeneveHeader& header, ByteWriter* w) {
  if (!internal::WriteGeneveFixed(header, header.options.size, false, w)) return false;
  return w->WriteSpan(header.options);
}

// Writes `header` (its `options` and `opt_len_words` ignored) followed by `count` options built
// from `specs`. The C flag is set when header.critical is or any option type is critical
// (RFC 8926 §3.4). Returns false (writer poisoned) on invalid options or short capacity.
// Size first: kGeneveHeaderSize + GeneveOptionsSize().
inline bool SerializeGeneve(const GeneveHeader& header, const GeneveOptionSpec* specs, size_t count,
                            ByteWriter* w) {
  size_t options_bytes = 0;
  if (!GeneveOptionsSize(specs, count, &options_bytes)) return w->Fail();
  bool any_critical = false;
  for (size_t i = 0; i < count; ++i) {
    if (specs[i].type & kGeneveOptionTypeCritical) any_critical = true;
  }
  if (!internal::WriteGeneveFixed(header, options_bytes, any_critical, w)) return false;
  for (size_t i = 0; i < count; ++i) {
    const GeneveOptionSpec& s = specs[i];
    w->WriteU16(s.option_class);
    w->WriteU8(s.type);
    w->WriteU8(static_cast<uint8_t>(
        ((s.flags & kGeneveOptionFlagsMask) << kGeneveOptionFlagsShift) | (s.data.size / 4)));
    w->WriteSpan(s.data);
  }
  return w->ok();
}

}  // namespace pktkit

#endif  // PKTKIT_WIRE_GENEVE_H_
