// pktkit/wire/nflog.h — NFLOG records: the TLV parser and serializer shared by netlink
// NFULNL_MSG_PACKET messages and pcap LINKTYPE_NFLOG (239) records.
//
// A netlink NFLOG message is `struct nlmsghdr` followed by `struct nfgenmsg` (family u8,
// version u8, resource_id be16) and netlink attributes (nla_len u16, nla_type u16 in host
// byte order, value in network byte order, each padded to 4 bytes). A LINKTYPE_NFLOG record is
// exactly the part after the nlmsghdr. So ONE iterator (NflogTlvIterator) and ONE parser
// (ParseNflog) serve both: the socket hands it the bytes after the nlmsghdr, a pcap reader the
// record. Only the byte order of the TLV length/type fields differs (the host's for netlink,
// the writer's for a file), so it is a parameter.
//
//   pktkit::NflogRecord rec;
//   pktkit::NflogError err = pktkit::ParseNflog(bytes, pktkit::kHostTlvOrder, &rec);
//   if (err != pktkit::NflogError::kOk) counters[pktkit::NflogErrorName(err)]++;
//   else Deliver(rec.payload);  // IPv4/IPv6 packet; points into `bytes`
//
// Nothing here allocates, throws or makes a syscall; parsed spans point into the caller's
// buffer and are valid while it is. Unknown attribute types are skipped and counted.
// References: include/uapi/linux/netfilter/nfnetlink_log.h, include/uapi/linux/netlink.h
// (NLA_ALIGN, NLA_TYPE_MASK), https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html.
#ifndef PKTKIT_WIRE_NFLOG_H_
#define PKTKIT_WIRE_NFLOG_H_

#include <cstddef>
#include <cstdint>

#include "pktkit/wire/bytes.h"

namespace pktkit {

// Attribute types, enum nfulnl_attr_type in nfnetlink_log.h.
inline constexpr uint16_t kNfulaPacketHdr = 1;     // hw_protocol be16, hook u8, pad u8
inline constexpr uint16_t kNfulaMark = 2;          // be32
inline constexpr uint16_t kNfulaTimestamp = 3;     // sec be64, usec be64
inline constexpr uint16_t kNfulaIfindexIndev = 4;  // be32
inline constexpr uint16_t kNfulaIfindexOutdev = 5;
inline constexpr uint16_t kNfulaIfindexPhysIndev = 6;
inline constexpr uint16_t kNfulaIfindexPhysOutdev = 7;
inline constexpr uint16_t kNfulaHwaddr = 8;      // hw_addrlen be16, pad u16, hw_addr[8]
inline constexpr uint16_t kNfulaPayload = 9;     // the layer-3 packet
inline constexpr uint16_t kNfulaPrefix = 10;     // NUL-terminated string
inline constexpr uint16_t kNfulaUid = 11;        // be32
inline constexpr uint16_t kNfulaSeq = 12;        // be32, per instance
inline constexpr uint16_t kNfulaSeqGlobal = 13;  // be32
inline constexpr uint16_t kNfulaGid = 14;        // be32
inline constexpr uint16_t kNfulaHwtype = 15;     // be16 (ARPHRD_*)
inline constexpr uint16_t kNfulaHwheader = 16;   // the link-layer header bytes
inline constexpr uint16_t kNfulaHwlen = 17;      // be16
inline constexpr uint16_t kNflogTlvHeaderSize = 4;
// nla_type's top bits are NLA_F_NESTED (15) and NLA_F_NET_BYTEORDER (14); netlink.h NLA_TYPE_MASK.
inline constexpr uint16_t kNlaTypeMask = 0x3fff;
inline constexpr size_t kNflogHeaderSize = 4;  // struct nfgenmsg
inline constexpr uint8_t kNfnetlinkV0 = 0;     // nfgenmsg.version
inline constexpr size_t kNflogMaxHwaddr = 8;   // nfulnl_msg_packet_hw.hw_addr[8]

// Byte order of the TLV length and type fields (values are always network order).
enum class TlvByteOrder : uint8_t { kLittle = 0, kBig = 1 };
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
inline constexpr TlvByteOrder kHostTlvOrder = TlvByteOrder::kBig;
#else
inline constexpr TlvByteOrder kHostTlvOrder = TlvByteOrder::kLittle;
#endif

enum class NflogError : uint8_t {
  kOk = 0,
  kTruncatedHeader,   // fewer than 4 bytes of nfgenmsg
  kBadVersion,        // nfgenmsg.version != NFNETLINK_V0
  kBadTlvLength,      // a TLV length below 4 or past the end of the record
  kBadAttributeSize,  // a known attribute whose value has the wrong size
  kCount,             // number of values (sizes counter arrays); never returned
};

inline const char* NflogErrorName(NflogError e) {
  switch (e) {
    case NflogError::kOk:
      return "ok";
    case NflogError::kTruncatedHeader:
      return "truncated_header";
    case NflogError::kBadVersion:
      return "bad_version";
    case NflogError::kBadTlvLength:
      return "bad_tlv_length";
    case NflogError::kBadAttributeSize:
      return "bad_attribute_size";
    case NflogError::kCount:
      break;
  }
  return "unknown";
}

// One TLV: type (flags masked off) and value (no copy).
struct NflogTlv {
  uint16_t type = 0;
  ByteSpan value;
};

// Walks TLVs: the single iteration code for netlink attributes and LINKTYPE_NFLOG TLVs.
// Next() returns false at the end or on a bad length; error() tells which.
class NflogTlvIterator {
 public:
  NflogTlvIterator(ByteSpan tlvs, TlvByteOrder order) : r_(tlvs), order_(order) {}

