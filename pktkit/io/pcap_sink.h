// pktkit/io/pcap_sink.h — the pcap writer as a PacketSink: a regular file (written under a
// temporary name and renamed into place when the run succeeds), a FIFO, a device, or stdout
// ("-"). Nanosecond pcap of any link type, with the record codec of pktkit/io/pcap_record.h,
// or pcapng (o.format = PcapSinkOptions::Format::kPcapng: SHB, one IDB with if_tsresol = 9 and
// o.if_name, an EPB per packet, an ISB at Close after SetInterfaceStats; codec:
// pktkit/io/pcapng_record.h), written the same ways.
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
// FIFOs: by default (FifoMode::kWaitForReader) the open waits for a reader (on_fifo_wait says
// so first) and a reader leaving is a write error (EPIPE), as with tcpdump -w. With
// FifoMode::kKeepAlive the sink never waits for a reader and survives readers coming and going:
//
//   o.fifo_mode = pktkit::PcapSinkOptions::FifoMode::kKeepAlive;
//   o.on_fifo_reader = [](const std::string& p, bool r) { /* say once: reader there or not */ };
//
// with no reader, records are dropped and counted (dropped_no_reader) instead of stalling the
// pipeline; each Write tries the FIFO again (one open(2) per batch while nobody reads). A reader
// that appears gets a fresh file header first (reader_opens). A reader that goes away (EPIPE,
// or POLLERR seen before a write or at Flush) is counted (reader_gone) and the FIFO closed, which
// also discards what it left unread, so the next reader starts with a header. A record is never
// torn for a reader that keeps reading: the fd is non-blocking, a partial write (records are
// larger than PIPE_BUF) is finished after poll(POLLOUT). A reader that takes nothing for
// fifo_stall_ms while the pipe is full is left behind (reader_stalled) so that the pipeline never
// waits longer for it: its stream ends where it stopped (possibly inside a record), later records
// are dropped and counted, and the FIFO stays held until that reader goes away, so that no later
// reader joins its half-written pipe; the next reader then starts with a header. What cannot be
// seen: a reader replaced by another between two writes or flushes (the kernel keeps one pipe
// while the sink holds it open) joins the old stream; RunOptions::flush_on_tick narrows that
// to one tick. FIFO writes never raise SIGPIPE, ignored or not (it is blocked for the write
// and consumed). Not thread-safe: share it between threads through pktkit/io/shared_sink.h.
// Reference: pcap-savefile(5), fifo(7), pipe(7), writev(2), rename(2).
#ifndef PKTKIT_IO_PCAP_SINK_H_
#define PKTKIT_IO_PCAP_SINK_H_

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/clock.h"
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
  // Regular files: write "<path>.pktkit-XXXXXX" and rename it to `path` in Close(commit=true).
  bool atomic_rename = true;
  std::function<void(const std::string& path)> on_fifo_wait;  // a FIFO has no reader yet
  // kWaitForReader: open waits for a reader; a reader leaving is an error (EPIPE).
  // kKeepAlive: no waiting; records without a reader are dropped and counted; readers may
  // come and go, each starts with a fresh file header (see the top of this file).
  enum class FifoMode : uint8_t { kWaitForReader, kKeepAlive };
  FifoMode fifo_mode = FifoMode::kWaitForReader;
  // kKeepAlive: called on every change, so a tool says it once: `reader` false at Open without
  // a reader and when one goes away or is left behind, true when one is met (header written).
  std::function<void(const std::string& path, bool reader)> on_fifo_reader;
  // kKeepAlive: how long a full FIFO may hold up a write before its reader is left behind
  // (0: wait as long as the reader takes).
  int64_t fifo_stall_ms = 2000;
};

