// pktkit/io/pcap_sink.h — the pcap writer as a PacketSink: what is written. Nanosecond pcap of
// any link type, with the record codec of pktkit/io/pcap_record.h, or pcapng (o.format =
// PcapSinkOptions::Format::kPcapng: SHB, one IDB with if_tsresol = 9 and o.if_name, an EPB per
// packet, an ISB at Close after SetInterfaceStats; codec: pktkit/io/pcapng_record.h). Where it
// goes — a regular file (written under a temporary name and renamed into place when the run
// succeeds), a FIFO whose readers may come and go, a device, or stdout ("-") — is
// pktkit/io/capture_output.h's part, which PcapSink drives.
//
//   pktkit::PcapSinkOptions o;
//   o.link_type = pktkit::LinkType::kEthernet;
//   auto sink = pktkit::PcapSink::Open("out.pcap", o);   // creates out.pcap.pktkit-XXXXXX
//   if (!sink.ok()) return sink.status();
//   absl::Status s = pktkit::RunPipeline(source, transforms, **sink, stop, {}, nullptr);
//   absl::Status c = (*sink)->Close(/*commit=*/s.ok());  // renamed to out.pcap, or removed
//
// Honest counting: stats().packets counts only records the kernel accepted (a write(2) that
// returned); records lost in a failed write are counted as dropped (write_errors), and the
// error (with the real errno, e.g. "No space left on device" on /dev/full) ends the run.
// Packets whose link type differs from the file's are counted (link_type_mismatch) and
// skipped. Two ways of writing (bench/io/pcap_sink_benchmark compares them): kBuffered copies
// records into a large buffer written in one call; kWritev hands the kernel each record header
// and the packet bytes in place (no copy in user space); kAuto (the default) picks per batch.
// FIFOs (fifo_mode, on_fifo_wait, on_fifo_reader, fifo_stall_ms; the semantics are
// capture_output.h's): by default the open waits for a reader and a reader leaving is an error
// (EPIPE), as with tcpdump -w. With FifoMode::kKeepAlive the sink never waits for a reader:
//
//   o.fifo_mode = pktkit::PcapSinkOptions::FifoMode::kKeepAlive;
//   o.on_fifo_reader = [](const std::string& p, bool r) { /* say once: reader there or not */ };
//
// with no reader, records are dropped and counted (dropped_no_reader) instead of stalling the
// pipeline; a reader that appears gets a fresh file header first (reader_opens); one that goes
// away (reader_gone) or takes nothing for fifo_stall_ms (reader_stalled) is left, and what was
// buffered for it is dropped and counted. Flush notices a reader that went away, so
// RunOptions::flush_on_tick keeps that within one tick. Not thread-safe: share it between
// threads through pktkit/io/shared_sink.h.
// Reference: pcap-savefile(5), draft-ietf-opsawg-pcapng (§4.1-4.3, §4.6), writev(2).
#ifndef PKTKIT_IO_PCAP_SINK_H_
#define PKTKIT_IO_PCAP_SINK_H_

#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/capture_output.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/pcap_record.h"
#include "pktkit/io/pcapng_record.h"
#include "pktkit/io/sink.h"