  bool Next(NflogTlv* out) {
    if (error_ != NflogError::kOk || r_.remaining() == 0) return false;
    uint8_t hdr[kNflogTlvHeaderSize];
    if (!r_.ReadBytes(hdr, sizeof hdr)) return Fail();
    const uint16_t len = Load16(hdr);
    const uint16_t type = Load16(hdr + 2);
    if (len < kNflogTlvHeaderSize) return Fail();
    ByteSpan value;
    if (!r_.ReadSpan(len - kNflogTlvHeaderSize, &value)) return Fail();
    // NLA_ALIGN: pad to 4. A last TLV without its padding is accepted (files in the wild).
    const size_t pad = (4 - (len & 3u)) & 3u;
    r_.Skip(pad < r_.remaining() ? pad : r_.remaining());
    out->type = static_cast<uint16_t>(type & kNlaTypeMask);
    out->value = value;
    return true;
  }
  NflogError error() const { return error_; }
  size_t position() const { return r_.position(); }

 private:
  uint16_t Load16(const uint8_t* p) const {
    return order_ == TlvByteOrder::kBig ? static_cast<uint16_t>((p[0] << 8) | p[1])
                                        : static_cast<uint16_t>((p[1] << 8) | p[0]);
  }
  bool Fail() {
    error_ = NflogError::kBadTlvLength;
    return false;
  }
  ByteReader r_;
  TlvByteOrder order_;
  NflogError error_ = NflogError::kOk;
};

// A parsed NFLOG record. Optional fields carry a has_ flag; spans point into the input.
struct NflogRecord {
  uint8_t family = 0;  // AF_INET (2), AF_INET6 (10), AF_BRIDGE (7), ...
  uint8_t version = kNfnetlinkV0;
  uint16_t resource_id = 0;  // the NFLOG group
  bool has_packet_hdr = false;
  uint16_t hw_protocol = 0;  // EtherType
  uint8_t hook = 0;          // NF_INET_* hook
  bool has_mark = false;
  uint32_t mark = 0;
  bool has_timestamp = false;
  uint64_t ts_sec = 0;
  uint64_t ts_usec = 0;
  uint32_t indev = 0, outdev = 0, physindev = 0, physoutdev = 0;  // 0 = absent
  bool has_uid = false;
  uint32_t uid = 0;
  bool has_gid = false;
  uint32_t gid = 0;
  bool has_seq = false;
  uint32_t seq = 0;
  bool has_seq_global = false;
  uint32_t seq_global = 0;
  bool has_hwaddr = false;
  uint16_t hwaddr_len = 0;  // as the kernel said (may exceed 8); hwaddr holds min(len, 8)
  uint8_t hwaddr[kNflogMaxHwaddr] = {};
  bool has_hwtype = false;
  uint16_t hwtype = 0;
  bool has_hwlen = false;
  uint16_t hwlen = 0;
  bool has_hwheader = false;
  ByteSpan hwheader;
  bool has_prefix = false;
  ByteSpan prefix;  // without the terminating NUL
  bool has_payload = false;
  ByteSpan payload;
  uint32_t unknown_tlvs = 0;  // attributes of other types (CT, CT_INFO, VLAN, ...), skipped

