// pktkit/io/capture_output.h — where a capture writer's bytes go: a regular file (written under
// "<path>.pktkit-XXXXXX" and renamed into place when the run succeeds, else removed), a FIFO, a
// device, or stdout ("-"). It writes what it is given, whole, and counts honestly; what the
// bytes are (pcap, pcapng) is the writer's business (pktkit/io/pcap_sink.h).
//
//   pktkit::CaptureOutputStats stats;
//   pktkit::CaptureOutput out("out.pcap", pktkit::CaptureOutputOptions{}, &stats);
//   absl::Status s = out.Prepare();            // is the directory writable?
//   if (s.ok()) s = out.Create(file_header);   // creates out.pcap.pktkit-XXXXXX, writes it
//   iovec iov[2] = {{rec_header, 16}, {packet, caplen}};
//   bool written = false;                      // count the record only if written
//   if (s.ok() && out.ServeReader()) s = out.WriteAll(iov, 2, /*records=*/1, &written);
//   absl::Status c = out.Close(/*commit=*/s.ok());  // renamed to out.pcap, or removed
//
// Honest counting: `records` given to WriteAll are the caller's to count as written only when
// WriteAll says `written` (the kernel accepted every byte); records lost in a failed write are
// counted (write_errors) and the error (with the real errno, e.g. "No space left on device" on
// /dev/full) is kept (error()) and returned by every later WriteAll and Close. Partial writes
// and EINTR are resumed; EAGAIN (a non-blocking stdout or FIFO) waits in poll, so a record is
// finished, never torn.
// FIFOs: by default (FifoMode::kWaitForReader) Create waits for a reader (on_fifo_wait says so
// first) and a reader leaving is a write error (EPIPE), as with tcpdump -w. FifoMode::kKeepAlive
// never waits and survives readers coming and going (on_fifo_reader says so on each change).
// With no reader, ServeReader() is false and the caller drops its records and counts them
// (dropped_no_reader) instead of stalling; each ServeReader() tries again (one open(2) per call
// while nobody reads). A reader that appears gets Create's file header first (reader_opens).
// One that goes away (EPIPE in WriteAll, or POLLERR seen by CheckReader) is counted
// (reader_gone) and the FIFO closed, which discards what it left unread, so the next reader
// starts with a header. A reader that keeps reading never sees a torn record: the fd is
// non-blocking and a partial write (records are larger than PIPE_BUF) is finished after
// poll(POLLOUT). One that takes nothing for fifo_stall_ms while the pipe is full is left behind
// (reader_stalled) so that the pipeline never waits longer for it: its stream ends where it
// stopped (possibly inside a record), later records are dropped and counted, and the FIFO is
// held until that reader goes, so that no later reader joins its half-written pipe. What cannot
// be seen: a reader replaced by another between two CheckReader calls (the kernel keeps one
// pipe while the output holds it open) joins the old stream; calling CheckReader when idle
// (PcapSink::Flush on RunOptions::flush_on_tick) narrows that to one tick. FIFO writes never
// raise SIGPIPE, ignored or not (it is blocked for the write and consumed). Not thread-safe.
// Reference: fifo(7), pipe(7), writev(2), rename(2), mkostemp(3).
#ifndef PKTKIT_IO_CAPTURE_OUTPUT_H_
#define PKTKIT_IO_CAPTURE_OUTPUT_H_

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/clock.h"

