// tools/nflog/pcap_sink.h — the receiver's pcap output: a stream to stdout, a file or a FIFO
// that survives its reader going away and coming back, and the in-memory window of recent
// traffic that nflog-pcap-query fetches.
//
//   auto sink = PcapStreamSink::Open("/run/nflog.fifo", LinkType::kNflog);
//   (*sink)->Write(record, record.size, ts_ns);   // buffered, whole records only
//   (*sink)->Flush();                             // once per poll-loop round
//
// FIFO behaviour: the FIFO is opened non-blocking, so with no reader records are dropped and
// counted (dropped_no_reader) instead of stalling the stream. When the reader goes away (EPIPE)
// the sink closes it, counts reader_gone, and on the next write reopens it and starts with a
// fresh pcap header — a new reader never sees a torn record or a missing header.
// pktkit/io/pcap.h's PcapWriter is used for files by the other tools; this sink exists because
// libpcap's dumper cannot reopen a FIFO without blocking. The bytes come from the core's record
// codec (pktkit/io/pcap_record.h). Format: pcap-savefile(5), nanosecond.
#ifndef PKTKIT_TOOLS_NFLOG_PCAP_SINK_H_
#define PKTKIT_TOOLS_NFLOG_PCAP_SINK_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/pcap_record.h"
#include "pktkit/wire/bytes.h"
#include "pktkit/wire/link_type.h"

namespace pktkit::nflog {

struct SinkStats {
  uint64_t written = 0;            // records handed to the kernel
  uint64_t dropped_no_reader = 0;  // records dropped while the FIFO had no reader
  uint64_t reader_gone = 0;        // EPIPE seen
  uint64_t reopens = 0;            // FIFO opened again with a fresh header
  uint64_t write_errors = 0;       // other write errors (records dropped)
};

class PcapStreamSink {
 public:
  static constexpr size_t kFlushBytes = 256 * 1024;

  static absl::StatusOr<std::unique_ptr<PcapStreamSink>> Open(const std::string& path, LinkType lt,
                                                              uint32_t snaplen = 262144) {
    std::unique_ptr<PcapStreamSink> s(new PcapStreamSink(path, lt, snaplen));
    if (path == "-") {
      s->fd_ = STDOUT_FILENO;
    } else {
      struct stat st;
      s->fifo_ = stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
      if (!s->fifo_) {
        s->fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (s->fd_ < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open(", path, ")"));
      }
    }
    if (s->fd_ >= 0) AppendPcapFileHeader(lt, snaplen, &s->buf_);
    return s;
  }
  ~PcapStreamSink() {
    Flush();
    if (fd_ > STDERR_FILENO) close(fd_);
  }

  // Buffers one record; flushes when the buffer is full.
  void Write(ByteSpan data, uint32_t wire_len, int64_t ts_ns) {
    if (fd_ < 0 && !TryOpenFifo()) {
      ++stats_.dropped_no_reader;
      if (!said_waiting_) {  // once per episode without a reader, never per record
        std::fprintf(stderr,
                     "nflog-pcap-recv: waiting for a reader on FIFO %s (records are dropped "
                     "and counted as no_reader until one opens it)\n",
                     path_.c_str());
        said_waiting_ = true;
      }
      return;
    }
    AppendPcapRecord(data, wire_len, ts_ns, snaplen_, &buf_);
    ++buffered_;
    if (buf_.size() >= kFlushBytes) Flush();
  }

  // Writes what is buffered. On EPIPE the FIFO is closed and the buffered records counted
  // as dropped; the next Write reopens it.
  void Flush() {
    if (fd_ < 0 || buf_.empty()) return;
    size_t off = 0;
    while (off < buf_.size()) {
      const ssize_t n = write(fd_, buf_.data() + off, buf_.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;  // finish the record: never leave one torn
        if (errno == EPIPE && fifo_) {
          ++stats_.reader_gone;
          close(fd_);
          fd_ = -1;
        } else {
          ++stats_.write_errors;
        }
        stats_.dropped_no_reader += buffered_;
        buf_.clear();
        buffered_ = 0;
        return;
      }
      off += static_cast<size_t>(n);
    }
    stats_.written += buffered_;
    buf_.clear();
    buffered_ = 0;
  }

  const SinkStats& stats() const { return stats_; }
  bool connected() const { return fd_ >= 0; }

 private:
  PcapStreamSink(std::string path, LinkType lt, uint32_t snaplen)
      : path_(std::move(path)), lt_(lt), snaplen_(snaplen) {}

  // Opens the FIFO if a reader is there (a non-blocking open fails with ENXIO otherwise: one
  // cheap syscall per record while nobody reads, so a returning reader gets the very next one).
  bool TryOpenFifo() {
    if (!fifo_) return false;
    const int fd = open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return false;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // whole records: block on write
    fd_ = fd;
    if (said_waiting_) {
      std::fprintf(stderr, "nflog-pcap-recv: a reader opened FIFO %s: writing\n", path_.c_str());
      said_waiting_ = false;
    }
    if (opened_once_) ++stats_.reopens;
    opened_once_ = true;
    buf_.clear();
    buffered_ = 0;
    AppendPcapFileHeader(lt_, snaplen_, &buf_);
    return true;
  }

  std::string path_;
  LinkType lt_;
  uint32_t snaplen_;
  bool fifo_ = false;
  bool opened_once_ = false;
  bool said_waiting_ = false;  // the "waiting for a reader" line was printed for this episode
  int fd_ = -1;
  std::string buf_;
  uint64_t buffered_ = 0;
  SinkStats stats_;
};

// Keeps the most recent records, up to max_bytes of record data, for queries.
class RecentWindow {
 public:
  explicit RecentWindow(size_t max_bytes) : max_bytes_(max_bytes) {}
  void Add(ByteSpan data, uint32_t wire_len, int64_t ts_ns) {
    if (max_bytes_ == 0 || data.size > max_bytes_) return;
    entries_.push_back(Entry{ts_ns, wire_len, std::string(data.begin(), data.end())});
    bytes_ += data.size;
    while (bytes_ > max_bytes_) {
      bytes_ -= entries_.front().bytes.size();
      entries_.pop_front();
    }
  }
  // The window as a complete pcap file.
  std::string Dump(LinkType lt, uint32_t snaplen) const {
    std::string out;
    out.reserve(24 + bytes_ + 16 * entries_.size());
    AppendPcapFileHeader(lt, snaplen, &out);
    for (const Entry& e : entries_) {
      AppendPcapRecord(ByteSpan(reinterpret_cast<const uint8_t*>(e.bytes.data()), e.bytes.size()),
                       e.wire_len, e.ts_ns, snaplen, &out);
    }
    return out;
  }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int64_t ts_ns;
    uint32_t wire_len;
    std::string bytes;
  };
  size_t max_bytes_;
  size_t bytes_ = 0;
  std::deque<Entry> entries_;
};

}  // namespace pktkit::nflog

#endif  // PKTKIT_TOOLS_NFLOG_PCAP_SINK_H_