namespace pktkit {

struct PcapSinkOptions {
  // kAuto: batches of small packets (mean below auto_writev_bytes) are buffered, batches of
  // large ones written with writev (bench/io/pcap_sink_benchmark: copying wins up to 1500 B,
  // handing the kernel the packet bytes in place wins at 9000 B).
  enum class Method : uint8_t { kAuto, kBuffered, kWritev };
  // kPcap: pcap-savefile(5), nanosecond magic. kPcapng: one section, one interface
  // (if_tsresol = 9), an EPB per packet (pktkit/io/pcapng_record.h).
  enum class Format : uint8_t { kPcap, kPcapng };
  Format format = Format::kPcap;
  std::string if_name;  // pcapng: the interface's if_name option (empty: none)
  LinkType link_type = LinkType::kEthernet;
  // The file's link type is the first packet's (GENEVE carries Ethernet or raw IP); the file
  // is created then (or at Close, with link_type, when no packet came).
  bool link_type_from_first_packet = false;
  uint32_t snaplen = kPcapDefaultSnaplen;
  Method method = Method::kAuto;
  size_t auto_writev_bytes = 4096;
  size_t buffer_bytes = 256 * 1024;  // kBuffered: bytes held before a write
  // Where the bytes go: pktkit/io/capture_output.h (CaptureOutputOptions) says what each does.
  // Regular files: write "<path>.pktkit-XXXXXX" and rename it to `path` in Close(commit=true).
  bool atomic_rename = true;
  std::function<void(const std::string& path)> on_fifo_wait;  // a FIFO has no reader yet
  // kWaitForReader: open waits for a reader; a reader leaving is an error (EPIPE).
  // kKeepAlive: no waiting; records without a reader are dropped and counted; readers may
  // come and go, each starts with a fresh file header.
  using FifoMode = CaptureOutputOptions::FifoMode;
  FifoMode fifo_mode = FifoMode::kWaitForReader;
  // kKeepAlive: called on every change, so a tool says it once: `reader` false at Open without
  // a reader and when one goes away or is left behind, true when one is met (header written).
  std::function<void(const std::string& path, bool reader)> on_fifo_reader;
  // kKeepAlive: how long a full FIFO may hold up a write before its reader is left behind
  // (0: wait as long as the reader takes).
  int64_t fifo_stall_ms = 2000;
};

// The output's counters (CaptureOutputStats: write_errors, writes, and for kKeepAlive FIFOs
// dropped_no_reader, reader_opens, reader_gone, reader_stalled) and the writer's own.
struct PcapSinkStats : CaptureOutputStats {
  uint64_t packets = 0;             // records the kernel accepted
  uint64_t bytes = 0;               // packet bytes in them (record headers not counted)
  uint64_t link_type_mismatch = 0;  // skipped: link type differs from the file's
};

// Parses a format name as programs spell it on the command line: "pcap" or "pcapng".
inline bool ParsePcapFormat(const std::string& name, PcapSinkOptions::Format* out) {
  if (name == "pcap") {
    *out = PcapSinkOptions::Format::kPcap;
  } else if (name == "pcapng") {
    *out = PcapSinkOptions::Format::kPcapng;
  } else {
    return false;
  }
  return true;
}

// True when `a` and `b` name the same existing file (same device and inode), so that writing
// `b` would destroy `a`.
inline bool IsSameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (a == "-" || b == "-" || stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0) {
    return false;
  }
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

class PcapSink : public PacketSink {
 public:
  // Checks that `path` can be written and, unless the link type waits for the first packet,
  // creates the file (its temporary name) and writes the file header. Errors name the path
  // and carry the errno of the failing call.
  static absl::StatusOr<std::unique_ptr<PcapSink>> Open(const std::string& path,
                                                        const PcapSinkOptions& options) {
    std::unique_ptr<PcapSink> s(new PcapSink(path, options));
    if (absl::Status st = s->output_.Prepare(); !st.ok()) return st;
    if (!options.link_type_from_first_packet) {
      if (absl::Status st = s->Create(options.link_type); !st.ok()) return st;
    }
    return s;
  }

  ~PcapSink() override { Close(/*commit=*/false).IgnoreError(); }
  PcapSink(const PcapSink&) = delete;
  PcapSink& operator=(const PcapSink&) = delete;

  absl::Status Write(const PacketBatch& batch) override {
    if (output_.closed()) {
      return absl::FailedPreconditionError(absl::StrCat("pcap ", path(), " is closed"));
    }
    if (!output_.error().ok()) return output_.error();
    if (batch.empty()) return absl::OkStatus();
    if (!output_.created()) {
      if (absl::Status st = Create(batch[0].link_type); !st.ok()) return st;
    }
    if (output_.keep_alive()) {
      if (output_.CheckReader(buf_pending_)) DropBuffer();  // it was meant for that reader
      if (!output_.ServeReader()) {
        if (!output_.error().ok()) return output_.error();
        for (const PacketView& p : batch) {
          if (Accept(p)) ++stats_.dropped_no_reader;
        }
        return absl::OkStatus();
      }
    }
    switch (options_.method) {
      case PcapSinkOptions::Method::kBuffered:
        return WriteBuffered(batch);
      case PcapSinkOptions::Method::kWritev:
        return WriteVectored(batch);
      case PcapSinkOptions::Method::kAuto:
        break;
    }
    uint64_t bytes = 0;
    for (const PacketView& p : batch) bytes += p.caplen;
    if (bytes < uint64_t{options_.auto_writev_bytes} * batch.size) return WriteBuffered(batch);
    if (absl::Status st = Flush(); !st.ok()) return st;  // keep the order of records
    return WriteVectored(batch);
  }

