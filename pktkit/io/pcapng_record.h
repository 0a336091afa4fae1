// pktkit/io/pcapng_record.h — the pcapng codec, writer side: the Section Header Block, one
// Interface Description Block (link type, snap length, if_tsresol = 9: nanoseconds, optional
// if_name), an Enhanced Packet Block per packet, and the Interface Statistics Block (received
// and dropped counts). The pcapng twin of pktkit/io/pcap_record.h; the pcap sink
// (pktkit/io/pcap_sink.h, PcapSinkOptions::Format::kPcapng) writes its files with it.
//
//   std::vector<uint8_t> file;
//   pktkit::AppendPcapngFileHeader(pktkit::LinkType::kEthernet, 262144, "eth0", &file);
//   pktkit::AppendPcapngEpb(frame, wire_len, ts_ns, 262144, &file);   // per packet
//
//   // Without a copy of the packet (writev): header, the packet bytes in place, tail.
//   uint8_t head[pktkit::kPcapngEpbHeaderSize], tail[pktkit::kPcapngEpbMaxTailSize];
//   pktkit::PcapngEpbLayout l =
//       pktkit::SerializePcapngEpbHeader(ts_ns, caplen, wire_len, snaplen, head);
//   size_t tail_len = pktkit::SerializePcapngEpbTail(l, tail);
//   // iov: {head, 28}, {data, l.captured}, {tail, tail_len}
//
// An EPB is: block type 6, block total length, interface 0, timestamp (high and low 32 bits of
// nanoseconds since the epoch), captured length (cut to the snap length), original length, the
// packet bytes padded with zeros to 32 bits, the block total length again. Fields are in this
// host's byte order, which the SHB's byte-order magic 0x1A2B3C4D tells every reader (libpcap,
// Wireshark, Zeek); every block's length is a multiple of 4. Timestamps before the epoch are
// written as 0 (pcapng's are unsigned). Strings (if_name, shb_userappl) are cut to 256 bytes.
// No allocation except in the Append helpers, no syscalls, no Abseil.
// Reference: draft-ietf-opsawg-pcapng (§4.1 SHB, §4.2 IDB, §4.3 EPB, §4.6 ISB, §3.5 options).
#ifndef PKTKIT_IO_PCAPNG_RECORD_H_
#define PKTKIT_IO_PCAPNG_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/link_type.h"

