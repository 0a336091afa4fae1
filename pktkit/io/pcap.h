// pktkit/io/pcap.h — capture files through libpcap, as packet views.
//
// PcapReader reads pcap or pcapng (any link type libpcap reads) with nanosecond timestamps and
// an optional BPF filter, and hands out batches of PacketView (it implements PacketSource).
// PcapWriter writes nanosecond-precision pcap to a file, a FIFO or stdout ("-"), one packet at a
// time, through the pcap sink (pktkit/io/pcap_sink.h) — the one writer.
//
//   auto reader = pktkit::PcapReader::Open("in.pcap");
//   auto writer = pktkit::PcapWriter::Open("-", (*reader)->link_type());
//   while (true) {
//     auto batch = (*reader)->NextBatch(0);
//     if (absl::IsOutOfRange(batch.status())) break;
//     if (!batch.ok()) return batch.status();
//     for (const pktkit::PacketView& p : *batch) (*writer)->Write(p).IgnoreError();
//   }
//   (*writer)->Close();
//
// Views point into the reader's own buffer and stay valid until the next NextBatch() or
// ReleaseBatch(). Errors come back as absl::Status and name the file. A write to a FIFO whose
// reader left fails with an error status (EPIPE) and never raises SIGPIPE (the sink blocks it
// for FIFO writes); stdout into a pipe raises it unless the program ignores it, as
// tools/common/signals.h does. For a FIFO that outlives its readers use PcapSink's
// FifoMode::kKeepAlive (pktkit/io/pcap_sink.h).
// Reference: pcap-savefile(5), pcap_open_offline_with_tstamp_precision(3PCAP).
#ifndef PKTKIT_IO_PCAP_H_
#define PKTKIT_IO_PCAP_H_

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/pcap_sink.h"
#include "pktkit/io/source.h"

namespace pktkit {

// libpcap's API speaks DLT_* values; files and pktkit speak LINKTYPE_* values. They are equal
// except for a few historical ones, of which raw IP matters here (DLT_RAW is 12 or 14).
inline int LinkTypeToDlt(LinkType lt) {
  return lt == LinkType::kRaw ? DLT_RAW : static_cast<int>(lt);
}
inline LinkType DltToLinkType(int dlt) {
  return dlt == DLT_RAW ? LinkType::kRaw : static_cast<LinkType>(dlt);
}

class PcapReader : public PacketSource {
 public:
  static constexpr size_t kMaxBatch = 64;

  // Opens `path` (pcap or pcapng). `bpf`, if not empty, is compiled for the file's link type
  // and applied by libpcap. Errors: NotFound/InvalidArgument with libpcap's message.
  static absl::StatusOr<std::unique_ptr<PcapReader>> Open(const std::string& path,
                                                          const std::string& bpf = "") {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read capture ", path, ": ", errbuf));
    }
    std::unique_ptr<PcapReader> r(new PcapReader(p, path));
    if (!bpf.empty()) {
      bpf_program prog;
      if (pcap_compile(p, &prog, bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad filter expression '", bpf, "': ", pcap_geterr(p)));
      }
      const int rc = pcap_setfilter(p, &prog);
      pcap_freecode(&prog);
      if (rc != 0) {
        return absl::InternalError(absl::StrCat("pcap_setfilter on ", path, ": ", pcap_geterr(p)));
      }
    }
    return r;
  }

  ~PcapReader() override {
    if (pcap_ != nullptr) pcap_close(pcap_);
  }
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;

  LinkType link_type() const { return DltToLinkType(pcap_datalink(pcap_)); }
  uint32_t snaplen() const { return static_cast<uint32_t>(pcap_snapshot(pcap_)); }
  uint64_t packets_read() const { return packets_read_; }
  const std::string& path() const { return path_; }