  // kKeepAlive FIFO: also notices a reader that went away (so call it when idle, e.g. with
  // RunOptions::flush_on_tick).
  absl::Status Flush() override {
    if (!output_.error().ok()) return output_.error();
    if (output_.CheckReader(buf_pending_)) DropBuffer();
    if (buf_.empty()) return absl::OkStatus();
    if (!output_.is_open()) {  // nothing more for a reader left behind (or gone)
      stats_.dropped_no_reader += buf_pending_;
      DropBuffer();
      return absl::OkStatus();
    }
    iovec iov{buf_.data(), buf_.size()};
    bool written = false;
    absl::Status st = output_.WriteAll(&iov, 1, buf_pending_, &written);
    if (written) {
      stats_.packets += buf_pending_;
      stats_.bytes += buf_pending_bytes_;
    }
    DropBuffer();
    return st;
  }

  // Flushes and closes. A regular file written under a temporary name is renamed to the
  // requested path when `commit` (and nothing failed), else removed, so a failed run leaves
  // an existing file of that name as it was. stdout is flushed, not closed. Safe to call twice;
  // returns the first error of the sink's life.
  absl::Status Close(bool commit = true) {
    if (output_.closed()) return output_.error();
    if (!output_.created() && commit && output_.error().ok()) {
      Create(options_.link_type).IgnoreError();  // kept as output_.error()
    }
    if (ng_ && isb_ && commit && output_.is_open() && output_.error().ok()) {
      AppendPcapngIsb(*isb_, &buf_);
    }
    Flush().IgnoreError();  // kept as output_.error()
    return output_.Close(commit);
  }

  SinkStats stats() const override {
    SinkStats s;
    s.packets = stats_.packets;
    s.bytes = stats_.bytes;
    s.dropped = stats_.link_type_mismatch + stats_.write_errors + stats_.dropped_no_reader;
    return s;
  }
  const PcapSinkStats& pcap_stats() const { return stats_; }
  // pcapng: an Interface Statistics Block with these counts (e.g. the ring's drops as
  // if_dropped) ends the file at a committed Close. Ignored for pcap, which has no place for it.
  void SetInterfaceStats(const PcapngInterfaceStats& s) { isb_ = s; }
  const std::string& path() const { return output_.path(); }
  // Whether the output is open (for a kKeepAlive FIFO: whether a reader is there and served).
  bool is_open() const { return output_.is_open(); }
  LinkType link_type() const { return link_type_; }

 private:
  PcapSink(std::string path, const PcapSinkOptions& o)
      : options_(o),
        ng_(o.format == PcapSinkOptions::Format::kPcapng),
        output_(std::move(path), OutputOptions(o), &stats_) {}

  static CaptureOutputOptions OutputOptions(const PcapSinkOptions& o) {
    CaptureOutputOptions c;
    c.atomic_rename = o.atomic_rename;
    c.on_fifo_wait = o.on_fifo_wait;
    c.fifo_mode = o.fifo_mode;
    c.on_fifo_reader = o.on_fifo_reader;
    c.fifo_stall_ms = o.fifo_stall_ms;
    return c;
  }

  // Fixes the link type and opens the output with the file header: pcap's 24 bytes, or
  // pcapng's SHB and IDB (both below PIPE_BUF, so a FIFO's reader gets them whole in one
  // write). A kKeepAlive FIFO writes the same header again for every reader it meets.
  absl::Status Create(LinkType lt) {
    link_type_ = lt;
    std::vector<uint8_t> h;
    if (ng_) {
      AppendPcapngFileHeader(link_type_, options_.snaplen, options_.if_name, &h);
    } else {
      AppendPcapFileHeader(link_type_, options_.snaplen, &h);
    }
    return output_.Create(std::move(h));
  }

  void DropBuffer() {
    buf_.clear();
    buf_pending_ = 0;
    buf_pending_bytes_ = 0;
  }

  bool Accept(const PacketView& p) {
    if (p.link_type == link_type_) return true;
    ++stats_.link_type_mismatch;
    return false;
  }

