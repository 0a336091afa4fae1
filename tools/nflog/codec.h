// tools/nflog/codec.h — compression of NFLOG record batches (zlib baseline, zstd) and the
// one function every receiving stage uses to turn a message into records.
//
//   std::vector<uint8_t> scratch;
//   MessageError e = DecodeMessage(msg, &scratch, [&](const WireRecord& r, TlvByteOrder o) {
//     Write(r);
//   });
//
// Compress/Decompress return false on failure; DecodeMessage returns a named MessageError.
// References: zlib.h (compress2/uncompress), zstd.h (ZSTD_compress/ZSTD_decompress).
#ifndef PKTKIT_TOOLS_NFLOG_CODEC_H_
#define PKTKIT_TOOLS_NFLOG_CODEC_H_

#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <vector>

#include "tools/nflog/message.h"

namespace pktkit::nflog {

// Compresses `in` into `out` (replaced) with the kind's codec at `level` (0 = the codec's fast
// default: zlib 1, zstd 1).
// The first `offset` bytes of `out` are left for the caller (a message header).
inline bool Compress(MessageKind kind, ByteSpan in, int level, std::vector<uint8_t>* out,
                     size_t offset = 0) {
  if (kind == MessageKind::kZlib) {
    uLongf n = compressBound(static_cast<uLong>(in.size));
    out->resize(offset + n);
    if (compress2(out->data() + offset, &n, in.data, static_cast<uLong>(in.size),
                  level > 0 ? level : 1) != Z_OK) {
      return false;
    }
    out->resize(offset + n);
    return true;
  }
  if (kind == MessageKind::kZstd) {
    const size_t bound = ZSTD_compressBound(in.size);
    out->resize(offset + bound);
    const size_t n =
        ZSTD_compress(out->data() + offset, bound, in.data, in.size, level > 0 ? level : 1);
    if (ZSTD_isError(n)) return false;
    out->resize(offset + n);
    return true;
  }
  return false;
}

// Inflates `in` into exactly `expected` bytes in `out`; false otherwise.
inline bool Decompress(MessageKind kind, ByteSpan in, uint32_t expected,
                       std::vector<uint8_t>* out) {
  out->resize(expected);
  if (kind == MessageKind::kZlib) {
    uLongf n = expected;
    const int rc = uncompress(out->data(), &n, in.data, static_cast<uLong>(in.size));
    return rc == Z_OK && n == expected;
  }
  if (kind == MessageKind::kZstd) {
    const size_t n = ZSTD_decompress(out->data(), out->size(), in.data, in.size);
    return !ZSTD_isError(n) && n == expected;
  }
  return false;
}

// Parses `msg`, inflates it if needed (into `scratch`) and calls fn(record, tlv_order) for
// every record, in order. Records before a bad one may already have been delivered only when
// the body turns out bad: to never deliver a torn batch, records are first validated, then
// delivered.
template <typename Fn>
MessageError DecodeMessage(ByteSpan msg, std::vector<uint8_t>* scratch, Fn fn,
                           MessageHeader* header_out = nullptr) {
  MessageHeader h;
  MessageError e = ParseMessageHeader(msg, &h);
  if (e != MessageError::kOk) return e;
  ByteSpan body = h.body;
  if (h.kind != MessageKind::kRaw) {
    if (!Decompress(h.kind, h.body, h.body_len, scratch)) return MessageError::kDecompress;
    body = ByteSpan(scratch->data(), scratch->size());
  }
  {
    RecordIterator check(body, h.count);
    WireRecord r;
    while (check.Next(&r)) {
    }
    e = check.Finish();
    if (e != MessageError::kOk) return e;
  }
  RecordIterator it(body, h.count);
  WireRecord r;
  while (it.Next(&r)) fn(r, h.tlv_order());
  if (header_out != nullptr) *header_out = h;
  return MessageError::kOk;
}

}  // namespace pktkit::nflog

#endif  // PKTKIT_TOOLS_NFLOG_CODEC_H_
