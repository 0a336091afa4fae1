// tools/nflog/message.h — the NFLOG pipe's ZeroMQ message format: every message says what it
// is (version, raw or compressed batch, record count), so a receiver never needs to be told.
//
//   Message header (16 bytes, big-endian):
//     0  magic      u16  0x4e46 ("NF")
//     2  version    u8   1
//     3  kind       u8   1 raw (records as they are), 2 zlib batch, 3 zstd batch
//     4  flags      u8   bit 0: TLV length/type fields are big-endian (else little-endian)
//     5  reserved   u8   0
//     6  reserved   u16  0
//     8  count      u32  records in the body (>= 1)
//     12 body_len   u32  length of the records section once decompressed
//     16 body            kind 1: the records; kinds 2/3: their compressed form
//   Record (12-byte header + NFLOG record):
//     0  ts_ns      i64  capture time, ns since the epoch (kernel stamp or receive time)
//     8  len        u32  length of the NFLOG record that follows
//     12 record          nfgenmsg + TLVs, exactly a LINKTYPE_NFLOG pcap record
//
//   MessageHeader h;
//   if (ParseMessageHeader(msg, &h) != MessageError::kOk) ...;
//   RecordIterator it(body, h.count);  WireRecord rec;  while (it.Next(&rec)) Write(rec);
//
// Parsing reads through ByteReader only, never allocates, and names every error.
#ifndef PKTKIT_TOOLS_NFLOG_MESSAGE_H_
#define PKTKIT_TOOLS_NFLOG_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/nflog.h"

namespace pktkit::nflog {

inline constexpr uint16_t kMessageMagic = 0x4e46;
inline constexpr uint8_t kMessageVersion = 1;
inline constexpr size_t kMessageHeaderSize = 16;
inline constexpr size_t kRecordHeaderSize = 12;
inline constexpr uint8_t kFlagBigEndianTlv = 0x01;
// Receivers refuse larger bodies (a decompression bomb bound).
inline constexpr uint32_t kMaxBodyBytes = 64u << 20;

enum class MessageKind : uint8_t { kRaw = 1, kZlib = 2, kZstd = 3 };

enum class MessageError : uint8_t {
  kOk = 0,
  kTruncated,  // shorter than the header
  kBadMagic,
  kBadVersion,
  kBadKind,
  kBadFlags,       // unknown flag or reserved bits set
  kBadCount,       // count 0, or records in the body differ from count
  kBadBodyLength,  // raw body size differs from body_len, or body_len too large
  kBadRecord,      // a record length runs past the body
  kDecompress,     // the compressed body did not inflate to body_len bytes
  kCount,          // number of values (sizes counter arrays); never returned
};

inline const char* MessageErrorName(MessageError e) {
  switch (e) {
    case MessageError::kOk:
      return "ok";
    case MessageError::kTruncated:
      return "truncated";
    case MessageError::kBadMagic:
      return "bad_magic";
    case MessageError::kBadVersion:
      return "bad_version";
    case MessageError::kBadKind:
      return "bad_kind";
    case MessageError::kBadFlags:
      return "bad_flags";
    case MessageError::kBadCount:
      return "bad_count";
    case MessageError::kBadBodyLength:
      return "bad_body_length";
    case MessageError::kBadRecord:
      return "bad_record";
    case MessageError::kDecompress:
      return "decompress";
    case MessageError::kCount:
      break;
  }
  return "unknown";
}

struct MessageHeader {
  MessageKind kind = MessageKind::kRaw;
  uint8_t flags = 0;
  uint32_t count = 0;
  uint32_t body_len = 0;
  ByteSpan body;  // as carried (compressed for kZlib/kZstd); points into the message