struct PcapSinkStats {
  uint64_t packets = 0;             // records the kernel accepted
  uint64_t bytes = 0;               // packet bytes in them (record headers not counted)
  uint64_t link_type_mismatch = 0;  // skipped: link type differs from the file's
  uint64_t write_errors = 0;        // records lost in a failed write
  uint64_t writes = 0;              // write(2)/writev(2) calls
  // FifoMode::kKeepAlive only:
  uint64_t dropped_no_reader = 0;  // records dropped: no reader, or it went away before them
  uint64_t reader_opens = 0;       // readers met (each got a file header)
  uint64_t reader_gone = 0;        // readers that went away (EPIPE or POLLERR)
  uint64_t reader_stalled = 0;     // readers left behind: nothing read for fifo_stall_ms
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
    if (absl::Status st = s->Prepare(); !st.ok()) return st;
    if (!options.link_type_from_first_packet) {
      if (absl::Status st = s->Create(options.link_type); !st.ok()) return st;
    }
    return s;
  }

  ~PcapSink() override { Close(/*commit=*/false).IgnoreError(); }
  PcapSink(const PcapSink&) = delete;
  PcapSink& operator=(const PcapSink&) = delete;

  absl::Status Write(const PacketBatch& batch) override {
    if (closed_) return absl::FailedPreconditionError(absl::StrCat("pcap ", path_, " is closed"));
    if (!error_.ok()) return error_;
    if (batch.empty()) return absl::OkStatus();
    if (!created_) {
      if (absl::Status st = Create(batch[0].link_type); !st.ok()) return st;
    }
    if (keep_alive_) {
      CheckReader();
      if (stalled_ || (fd_ < 0 && !OpenFifoReader())) {
        if (!error_.ok()) return error_;
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
    if (!error_.ok()) return error_;
    if (keep_alive_) CheckReader();
    if (fd_ < 0 || buf_.empty()) return absl::OkStatus();
    if (stalled_) {  // nothing more for a reader left behind
      stats_.dropped_no_reader += buf_pending_;
      DropBuffer();
      return absl::OkStatus();
    }
    iovec iov{buf_.data(), buf_.size()};
    bool written = false;
    absl::Status st = WriteAll(&iov, 1, buf_pending_, &written);
    buf_.clear();
    if (written) {
      stats_.packets += buf_pending_;
      stats_.bytes += buf_pending_bytes_;
    }
    buf_pending_ = 0;
    buf_pending_bytes_ = 0;
    return st;
  }

  // Flushes and closes. A regular file written under a temporary name is renamed to the
  // requested path when `commit` (and nothing failed), else removed, so a failed run leaves
  // an existing file of that name as it was. stdout is flushed, not closed. Safe to call twice;
  // returns the first error of the sink's life.
  absl::Status Close(bool commit = true) {
    if (closed_) return error_;
    if (!created_ && commit && error_.ok()) error_ = Create(options_.link_type);
    if (ng_ && isb_ && commit && fd_ >= 0 && error_.ok()) AppendPcapngIsb(*isb_, &buf_);
    absl::Status st = Flush();
    if (fd_ >= 0 && fd_ != STDOUT_FILENO) {
      if (close(fd_) != 0 && st.ok()) {
        st = absl::ErrnoToStatus(errno, absl::StrCat("close(", WrittenName(), ")"));
        if (error_.ok()) error_ = st;
      }
    }
    fd_ = -1;
    closed_ = true;
    if (!temp_path_.empty()) {
      if (commit && error_.ok()) {
        if (rename(temp_path_.c_str(), path_.c_str()) != 0) {
          error_ =
              absl::ErrnoToStatus(errno, absl::StrCat("rename(", temp_path_, ", ", path_, ")"));
          unlink(temp_path_.c_str());
        }
      } else {
        unlink(temp_path_.c_str());
      }
      temp_path_.clear();
    }
    return error_;
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
  const std::string& path() const { return path_; }
  // Whether the output is open (for a kKeepAlive FIFO: whether a reader is there and served).
  bool is_open() const { return fd_ >= 0 && !stalled_; }
  LinkType link_type() const { return link_type_; }

 private:
  PcapSink(std::string path, const PcapSinkOptions& o)
      : path_(std::move(path)), options_(o), ng_(o.format == PcapSinkOptions::Format::kPcapng) {}

  std::string WrittenName() const { return temp_path_.empty() ? path_ : temp_path_; }

  // Decides how `path` is written and fails early when it cannot be (a missing directory).
  absl::Status Prepare() {
    if (path_ == "-") {
      kind_ = Kind::kStdout;
      return absl::OkStatus();
    }
    struct stat st;
    if (stat(path_.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot write capture ", path_, ": is a directory"));
      }
      kind_ = S_ISFIFO(st.st_mode)  ? Kind::kFifo
              : S_ISREG(st.st_mode) ? Kind::kRegular
                                    : Kind::kOther;
    } else {
      kind_ = Kind::kRegular;
    }
    keep_alive_ =
        kind_ == Kind::kFifo && options_.fifo_mode == PcapSinkOptions::FifoMode::kKeepAlive;
    if (kind_ == Kind::kRegular) {
      const std::string dir = DirName(path_);
      if (access(dir.c_str(), W_OK) != 0) {
        return absl::ErrnoToStatus(errno, absl::StrCat("cannot write capture ", path_, ": ", dir));
      }
    }
    return absl::OkStatus();
  }

  static std::string DirName(const std::string& p) {
    const size_t slash = p.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : p.substr(0, slash);
  }

  absl::Status Create(LinkType lt) {
    link_type_ = lt;
    created_ = true;
    if (keep_alive_) {  // without a reader, records are dropped until one comes
      if (!OpenFifoReader() && error_.ok()) SayReader(false);
      return error_;
    }
    switch (kind_) {
      case Kind::kStdout:
        fd_ = STDOUT_FILENO;
        break;
      case Kind::kRegular:
        if (options_.atomic_rename) {
          std::string tmpl = path_ + ".pktkit-XXXXXX";
          const int fd = mkostemp(tmpl.data(), O_CLOEXEC);
          if (fd < 0) return Fail(errno, absl::StrCat("cannot write capture ", path_));
          fchmod(fd, 0644);  // mkostemp makes 0600; a capture is as readable as tcpdump's
          fd_ = fd;
          temp_path_ = tmpl;
        } else {
          fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        }
        break;
      case Kind::kFifo:
        fd_ = open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd_ < 0 && errno == ENXIO) {  // no reader yet: say so, then wait for one
          if (options_.on_fifo_wait) options_.on_fifo_wait(path_);
          fd_ = open(path_.c_str(), O_WRONLY | O_CLOEXEC);
        } else if (fd_ >= 0) {
          fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_NONBLOCK);  // whole records: block
        }
        break;
      case Kind::kOther:
        fd_ = open(path_.c_str(), O_WRONLY | O_CLOEXEC);
        break;
    }
    if (fd_ < 0) return Fail(errno, absl::StrCat("cannot write capture ", path_));
    return WriteFileHeader(nullptr);
  }

  // pcap: the 24-byte file header; pcapng: the SHB and the IDB (both below PIPE_BUF, so a
  // FIFO's reader gets them whole in one write).
  absl::Status WriteFileHeader(bool* written) {
    std::vector<uint8_t> h;
    if (ng_) {
      AppendPcapngFileHeader(link_type_, options_.snaplen, options_.if_name, &h);
    } else {
      AppendPcapFileHeader(link_type_, options_.snaplen, &h);
    }
    iovec iov{h.data(), h.size()};
    bool ok = false;
    absl::Status st = WriteAll(&iov, 1, 0, &ok);
    if (written != nullptr) *written = ok;
    return st;
  }

  // kKeepAlive: opens the FIFO if a reader is there (a non-blocking open for writing fails with
  // ENXIO otherwise: fifo(7)) and writes the file header. The fd stays non-blocking: WriteAll
  // finishes partial writes after poll. Returns whether a reader is there now.
  bool OpenFifoReader() {
    const int fd = open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (errno != ENXIO) {
        Fail(errno, absl::StrCat("cannot write capture ", path_)).IgnoreError();
      }
      return false;
    }
    fd_ = fd;
    bool written = false;
    if (!WriteFileHeader(&written).ok() || !written) return false;  // gone again already
    ++stats_.reader_opens;
    SayReader(true);
    return true;
  }

  // kKeepAlive: a reader that left shows as POLLERR on the write end (pipe(7)). Closing then
  // frees the pipe and what it left unread, so the next reader starts with a header.
  void CheckReader() {
    if (fd_ < 0) return;
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
      ReaderGone(buf_pending_);  // what is buffered was meant for it
      DropBuffer();
    }
  }

  void DropBuffer() {
    buf_.clear();
    buf_pending_ = 0;
    buf_pending_bytes_ = 0;
  }

  void ReaderGone(uint64_t records) {
    close(fd_);
    fd_ = -1;
    stalled_ = false;
    stats_.dropped_no_reader += records;
    ++stats_.reader_gone;
    SayReader(false);
  }

  // kKeepAlive: true once a write has waited fifo_stall_ms without a byte taken (`since`: when
  // the wait began, -1 before), after leaving the reader behind with `records` dropped.
  bool LeaveStalledReader(int64_t* since, uint64_t records) {
    if (!keep_alive_ || options_.fifo_stall_ms <= 0) return false;
    const int64_t now = MonotonicMs();
    if (*since < 0) *since = now;
    if (now - *since < options_.fifo_stall_ms) return false;
    stalled_ = true;
    stats_.dropped_no_reader += records;
    ++stats_.reader_stalled;
    SayReader(false);
    return true;
  }

  void SayReader(bool reader) {  // once per change
    if (said_reader_ == (reader ? 1 : 0)) return;
    said_reader_ = reader ? 1 : 0;
    if (options_.on_fifo_reader) options_.on_fifo_reader(path_, reader);
  }

  absl::Status Fail(int err, const std::string& what) {
    if (error_.ok()) error_ = absl::ErrnoToStatus(err, what);
    return error_;
  }

  // Writes every byte of `iov` (partial writes and EINTR resumed; EAGAIN on a non-blocking
  // stdout or FIFO waits in poll, so a record is finished, never torn). `records` is how many
  // records the bytes hold: counted as write errors if they are lost, or as dropped_no_reader
  // when a kKeepAlive FIFO's reader went away (OK returned, the FIFO closed). `*written` tells
  // whether the bytes went out.
  absl::Status WriteAll(iovec* iov, int count, uint64_t records, bool* written = nullptr) {
    if (written != nullptr) *written = false;
    int64_t stall_since = -1;
    while (count > 0) {
      ++stats_.writes;
      ssize_t n;
      int err;
      if (kind_ == Kind::kFifo) {
        n = FifoWrite(iov, count, &err);
      } else {
        n = count == 1 ? write(fd_, iov->iov_base, iov->iov_len) : writev(fd_, iov, count);
        err = errno;  // before anything else can change it
      }
      if (n < 0) {
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) {
          if (LeaveStalledReader(&stall_since, records)) return absl::OkStatus();
          pollfd p{fd_, POLLOUT, 0};
          poll(&p, 1, keep_alive_ ? 50 : 1000);
          continue;
        }
        if (err == EPIPE && keep_alive_) {
          ReaderGone(records);
          return absl::OkStatus();
        }
        stats_.write_errors += records;
        return Fail(err, absl::StrCat("writing capture ", WrittenName()));
      }
      stall_since = -1;
      size_t done = static_cast<size_t>(n);
      while (count > 0 && done >= iov->iov_len) {
        done -= iov->iov_len;
        ++iov;
        --count;
      }
      if (count > 0) {
        iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + done;
        iov->iov_len -= done;
      }
    }
    if (written != nullptr) *written = true;
    return absl::OkStatus();
  }

  // write/writev to a FIFO that never raises SIGPIPE, whether the program ignores it or not:
  // SIGPIPE is blocked in this thread for the call and the one the call raised is consumed
  // (the signal is thread-directed for a write(2): it is pending only here). One check of
  // SIGPIPE's disposition per call skips all that where it is ignored.
  ssize_t FifoWrite(const iovec* iov, int count, int* err) {
    struct sigaction sa;
    if (sigaction(SIGPIPE, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN) {
      const ssize_t n =
          count == 1 ? write(fd_, iov->iov_base, iov->iov_len) : writev(fd_, iov, count);
      *err = errno;
      return n;
    }
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    const ssize_t n =
        count == 1 ? write(fd_, iov->iov_base, iov->iov_len) : writev(fd_, iov, count);
    *err = errno;
    if (n < 0 && *err == EPIPE && !was_pending) {
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return n;
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
      if (fd_ < 0 || stalled_) {  // a kKeepAlive FIFO's reader went away or was left behind
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
      if (fd_ < 0 || stalled_) {  // a kKeepAlive FIFO's reader went away or was left behind
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
      if (absl::Status st = WriteAll(iov_.data(), static_cast<int>(iovs), records, &written);
          !st.ok()) {
        return st;
      }
      if (!written) continue;  // a kKeepAlive FIFO's reader went away (fd_ < 0 now)
      stats_.packets += records;
      stats_.bytes += bytes;
    }
    return absl::OkStatus();
  }

  enum class Kind : uint8_t { kStdout, kRegular, kFifo, kOther };

  std::string path_;
  PcapSinkOptions options_;
  bool ng_;  // pcapng
  std::optional<PcapngInterfaceStats> isb_;
  Kind kind_ = Kind::kRegular;
  int fd_ = -1;
  std::string temp_path_;
  bool closed_ = false;
  bool created_ = false;     // Create() ran: the link type is fixed
  bool keep_alive_ = false;  // a FIFO in FifoMode::kKeepAlive
  bool stalled_ = false;     // kKeepAlive: the reader was left behind (fd_ held until it goes)
  int said_reader_ = -1;     // on_fifo_reader's last word: -1 none yet, 0 no reader, 1 reader
  LinkType link_type_ = LinkType::kEthernet;
  absl::Status error_;
  std::vector<uint8_t> buf_;
  uint64_t buf_pending_ = 0;
  uint64_t buf_pending_bytes_ = 0;
  std::vector<uint8_t> headers_;
  std::vector<iovec> iov_;
  PcapSinkStats stats_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_PCAP_SINK_H_
