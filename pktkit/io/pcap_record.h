// pktkit/io/pcap_record.h — the pcap savefile codec: the 24-byte file header and the 16-byte
// record header, nanosecond precision, any link type (LINKTYPE_ETHERNET, LINKTYPE_RAW,
// LINKTYPE_NFLOG, ...). The one writer-side codec of pktkit: the pcap sink
// (pktkit/io/pcap_sink.h) and the NFLOG receiver's stream and query window build their bytes
// with it.
//
//   uint8_t fh[pktkit::kPcapFileHeaderSize];
//   pktkit::SerializePcapFileHeader(pktkit::LinkType::kNflog, 262144, fh);
//   uint8_t rh[pktkit::kPcapRecordHeaderSize];
//   size_t n = pktkit::SerializePcapRecordHeader(ts_ns, caplen, wire_len, snaplen, rh);
//   // then write rh followed by the first n packet bytes
//
//   std::string window;                                      // or std::vector<uint8_t>
//   pktkit::AppendPcapFileHeader(pktkit::LinkType::kNflog, 262144, &window);
//   pktkit::AppendPcapRecord(bytes, wire_len, ts_ns, 262144, &window);
//
// Fields are written in this host's byte order with the nanosecond magic 0xa1b23c4d, as
// libpcap writes them; every reader (libpcap, Wireshark, Zeek) detects the order by the magic.
// No allocation except in the Append helpers, no syscalls, no Abseil.
// Reference: pcap-savefile(5); draft-ietf-opsawg-pcap §4–5.
#ifndef PKTKIT_IO_PCAP_RECORD_H_
#define PKTKIT_IO_PCAP_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/link_type.h"

namespace pktkit {

inline constexpr uint32_t kPcapMagicNano = 0xa1b23c4d;  // nanosecond timestamps
inline constexpr uint16_t kPcapVersionMajor = 2;
inline constexpr uint16_t kPcapVersionMinor = 4;
inline constexpr size_t kPcapFileHeaderSize = 24;
inline constexpr size_t kPcapRecordHeaderSize = 16;
inline constexpr uint32_t kPcapDefaultSnaplen = 262144;

namespace internal {
inline void StoreHost32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void StoreHost16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
}  // namespace internal

// Writes the file header: magic, version 2.4, thiszone 0, sigfigs 0, snaplen, link type
// (the LINKTYPE_* value, which is what files hold).
inline void SerializePcapFileHeader(LinkType link_type, uint32_t snaplen,
                                    uint8_t out[kPcapFileHeaderSize]) {
  internal::StoreHost32(out, kPcapMagicNano);
  internal::StoreHost16(out + 4, kPcapVersionMajor);
  internal::StoreHost16(out + 6, kPcapVersionMinor);
  internal::StoreHost32(out + 8, 0);   // thiszone
  internal::StoreHost32(out + 12, 0);  // sigfigs
  internal::StoreHost32(out + 16, snaplen);
  internal::StoreHost32(out + 20, static_cast<uint32_t>(link_type));
}

// Writes one record header and returns how many packet bytes follow it: `caplen` cut to
// `snaplen`. The original length is kept (never below what is written). Timestamps before
// the epoch are normalised to a non-negative nanosecond part.
inline size_t SerializePcapRecordHeader(int64_t timestamp_ns, size_t caplen, uint32_t wire_len,
                                        uint32_t snaplen, uint8_t out[kPcapRecordHeaderSize]) {
  const uint32_t n = caplen < snaplen ? static_cast<uint32_t>(caplen) : snaplen;
  int64_t sec = timestamp_ns / 1000000000;
  int64_t nsec = timestamp_ns % 1000000000;
  if (nsec < 0) {
    nsec += 1000000000;
    --sec;
  }
  internal::StoreHost32(out, static_cast<uint32_t>(sec));
  internal::StoreHost32(out + 4, static_cast<uint32_t>(nsec));
  internal::StoreHost32(out + 8, n);
  internal::StoreHost32(out + 12, wire_len < n ? n : wire_len);
  return n;
}

// Appends the file header to a byte container (std::string, std::vector<uint8_t>).
template <typename Container>
void AppendPcapFileHeader(LinkType link_type, uint32_t snaplen, Container* out) {
  uint8_t h[kPcapFileHeaderSize];
  SerializePcapFileHeader(link_type, snaplen, h);
  out->insert(out->end(), h, h + sizeof h);
}

// Appends one record (header, then the bytes cut to snaplen) to a byte container.
template <typename Container>
void AppendPcapRecord(ByteSpan data, uint32_t wire_len, int64_t timestamp_ns, uint32_t snaplen,
                      Container* out) {
  uint8_t h[kPcapRecordHeaderSize];
  const size_t n = SerializePcapRecordHeader(timestamp_ns, data.size, wire_len, snaplen, h);
  out->insert(out->end(), h, h + sizeof h);
  out->insert(out->end(), data.data, data.data + n);
}

}  // namespace pktkit

#endif  // PKTKIT_IO_PCAP_RECORD_H_