  TlvByteOrder tlv_order() const {
    return (flags & kFlagBigEndianTlv) ? TlvByteOrder::kBig : TlvByteOrder::kLittle;
  }
};

// Parses and checks the header. For kRaw the body must be exactly body_len bytes.
inline MessageError ParseMessageHeader(ByteSpan msg, MessageHeader* h) {
  ByteReader r(msg);
  uint16_t magic = 0, reserved16 = 0;
  uint8_t version = 0, kind = 0, flags = 0, reserved8 = 0;
  if (!r.ReadU16(&magic) || !r.ReadU8(&version) || !r.ReadU8(&kind) || !r.ReadU8(&flags) ||
      !r.ReadU8(&reserved8) || !r.ReadU16(&reserved16) || !r.ReadU32(&h->count) ||
      !r.ReadU32(&h->body_len)) {
    return MessageError::kTruncated;
  }
  if (magic != kMessageMagic) return MessageError::kBadMagic;
  if (version != kMessageVersion) return MessageError::kBadVersion;
  if (kind < 1 || kind > 3) return MessageError::kBadKind;
  if ((flags & ~kFlagBigEndianTlv) != 0 || reserved8 != 0 || reserved16 != 0) {
    return MessageError::kBadFlags;
  }
  if (h->count == 0) return MessageError::kBadCount;
  h->kind = static_cast<MessageKind>(kind);
  h->flags = flags;
  h->body = r.Rest();
  if (h->body_len > kMaxBodyBytes) return MessageError::kBadBodyLength;
  if (h->kind == MessageKind::kRaw && h->body.size != h->body_len) {
    return MessageError::kBadBodyLength;
  }
  // Each record needs at least its header: a cheap bound before any decompression.
  if (h->count > h->body_len / kRecordHeaderSize) return MessageError::kBadCount;
  return MessageError::kOk;
}

struct WireRecord {
  int64_t ts_ns = 0;
  ByteSpan record;  // nfgenmsg + TLVs; points into the body
};

// Walks the records of a decompressed body. Next() returns false at the end or on a bad
// record; Finish() then says whether the body held exactly `count` well-formed records.
class RecordIterator {
 public:
  RecordIterator(ByteSpan body, uint32_t count) : r_(body), count_(count) {}
  bool Next(WireRecord* out) {
    if (error_ != MessageError::kOk || seen_ == count_) return false;
    uint64_t ts = 0;
    uint32_t len = 0;
    if (!r_.ReadU64(&ts) || !r_.ReadU32(&len) || !r_.ReadSpan(len, &out->record)) {
      error_ = MessageError::kBadRecord;
      return false;
    }
    out->ts_ns = static_cast<int64_t>(ts);
    ++seen_;
    return true;
  }
  // kOk only when exactly `count` records filled the body.
  MessageError Finish() const {
    if (error_ != MessageError::kOk) return error_;
    if (seen_ != count_ || r_.remaining() != 0) return MessageError::kBadCount;
    return MessageError::kOk;
  }
  uint32_t seen() const { return seen_; }

 private:
  ByteReader r_;
  uint32_t count_;
  uint32_t seen_ = 0;
  MessageError error_ = MessageError::kOk;
};

// Appends one record (header + bytes) to `body`.
inline void AppendRecord(int64_t ts_ns, ByteSpan record, std::vector<uint8_t>* body) {
  const size_t at = body->size();
  body->resize(at + kRecordHeaderSize + record.size);
  StoreBe64(body->data() + at, static_cast<uint64_t>(ts_ns));
  StoreBe32(body->data() + at + 8, static_cast<uint32_t>(record.size));
  if (record.size != 0)
    std::memcpy(body->data() + at + kRecordHeaderSize, record.data, record.size);
}

// Writes a message header into the kMessageHeaderSize bytes at `p`.
inline void WriteMessageHeaderTo(uint8_t* p, MessageKind kind, uint8_t flags, uint32_t count,
                                 uint32_t body_len) {
  StoreBe16(p, kMessageMagic);
  p[2] = kMessageVersion;
  p[3] = static_cast<uint8_t>(kind);
  p[4] = flags;
  p[5] = 0;
  StoreBe16(p + 6, 0);
  StoreBe32(p + 8, count);
  StoreBe32(p + 12, body_len);
}

// Writes a message header into `out` (resized to kMessageHeaderSize; the caller appends the
// body).
inline void WriteMessageHeader(MessageKind kind, uint8_t flags, uint32_t count, uint32_t body_len,
                               std::vector<uint8_t>* out) {
  out->resize(kMessageHeaderSize);
  WriteMessageHeaderTo(out->data(), kind, flags, count, body_len);
}

inline uint8_t HostTlvFlags() {
  return kHostTlvOrder == TlvByteOrder::kBig ? kFlagBigEndianTlv : 0;
}

}  // namespace pktkit::nflog

#endif  // PKTKIT_TOOLS_NFLOG_MESSAGE_H_