  // Timestamp in ns since the epoch, 0 when absent.
  int64_t timestamp_ns() const {
    return has_timestamp ? static_cast<int64_t>(ts_sec * 1000000000u + ts_usec * 1000u) : 0;
  }
};

namespace internal {
inline bool NflogBe(ByteSpan v, size_t n, uint64_t* out) {
  if (v.size != n) return false;
  uint64_t x = 0;
  for (size_t i = 0; i < n; ++i) x = (x << 8) | v.data[i];
  *out = x;
  return true;
}
}  // namespace internal

// Parses `record` (nfgenmsg + TLVs). Errors: kTruncatedHeader, kBadVersion, kBadTlvLength,
// kBadAttributeSize. `out` is fully overwritten; on error its content is unspecified.
inline NflogError ParseNflog(ByteSpan record, TlvByteOrder order, NflogRecord* out) {
  *out = NflogRecord();
  ByteReader r(record);
  uint8_t family = 0, version = 0;
  uint16_t res_id = 0;
  if (!r.ReadU8(&family) || !r.ReadU8(&version) || !r.ReadU16(&res_id)) {
    return NflogError::kTruncatedHeader;
  }
  if (version != kNfnetlinkV0) return NflogError::kBadVersion;
  out->family = family;
  out->version = version;
  out->resource_id = res_id;
  NflogTlvIterator it(r.Rest(), order);
  NflogTlv t;
  uint64_t v = 0;
  while (it.Next(&t)) {
    bool ok = true;
    switch (t.type) {
      case kNfulaPacketHdr:
        ok = t.value.size == 4;
        if (ok) {
          out->has_packet_hdr = true;
          out->hw_protocol = LoadBe16(t.value.data);
          out->hook = t.value.data[2];
        }
        break;
      case kNfulaMark:
        ok = internal::NflogBe(t.value, 4, &v);
        out->has_mark = ok;
        out->mark = static_cast<uint32_t>(v);
        break;
      case kNfulaTimestamp:
        ok = t.value.size == 16;
        if (ok) {
          out->has_timestamp = true;
          out->ts_sec = LoadBe64(t.value.data);
          out->ts_usec = LoadBe64(t.value.data + 8);
        }
        break;
      case kNfulaIfindexIndev:
      case kNfulaIfindexOutdev:
      case kNfulaIfindexPhysIndev:
      case kNfulaIfindexPhysOutdev: {
        ok = internal::NflogBe(t.value, 4, &v);
        uint32_t* dst = t.type == kNfulaIfindexIndev       ? &out->indev
                        : t.type == kNfulaIfindexOutdev    ? &out->outdev
                        : t.type == kNfulaIfindexPhysIndev ? &out->physindev
                                                           : &out->physoutdev;
        *dst = static_cast<uint32_t>(v);
        break;
      }
      case kNfulaHwaddr:
        ok = t.value.size == 12;
        if (ok) {
          out->has_hwaddr = true;
          out->hwaddr_len = LoadBe16(t.value.data);
          for (size_t i = 0; i < kNflogMaxHwaddr; ++i) out->hwaddr[i] = t.value.data[4 + i];
        }
        break;
      case kNfulaPayload:
        out->has_payload = true;
        out->payload = t.value;
        break;
      case kNfulaPrefix:
        // The kernel always sends the NUL; one without it is malformed.
        ok = t.value.size >= 1 && t.value.data[t.value.size - 1] == 0;
        if (ok) {
          out->has_prefix = true;
          out->prefix = ByteSpan(t.value.data, t.value.size - 1);
        }
        break;
      case kNfulaUid:
      case kNfulaGid:
      case kNfulaSeq:
      case kNfulaSeqGlobal: {
        ok = internal::NflogBe(t.value, 4, &v);
        const uint32_t x = static_cast<uint32_t>(v);
        if (t.type == kNfulaUid) out->has_uid = ok, out->uid = x;
        if (t.type == kNfulaGid) out->has_gid = ok, out->gid = x;
        if (t.type == kNfulaSeq) out->has_seq = ok, out->seq = x;
        if (t.type == kNfulaSeqGlobal) out->has_seq_global = ok, out->seq_global = x;
        break;
      }
      case kNfulaHwtype:
      case kNfulaHwlen:
        ok = internal::NflogBe(t.value, 2, &v);
        if (t.type == kNfulaHwtype) out->has_hwtype = ok, out->hwtype = static_cast<uint16_t>(v);
        if (t.type == kNfulaHwlen) out->has_hwlen = ok, out->hwlen = static_cast<uint16_t>(v);
        break;
      case kNfulaHwheader:
        out->has_hwheader = true;
        out->hwheader = t.value;
        break;
      default:
        ++out->unknown_tlvs;
        break;
    }
    if (!ok) return NflogError::kBadAttributeSize;
  }
  return it.error();
}

// ---- Serialization (size first, then write) --------------------------------------------

namespace internal {
inline size_t NflogTlvSize(size_t value_len) {
  return (kNflogTlvHeaderSize + value_len + 3) & ~size_t{3};
}

// Calls emit(type, len_of_value, writer_fn) for every present attribute, in kernel order.
template <typename F>
void NflogForEachAttr(const NflogRecord& r, F emit) {
  uint8_t b[16];
  if (r.has_packet_hdr) {
    StoreBe16(b, r.hw_protocol);
    b[2] = r.hook;
    b[3] = 0;
    emit(kNfulaPacketHdr, ByteSpan(b, 4));
  }
  if (r.has_mark) StoreBe32(b, r.mark), emit(kNfulaMark, ByteSpan(b, 4));
  if (r.has_timestamp) {
    StoreBe64(b, r.ts_sec);
    StoreBe64(b + 8, r.ts_usec);
    emit(kNfulaTimestamp, ByteSpan(b, 16));
  }
  if (r.indev != 0) StoreBe32(b, r.indev), emit(kNfulaIfindexIndev, ByteSpan(b, 4));
  if (r.outdev != 0) StoreBe32(b, r.outdev), emit(kNfulaIfindexOutdev, ByteSpan(b, 4));
  if (r.physindev != 0) StoreBe32(b, r.physindev), emit(kNfulaIfindexPhysIndev, ByteSpan(b, 4));
  if (r.physoutdev != 0) StoreBe32(b, r.physoutdev), emit(kNfulaIfindexPhysOutdev, ByteSpan(b, 4));
  if (r.has_hwaddr) {
    StoreBe16(b, r.hwaddr_len);
    b[2] = b[3] = 0;
    for (size_t i = 0; i < kNflogMaxHwaddr; ++i) b[4 + i] = r.hwaddr[i];
    emit(kNfulaHwaddr, ByteSpan(b, 12));
  }
  if (r.has_hwtype) StoreBe16(b, r.hwtype), emit(kNfulaHwtype, ByteSpan(b, 2));
  if (r.has_hwlen) StoreBe16(b, r.hwlen), emit(kNfulaHwlen, ByteSpan(b, 2));
  if (r.has_hwheader) emit(kNfulaHwheader, r.hwheader);
  if (r.has_uid) StoreBe32(b, r.uid), emit(kNfulaUid, ByteSpan(b, 4));
  if (r.has_gid) StoreBe32(b, r.gid), emit(kNfulaGid, ByteSpan(b, 4));
  if (r.has_seq) StoreBe32(b, r.seq), emit(kNfulaSeq, ByteSpan(b, 4));
  if (r.has_seq_global) StoreBe32(b, r.seq_global), emit(kNfulaSeqGlobal, ByteSpan(b, 4));
  // Prefix: the span excludes the NUL, the attribute carries it (emitted with an extra byte).
  if (r.has_prefix) emit(kNfulaPrefix, r.prefix);
  if (r.has_payload) emit(kNfulaPayload, r.payload);
}
}  // namespace internal

// Bytes SerializeNflog writes for `r` (unknown TLVs are not kept).
inline size_t NflogSerializedSize(const NflogRecord& r) {
  size_t n = kNflogHeaderSize;
  internal::NflogForEachAttr(r, [&n](uint16_t type, ByteSpan v) {
    n += internal::NflogTlvSize(v.size + (type == kNfulaPrefix ? 1 : 0));
  });
  return n;
}

// Writes `r` as nfgenmsg + TLVs (a LINKTYPE_NFLOG record). Returns false (writer poisoned)
// when the writer lacks NflogSerializedSize(r) bytes or a value exceeds a TLV's 16-bit length.
inline bool SerializeNflog(const NflogRecord& r, TlvByteOrder order, ByteWriter* w) {
  w->WriteU8(r.family);
  w->WriteU8(r.version);
  w->WriteU16(r.resource_id);
  internal::NflogForEachAttr(r, [w, order](uint16_t type, ByteSpan v) {
    const bool prefix = type == kNfulaPrefix;
    const size_t len = kNflogTlvHeaderSize + v.size + (prefix ? 1 : 0);
    if (len > 0xffff) {
      w->Fail();
      return;
    }
    uint8_t hdr[4];
    const uint16_t l16 = static_cast<uint16_t>(len);
    if (order == TlvByteOrder::kBig) {
      StoreBe16(hdr, l16);
      StoreBe16(hdr + 2, type);
    } else {
      hdr[0] = static_cast<uint8_t>(l16), hdr[1] = static_cast<uint8_t>(l16 >> 8);
      hdr[2] = static_cast<uint8_t>(type), hdr[3] = static_cast<uint8_t>(type >> 8);
    }
    w->WriteBytes(hdr, 4);
    w->WriteSpan(v);
    if (prefix) w->WriteU8(0);
    w->WriteZeros(internal::NflogTlvSize(len - 4) - len);
  });
  return w->ok();
}

// ---- Netlink message framing (the socket's receive buffer) -------------------------------

inline constexpr size_t kNlmsgHeaderSize = 16;  // struct nlmsghdr
inline constexpr uint16_t kNlmsgError = 2;      // NLMSG_ERROR
inline constexpr uint16_t kNlmsgDone = 3;       // NLMSG_DONE
// NFNL_SUBSYS_ULOG (4) << 8 | NFULNL_MSG_PACKET (0).
inline constexpr uint16_t kNflogMsgPacket = 4 << 8;

struct NetlinkMessage {
  uint32_t len = 0;
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;
  uint32_t pid = 0;
  ByteSpan payload;  // after the nlmsghdr; for kNflogMsgPacket, an NFLOG record
};

// Walks the netlink messages of one datagram (nlmsghdr fields in host order, NLMSG_ALIGN 4).
// Next() returns false at the end or when a length is bad (then bad() is true).
class NetlinkMessageIterator {
 public:
  explicit NetlinkMessageIterator(ByteSpan datagram) : r_(datagram) {}
  bool Next(NetlinkMessage* m) {
    if (bad_ || r_.remaining() < kNlmsgHeaderSize) {
      bad_ = bad_ || r_.remaining() != 0;
      return false;
    }
    uint8_t h[kNlmsgHeaderSize];
    r_.ReadBytes(h, sizeof h);
    std::memcpy(&m->len, h, 4);  // host order: memcpy into the integer
    std::memcpy(&m->type, h + 4, 2);
    std::memcpy(&m->flags, h + 6, 2);
    std::memcpy(&m->seq, h + 8, 4);
    std::memcpy(&m->pid, h + 12, 4);
    if (m->len < kNlmsgHeaderSize || !r_.ReadSpan(m->len - kNlmsgHeaderSize, &m->payload)) {
      bad_ = true;
      return false;
    }
    const size_t pad = (4 - (m->len & 3u)) & 3u;
    r_.Skip(pad < r_.remaining() ? pad : r_.remaining());
    return true;
  }
  bool bad() const { return bad_; }

 private:
  ByteReader r_;
  bool bad_ = false;
};

}  // namespace pktkit

#endif  // PKTKIT_WIRE_NFLOG_H_