namespace pktkit {

inline constexpr uint32_t kPcapngShbType = 0x0A0D0D0A;  // §4.1
inline constexpr uint32_t kPcapngIdbType = 0x00000001;  // §4.2
inline constexpr uint32_t kPcapngIsbType = 0x00000005;  // §4.6
inline constexpr uint32_t kPcapngEpbType = 0x00000006;  // §4.3
inline constexpr uint32_t kPcapngByteOrderMagic = 0x1A2B3C4D;
inline constexpr size_t kPcapngEpbHeaderSize = 28;    // type, length, interface, ts, caplen, len
inline constexpr size_t kPcapngEpbMaxTailSize = 7;    // up to 3 bytes of padding + total length
inline constexpr size_t kPcapngMaxStringBytes = 256;  // longest if_name / shb_userappl written

// Option codes (§3.5, §4.1, §4.2, §4.6).
inline constexpr uint16_t kPcapngOptEnd = 0;
inline constexpr uint16_t kPcapngShbUserAppl = 4;
inline constexpr uint16_t kPcapngIfName = 2;
inline constexpr uint16_t kPcapngIfTsresol = 9;
inline constexpr uint16_t kPcapngIsbStartTime = 2;
inline constexpr uint16_t kPcapngIsbEndTime = 3;
inline constexpr uint16_t kPcapngIsbIfRecv = 4;
inline constexpr uint16_t kPcapngIsbIfDrop = 5;
inline constexpr uint16_t kPcapngIsbOsDrop = 7;
inline constexpr uint8_t kPcapngTsresolNanoseconds = 9;  // 10^-9 s

// Zeros to add after `n` bytes to reach a multiple of 4.
constexpr size_t PcapngPadding(size_t n) { return (4 - n % 4) % 4; }

namespace pcapng_internal {
inline void Store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void Store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void Store64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint64_t Nanoseconds(int64_t ts_ns) { return ts_ns < 0 ? 0 : static_cast<uint64_t>(ts_ns); }
// Timestamps are two 32-bit words, high first (§4.3), in units of if_tsresol.
inline void StoreTimestamp(uint8_t* p, int64_t ts_ns) {
  const uint64_t t = Nanoseconds(ts_ns);
  Store32(p, static_cast<uint32_t>(t >> 32));
  Store32(p + 4, static_cast<uint32_t>(t));
}
inline std::string_view Cut(std::string_view s) {
  return s.size() > kPcapngMaxStringBytes ? s.substr(0, kPcapngMaxStringBytes) : s;
}
inline size_t OptionSize(size_t value_len) { return 4 + value_len + PcapngPadding(value_len); }
// Writes one option (code, length, value, zero padding); returns the bytes written.
inline size_t PutOption(uint8_t* p, uint16_t code, const void* value, size_t len) {
  Store16(p, code);
  Store16(p + 2, static_cast<uint16_t>(len));
  if (len > 0) std::memcpy(p + 4, value, len);
  const size_t pad = PcapngPadding(len);
  std::memset(p + 4 + len, 0, pad);
  return 4 + len + pad;
}
inline size_t PutEnd(uint8_t* p) { return PutOption(p, kPcapngOptEnd, nullptr, 0); }
}  // namespace pcapng_internal

// Section Header Block: byte-order magic, version 1.0, section length -1 (not given), and
// shb_userappl when `user_appl` is not empty. PcapngShbSize bytes; returns them.
inline size_t PcapngShbSize(std::string_view user_appl = {}) {
  const std::string_view a = pcapng_internal::Cut(user_appl);
  return 28 + (a.empty() ? 0 : pcapng_internal::OptionSize(a.size()) + 4);
}
inline size_t SerializePcapngShb(std::string_view user_appl, uint8_t* out) {
  namespace png = pcapng_internal;
  const std::string_view a = png::Cut(user_appl);
  const size_t total = PcapngShbSize(a);
  png::Store32(out, kPcapngShbType);
  png::Store32(out + 4, static_cast<uint32_t>(total));
  png::Store32(out + 8, kPcapngByteOrderMagic);
  png::Store16(out + 12, 1);             // major version
  png::Store16(out + 14, 0);             // minor version
  png::Store64(out + 16, ~uint64_t{0});  // section length: not given
  size_t off = 24;
  if (!a.empty()) {
    off += png::PutOption(out + off, kPcapngShbUserAppl, a.data(), a.size());
    off += png::PutEnd(out + off);
  }
  png::Store32(out + off, static_cast<uint32_t>(total));
  return total;
}

// Interface Description Block for interface 0: the LINKTYPE_* value, the snap length,
// if_tsresol = 9 (nanosecond timestamps) and if_name when `if_name` is not empty.
inline size_t PcapngIdbSize(std::string_view if_name = {}) {
  const std::string_view n = pcapng_internal::Cut(if_name);
  return 20 + (n.empty() ? 0 : pcapng_internal::OptionSize(n.size())) +
         pcapng_internal::OptionSize(1) + 4;
}
inline size_t SerializePcapngIdb(LinkType link_type, uint32_t snaplen, std::string_view if_name,
                                 uint8_t* out) {
  namespace png = pcapng_internal;
  const std::string_view n = png::Cut(if_name);
  const size_t total = PcapngIdbSize(n);
  png::Store32(out, kPcapngIdbType);
  png::Store32(out + 4, static_cast<uint32_t>(total));
  png::Store16(out + 8, static_cast<uint16_t>(link_type));
  png::Store16(out + 10, 0);  // reserved
  png::Store32(out + 12, snaplen);
  size_t off = 16;
  if (!n.empty()) off += png::PutOption(out + off, kPcapngIfName, n.data(), n.size());
  off += png::PutOption(out + off, kPcapngIfTsresol, &kPcapngTsresolNanoseconds, 1);
  off += png::PutEnd(out + off);
  png::Store32(out + off, static_cast<uint32_t>(total));
  return total;
}

// How one EPB is laid out: the captured bytes (cut to the snap length), the zero padding after
// them and the block total length (header + captured + padding + trailer).
struct PcapngEpbLayout {
  uint32_t captured = 0;
  uint32_t padding = 0;
  uint32_t total_length = 0;
};

// Writes the 28 bytes before the packet: type, total length, interface 0, timestamp, captured
// and original length (never below the captured one). Returns the layout; the packet's first
// `captured` bytes and then SerializePcapngEpbTail follow.
inline PcapngEpbLayout SerializePcapngEpbHeader(int64_t timestamp_ns, size_t caplen,
                                                uint32_t wire_len, uint32_t snaplen,
                                                uint8_t out[kPcapngEpbHeaderSize]) {
  namespace png = pcapng_internal;
  PcapngEpbLayout l;
  l.captured = caplen < snaplen ? static_cast<uint32_t>(caplen) : snaplen;
  l.padding = static_cast<uint32_t>(PcapngPadding(l.captured));
  l.total_length = static_cast<uint32_t>(kPcapngEpbHeaderSize) + l.captured + l.padding + 4;
  png::Store32(out, kPcapngEpbType);
  png::Store32(out + 4, l.total_length);
  png::Store32(out + 8, 0);  // interface id
  png::StoreTimestamp(out + 12, timestamp_ns);
  png::Store32(out + 20, l.captured);
  png::Store32(out + 24, wire_len < l.captured ? l.captured : wire_len);
  return l;
}

// Writes what follows the packet bytes: the padding zeros and the block total length again.
// Returns how many bytes that is (4 to 7).
inline size_t SerializePcapngEpbTail(const PcapngEpbLayout& l, uint8_t out[kPcapngEpbMaxTailSize]) {
  std::memset(out, 0, l.padding);
  pcapng_internal::Store32(out + l.padding, l.total_length);
  return l.padding + 4;
}

// What an Interface Statistics Block reports for interface 0 (§4.6); counters left empty are
// not written.
struct PcapngInterfaceStats {
  int64_t timestamp_ns = 0;            // when the counts were taken
  std::optional<int64_t> start_ns;     // isb_starttime: capture start
  std::optional<int64_t> end_ns;       // isb_endtime: capture end
  std::optional<uint64_t> received;    // isb_ifrecv: packets the interface received
  std::optional<uint64_t> if_dropped;  // isb_ifdrop: dropped for lack of resources (the ring)
  std::optional<uint64_t> os_dropped;  // isb_osdrop: dropped by the operating system
};

inline size_t PcapngIsbSize(const PcapngInterfaceStats& s) {
  const size_t n = (s.start_ns ? 1 : 0) + (s.end_ns ? 1 : 0) + (s.received ? 1 : 0) +
                   (s.if_dropped ? 1 : 0) + (s.os_dropped ? 1 : 0);
  return 20 + n * pcapng_internal::OptionSize(8) + (n > 0 ? 4 : 0) + 4;
}
inline size_t SerializePcapngIsb(const PcapngInterfaceStats& s, uint8_t* out) {
  namespace png = pcapng_internal;
  const size_t total = PcapngIsbSize(s);
  png::Store32(out, kPcapngIsbType);
  png::Store32(out + 4, static_cast<uint32_t>(total));
  png::Store32(out + 8, 0);  // interface id
  png::StoreTimestamp(out + 12, s.timestamp_ns);
  size_t off = 20;
  uint8_t v[8];
  auto put_ts = [&](uint16_t code, int64_t ts) {
    png::StoreTimestamp(v, ts);
    off += png::PutOption(out + off, code, v, 8);
  };
  auto put_count = [&](uint16_t code, uint64_t c) {
    png::Store64(v, c);
    off += png::PutOption(out + off, code, v, 8);
  };
  if (s.start_ns) put_ts(kPcapngIsbStartTime, *s.start_ns);
  if (s.end_ns) put_ts(kPcapngIsbEndTime, *s.end_ns);
  if (s.received) put_count(kPcapngIsbIfRecv, *s.received);
  if (s.if_dropped) put_count(kPcapngIsbIfDrop, *s.if_dropped);
  if (s.os_dropped) put_count(kPcapngIsbOsDrop, *s.os_dropped);
  if (off > 20) off += png::PutEnd(out + off);
  png::Store32(out + off, static_cast<uint32_t>(total));
  return total;
}

// Appends the SHB (shb_userappl "pktkit") and the IDB to a byte container
// (std::string, std::vector<uint8_t>): what a pcapng file starts with.
template <typename Container>
void AppendPcapngFileHeader(LinkType link_type, uint32_t snaplen, std::string_view if_name,
                            Container* out) {
  const size_t at = out->size();
  const size_t shb = PcapngShbSize("pktkit");
  out->resize(at + shb + PcapngIdbSize(if_name));
  auto* p = reinterpret_cast<uint8_t*>(&(*out)[at]);  // byte containers only
  SerializePcapngShb("pktkit", p);
  SerializePcapngIdb(link_type, snaplen, if_name, p + shb);
}

// Appends one EPB (header, the bytes cut to snaplen, padding, trailer) to a byte container.
template <typename Container>
void AppendPcapngEpb(ByteSpan data, uint32_t wire_len, int64_t timestamp_ns, uint32_t snaplen,
                     Container* out) {
  uint8_t h[kPcapngEpbHeaderSize];
  uint8_t t[kPcapngEpbMaxTailSize];
  const PcapngEpbLayout l = SerializePcapngEpbHeader(timestamp_ns, data.size, wire_len, snaplen, h);
  const size_t tn = SerializePcapngEpbTail(l, t);
  out->insert(out->end(), h, h + sizeof h);
  out->insert(out->end(), data.data, data.data + l.captured);
  out->insert(out->end(), t, t + tn);
}

// Appends an ISB to a byte container.
template <typename Container>
void AppendPcapngIsb(const PcapngInterfaceStats& s, Container* out) {
  const size_t at = out->size();
  out->resize(at + PcapngIsbSize(s));
  SerializePcapngIsb(s, reinterpret_cast<uint8_t*>(&(*out)[at]));
}

}  // namespace pktkit

#endif  // PKTKIT_IO_PCAPNG_RECORD_H_