namespace pktkit {

struct CaptureOutputOptions {
  // kWaitForReader: Create waits for a reader; a reader leaving is an error (EPIPE).
  // kKeepAlive: no waiting; readers may come and go, each starts with the file header.
  enum class FifoMode : uint8_t { kWaitForReader, kKeepAlive };
  // Regular files: write "<path>.pktkit-XXXXXX" and rename it to `path` in Close(commit=true).
  bool atomic_rename = true;
  std::function<void(const std::string& path)> on_fifo_wait;  // a FIFO has no reader yet
  FifoMode fifo_mode = FifoMode::kWaitForReader;
  // kKeepAlive: called on every change, so a tool says it once: `reader` false at Create
  // without a reader and when one goes away or is left behind, true when one is met (header
  // written).
  std::function<void(const std::string& path, bool reader)> on_fifo_reader;
  // kKeepAlive: how long a full FIFO may hold up a write before its reader is left behind
  // (0: wait as long as the reader takes).
  int64_t fifo_stall_ms = 2000;
};

struct CaptureOutputStats {
  uint64_t write_errors = 0;  // records lost in a failed write
  uint64_t writes = 0;        // write(2)/writev(2) calls
  // FifoMode::kKeepAlive only:
  uint64_t dropped_no_reader = 0;  // records dropped: no reader, or it went away before them
  uint64_t reader_opens = 0;       // readers met (each got a file header)
  uint64_t reader_gone = 0;        // readers that went away (EPIPE or POLLERR)
  uint64_t reader_stalled = 0;     // readers left behind: nothing read for fifo_stall_ms
};

class CaptureOutput {
 public:
  // Counts into `*stats` (not owned, must outlive this; nullptr: counts of its own, stats()).
  CaptureOutput(std::string path, CaptureOutputOptions options, CaptureOutputStats* stats)
      : path_(std::move(path)),
        options_(std::move(options)),
        stats_(stats != nullptr ? stats : &own_stats_) {}
  ~CaptureOutput() { Close(/*commit=*/false).IgnoreError(); }
  CaptureOutput(const CaptureOutput&) = delete;
  CaptureOutput& operator=(const CaptureOutput&) = delete;

  // Decides how `path` is written (stdout, regular file, FIFO, other) and fails early when it
  // cannot be: a directory (FailedPrecondition), a directory that is missing or not writable
  // (the errno of access(2)). Opens nothing.
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
        kind_ == Kind::kFifo && options_.fifo_mode == CaptureOutputOptions::FifoMode::kKeepAlive;
    if (kind_ == Kind::kRegular) {
      const std::string dir = DirName(path_);
      if (access(dir.c_str(), W_OK) != 0) {
        return absl::ErrnoToStatus(errno, absl::StrCat("cannot write capture ", path_, ": ", dir));
      }
    }
    return absl::OkStatus();
  }

  // Opens the output (after Prepare) and writes `file_header`, which is kept: a kKeepAlive
  // FIFO writes it again for every reader it meets. A kWaitForReader FIFO blocks here until a
  // reader opens it; a kKeepAlive FIFO without a reader is no error (ServeReader() is false).
  // Errors name the path and carry the errno; they are kept (error()).
  absl::Status Create(std::vector<uint8_t> file_header) {
    header_ = std::move(file_header);
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
    return WriteHeader(nullptr);
  }