  // Reads up to kMaxBatch packets (timeout_ms is ignored: files never wait). OutOfRange at
  // the end; DataLoss for a truncated or corrupt file, after the packets before the damage
  // were handed out, with the count read so far in the message.
  absl::StatusOr<PacketBatch> NextBatch(int /*timeout_ms*/) override {
    ReleaseBatch();
    if (!pending_error_.ok()) return pending_error_;
    size_t n = 0;
    arena_.clear();
    while (n < kMaxBatch) {
      pcap_pkthdr* hdr = nullptr;
      const u_char* data = nullptr;
      const int rc = pcap_next_ex(pcap_, &hdr, &data);
      if (rc == 1) {
        offsets_[n] = arena_.size();
        arena_.insert(arena_.end(), data, data + hdr->caplen);
        PacketView& v = views_[n];
        v = PacketView();
        v.caplen = hdr->caplen;
        v.wire_len = hdr->len;
        // With nanosecond precision libpcap stores nanoseconds in tv_usec.
        v.timestamp_ns = static_cast<int64_t>(hdr->ts.tv_sec) * 1000000000 + hdr->ts.tv_usec;
        v.ts_source = TimestampSource::kFile;
        v.link_type = link_type();
        ++n;
        ++packets_read_;
        continue;
      }
      if (rc == PCAP_ERROR_BREAK) {
        pending_error_ = absl::OutOfRangeError(absl::StrCat("end of ", path_));
      } else {
        pending_error_ =
            absl::DataLossError(absl::StrCat("capture ", path_, " is damaged after ", packets_read_,
                                             " packets: ", pcap_geterr(pcap_)));
      }
      break;
    }
    if (n == 0) return pending_error_;
    for (size_t i = 0; i < n; ++i) views_[i].data = arena_.data() + offsets_[i];
    return PacketBatch{views_, n};
  }

  void ReleaseBatch() override {}

 private:
  PcapReader(pcap_t* p, std::string path) : pcap_(p), path_(std::move(path)) {}

  pcap_t* pcap_;
  std::string path_;
  std::vector<uint8_t> arena_;
  size_t offsets_[kMaxBatch] = {};
  PacketView views_[kMaxBatch];
  uint64_t packets_read_ = 0;
  absl::Status pending_error_;
};

// Writes one packet at a time: a thin front of PcapSink (pktkit/io/pcap_sink.h), so there is
// one pcap writer in pktkit. The file is created at Open (no temporary name); write errors carry
// the errno of the failing call; packets_written() counts records that reached the file.
class PcapWriter {
 public:
  // Opens `path` for writing ("-" is stdout; a FIFO blocks until its reader opens it, as
  // open(2) does). Timestamps are written with nanosecond precision.
  static absl::StatusOr<std::unique_ptr<PcapWriter>> Open(const std::string& path, LinkType lt,
                                                          uint32_t snaplen = 262144) {
    PcapSinkOptions o;
    o.link_type = lt;
    o.snaplen = snaplen;
    o.atomic_rename = false;
    o.method = PcapSinkOptions::Method::kBuffered;
    absl::StatusOr<std::unique_ptr<PcapSink>> s = PcapSink::Open(path, o);
    if (!s.ok()) return s.status();
    return std::unique_ptr<PcapWriter>(new PcapWriter(std::move(*s)));
  }

  ~PcapWriter() { Close().IgnoreError(); }
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Writes one record (buffered); bytes beyond the snap length are cut (the wire length is
  // kept). An error means the file cannot be written any more.
  absl::Status Write(ByteSpan bytes, uint32_t wire_len, int64_t timestamp_ns) {
    PacketView v;
    v.data = bytes.data;
    v.caplen = static_cast<uint32_t>(bytes.size);
    v.wire_len = wire_len;
    v.timestamp_ns = timestamp_ns;
    v.link_type = sink_->link_type();
    return sink_->Write(PacketBatch{&v, 1});
  }
  absl::Status Write(const PacketView& p) { return Write(p.bytes(), p.wire_len, p.timestamp_ns); }

  absl::Status Flush() { return sink_->Flush(); }

  // Flushes and closes (stdout is flushed, not closed). Safe to call twice.
  absl::Status Close() { return sink_->Close(/*commit=*/true); }

  uint64_t packets_written() const { return sink_->stats().packets; }
  const std::string& path() const { return sink_->path(); }

 private:
  explicit PcapWriter(std::unique_ptr<PcapSink> sink) : sink_(std::move(sink)) {}
  std::unique_ptr<PcapSink> sink_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_PCAP_H_