  absl::Status WriteBuffered(const PacketBatch& batch) {
    if (buf_.capacity() < options_.buffer_bytes) buf_.reserve(options_.buffer_bytes);
    const size_t framing =
        ng_ ? kPcapngEpbHeaderSize + kPcapngEpbMaxTailSize : kPcapRecordHeaderSize;
    for (const PacketView& p : batch) {
      if (!Accept(p)) continue;
      const size_t n = p.caplen < options_.snaplen ? p.caplen : options_.snaplen;
      if (buf_.size() + framing + n > options_.buffer_bytes && !buf_.empty()) {
        if (absl::Status st = Flush(); !st.ok()) return st;
      }
      if (!output_.is_open()) {  // a kKeepAlive FIFO's reader went away or was left behind
        ++stats_.dropped_no_reader;
        continue;
      }
      if (ng_) {
        AppendPcapngEpb(p.bytes(), p.wire_len, p.timestamp_ns, options_.snaplen, &buf_);
      } else {
        AppendPcapRecord(p.bytes(), p.wire_len, p.timestamp_ns, options_.snaplen, &buf_);
      }
      ++buf_pending_;
      buf_pending_bytes_ += n;
    }
    if (buf_.size() >= options_.buffer_bytes) return Flush();
    return absl::OkStatus();
  }

  // pcap: per record, the header and the packet bytes in place; pcapng: the EPB header, the
  // packet bytes in place, the padding and trailing length (one iovec).
  absl::Status WriteVectored(const PacketBatch& batch) {
    static constexpr size_t kMaxIov = IOV_MAX < 1024 ? IOV_MAX : 1024;
    static constexpr size_t kSlot = kPcapngEpbHeaderSize + 8;  // room for either framing
    const size_t max_records = ng_ ? kMaxIov / 3 : kMaxIov / 2;
    if (headers_.size() < kMaxIov / 2 * kSlot) {
      headers_.resize(kMaxIov / 2 * kSlot);
      iov_.resize(kMaxIov);
    }
    size_t i = 0;
    while (i < batch.size) {
      if (!output_.is_open()) {  // a kKeepAlive FIFO's reader went away or was left behind
        for (; i < batch.size; ++i) {
          if (Accept(batch[i])) ++stats_.dropped_no_reader;
        }
        break;
      }
      size_t records = 0, iovs = 0;
      uint64_t bytes = 0;
      for (; i < batch.size && records < max_records; ++i) {
        const PacketView& p = batch[i];
        if (!Accept(p)) continue;
        uint8_t* h = headers_.data() + records * kSlot;
        size_t n;
        if (ng_) {
          const PcapngEpbLayout l =
              SerializePcapngEpbHeader(p.timestamp_ns, p.caplen, p.wire_len, options_.snaplen, h);
          n = l.captured;
          iov_[iovs++] = iovec{h, kPcapngEpbHeaderSize};
          // writev takes non-const bases; the kernel only reads them.
          if (n > 0) iov_[iovs++] = iovec{const_cast<uint8_t*>(p.data), n};
          uint8_t* t = h + kPcapngEpbHeaderSize;
          iov_[iovs++] = iovec{t, SerializePcapngEpbTail(l, t)};
        } else {
          n = SerializePcapRecordHeader(p.timestamp_ns, p.caplen, p.wire_len, options_.snaplen, h);
          iov_[iovs++] = iovec{h, kPcapRecordHeaderSize};
          if (n > 0) iov_[iovs++] = iovec{const_cast<uint8_t*>(p.data), n};
        }
        ++records;
        bytes += n;
      }
      if (records == 0) break;
      bool written = false;
      if (absl::Status st =
              output_.WriteAll(iov_.data(), static_cast<int>(iovs), records, &written);
          !st.ok()) {
        return st;
      }
      if (!written) continue;  // a kKeepAlive FIFO's reader went away (output_ closed it)
      stats_.packets += records;
      stats_.bytes += bytes;
    }
    return absl::OkStatus();
  }

  PcapSinkOptions options_;
  bool ng_;  // pcapng
  std::optional<PcapngInterfaceStats> isb_;
  LinkType link_type_ = LinkType::kEthernet;
  PcapSinkStats stats_;  // before output_, which counts into it
  CaptureOutput output_;
  std::vector<uint8_t> buf_;  // kBuffered: records not yet written
  uint64_t buf_pending_ = 0;
  uint64_t buf_pending_bytes_ = 0;
  std::vector<uint8_t> headers_;  // kWritev: record headers and pcapng tails
  std::vector<iovec> iov_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_PCAP_SINK_H_