  // kKeepAlive: a reader that left shows as POLLERR on the write end (pipe(7)). Then the FIFO is
  // closed (which frees the pipe and what it left unread, so the next reader starts with a
  // header), `pending_records` the caller holds for it are counted as dropped_no_reader, and
  // true returned: the caller discards them. False otherwise (always for other outputs).
  bool CheckReader(uint64_t pending_records) {
    if (!keep_alive_ || fd_ < 0) return false;
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
      ReaderGone(pending_records);
      return true;
    }
    return false;
  }

  // kKeepAlive: whether records can go to a reader now, opening the FIFO (and writing the file
  // header) when a new reader is there. False while nobody reads or while a reader left behind
  // holds the FIFO: the caller drops its records and counts them (dropped_no_reader); a failed
  // open(2) other than "no reader" is kept as error(). Other outputs: whether open.
  bool ServeReader() {
    if (!keep_alive_) return fd_ >= 0;
    if (stalled_) return false;
    return fd_ >= 0 || OpenFifoReader();
  }

  // Writes every byte of `iov` (partial writes and EINTR resumed; EAGAIN on a non-blocking
  // stdout or FIFO waits in poll, so a record is finished, never torn). Consumes `iov` (bases
  // and lengths are advanced). `records` is how many records the bytes hold: counted as
  // write_errors if they are lost (the error is returned and kept), or as dropped_no_reader when
  // a kKeepAlive FIFO's reader went away or was left behind (OK returned). `*written` tells
  // whether the bytes went out. FailedPrecondition when not open (before Create, after Close).
  absl::Status WriteAll(iovec* iov, int count, uint64_t records, bool* written = nullptr) {
    if (written != nullptr) *written = false;
    if (!error_.ok()) return error_;
    if (fd_ < 0 || stalled_) {
      if (keep_alive_ && created_ && !closed_) {
        stats_->dropped_no_reader += records;
        return absl::OkStatus();
      }
      return absl::FailedPreconditionError(absl::StrCat("capture ", path_, " is not open"));
    }
    int64_t stall_since = -1;
    while (count > 0) {
      ++stats_->writes;
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
        stats_->write_errors += records;
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

  // Closes (stdout is left open). A regular file written under a temporary name is renamed to
  // `path` when `commit` (and nothing failed), else removed, so a failed run leaves an existing
  // file of that name as it was. Safe to call twice; returns the first error of the output's
  // life (a failed close(2) or rename(2) included).
  absl::Status Close(bool commit) {
    if (closed_) return error_;
    if (fd_ >= 0 && fd_ != STDOUT_FILENO) {
      if (close(fd_) != 0 && error_.ok()) {
        error_ = absl::ErrnoToStatus(errno, absl::StrCat("close(", WrittenName(), ")"));
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

  const std::string& path() const { return path_; }
  // The first error of the output's life (OK while none).
  const absl::Status& error() const { return error_; }
  bool created() const { return created_; }  // Create() ran
  bool closed() const { return closed_; }
  bool keep_alive() const { return keep_alive_; }  // a FIFO in FifoMode::kKeepAlive
  // Whether the output is open (for a kKeepAlive FIFO: whether a reader is there and served).
  bool is_open() const { return fd_ >= 0 && !stalled_; }
  const CaptureOutputStats& stats() const { return *stats_; }

 private:
  enum class Kind : uint8_t { kStdout, kRegular, kFifo, kOther };

  std::string WrittenName() const { return temp_path_.empty() ? path_ : temp_path_; }

  static std::string DirName(const std::string& p) {
    const size_t slash = p.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : p.substr(0, slash);
  }

  // The file header (a pcap header, a pcapng SHB and IDB: below PIPE_BUF, so a FIFO's reader
  // gets it whole in one write). It is copied because WriteAll consumes its iovec.
  absl::Status WriteHeader(bool* written) {
    iovec iov{header_.data(), header_.size()};
    return WriteAll(&iov, 1, 0, written);
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
    if (!WriteHeader(&written).ok() || !written) return false;  // gone again already
    ++stats_->reader_opens;
    SayReader(true);
    return true;
  }

  void ReaderGone(uint64_t records) {
    close(fd_);
    fd_ = -1;
    stalled_ = false;
    stats_->dropped_no_reader += records;
    ++stats_->reader_gone;
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
    stats_->dropped_no_reader += records;
    ++stats_->reader_stalled;
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

  std::string path_;
  CaptureOutputOptions options_;
  CaptureOutputStats own_stats_;
  CaptureOutputStats* stats_;  // own_stats_ or the caller's
  Kind kind_ = Kind::kRegular;
  int fd_ = -1;
  std::string temp_path_;
  std::vector<uint8_t> header_;  // written first, and again for every kKeepAlive reader
  bool created_ = false;
  bool closed_ = false;
  bool keep_alive_ = false;  // a FIFO in FifoMode::kKeepAlive
  bool stalled_ = false;     // kKeepAlive: the reader was left behind (fd_ held until it goes)
  int said_reader_ = -1;     // on_fifo_reader's last word: -1 none yet, 0 no reader, 1 reader
  absl::Status error_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_CAPTURE_OUTPUT_H_
