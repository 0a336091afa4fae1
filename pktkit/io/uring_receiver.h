// pktkit/io/uring_receiver.h — UDP tunnel receiver on io_uring: ONE multishot recvmsg
// (io_uring_prep_recvmsg_multishot, kernel >= 6.0) that picks its buffers from a provided-buffer
// ring (io_uring_register_buf_ring, kernel >= 5.19); where those are missing (or with
// options.uring_multishot = false) one io_uring recvmsg per slot, re-submitted at ReleaseBatch;
// backend() says which ("io_uring-multishot" / "io_uring-recvmsg"). Each completion is one datagram
// in one provided buffer laid out as io_uring_recvmsg_out | name | control | payload; buffers go
// back to the ring at ReleaseBatch. A completion without IORING_CQE_F_MORE ended the multishot (for
// example on ENOBUFS when all buffers are handed out): it is re-armed and counted.
//
// Re-arm policy: every receive handed back is re-armed or reported. A re-arm whose
// io_uring_submit fails transiently (EINTR, EAGAIN, EBUSY) stays queued and is retried at the
// next NextBatch (counted in stats().submit_retries); any other submit failure is returned by
// NextBatch as a status. Every datagram the kernel completed is counted: handed out, truncated,
// malformed, or bad_completions (a completion whose buffer cannot be read).
//
//   auto r = pktkit::UringReceiver::Create(std::move(socket), pktkit::UdpReceiverOptions());
//   if (!r.ok()) { /* io_uring unavailable: the status says why; use RecvmmsgReceiver */ }
//
// Built against liburing 2.3 (Debian 12); io_uring_setup_buf_ring (2.4) is not used: the ring
// memory is mmap'ed here. Errors come back as status, never abort().
// References: io_uring_prep_recvmsg_multishot(3), io_uring_register_buf_ring(3),
// io_uring_recvmsg_out(3), liburing 2.3.
#ifndef PKTKIT_IO_URING_RECEIVER_H_
#define PKTKIT_IO_URING_RECEIVER_H_

#include <liburing.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/udp_receiver.h"
#include "pktkit/io/udp_socket.h"

namespace pktkit {

class UringReceiver : public UdpReceiver {
 public:
  static constexpr int kBufferGroup = 0;

  static absl::StatusOr<std::unique_ptr<UringReceiver>> Create(UdpSocket socket,
                                                               const UdpReceiverOptions& o) {
    const size_t n = o.uring_buffers;
    if (n == 0 || n > 32768 || (n & (n - 1)) != 0) {
      return absl::InvalidArgumentError("io_uring receiver: buffer count must be a power of two");
    }
    std::unique_ptr<UringReceiver> r(new UringReceiver(std::move(socket), o));
    // COOP_TASKRUN (5.19+): completions are processed at our next kernel entry instead of
    // interrupting this thread for each datagram. CQSIZE: room for a completion per provided
    // buffer twice over, so a receiver that fell behind (every buffer filled) never pushes the
    // kernel into its completion-overflow path (the default CQ is 2 x 64 = 128 entries, half
    // the 256 buffers). Older kernels: plain set-up.
    io_uring_params params;
    std::memset(&params, 0, sizeof params);
    params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE;
    params.cq_entries = static_cast<uint32_t>(n < 64 ? 128 : 2 * n);
    int qe = io_uring_queue_init_params(64, &r->ring_, &params);
    if (qe == -EINVAL) qe = io_uring_queue_init(64, &r->ring_, 0);
    if (qe < 0) {
      return absl::ErrnoToStatus(-qe, "io_uring unavailable (io_uring_queue_init)");
    }
    r->ring_ok_ = true;
    if (!o.uring_multishot) return StartSingleShot(std::move(r));
    r->br_bytes_ = n * sizeof(io_uring_buf);
    void* mem =
        mmap(nullptr, r->br_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return absl::ErrnoToStatus(errno, "io_uring buffer ring mmap");
    r->br_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(r->br_);
    io_uring_buf_reg reg;
    std::memset(&reg, 0, sizeof reg);
    reg.ring_addr = reinterpret_cast<uint64_t>(r->br_);
    reg.ring_entries = static_cast<uint32_t>(n);
    reg.bgid = kBufferGroup;
    const int rr = io_uring_register_buf_ring(&r->ring_, &reg, 0);
    if (rr < 0) {  // kernel < 5.19: no provided-buffer rings, so no multishot either
      r->fallback_reason_ = absl::StrCat("provided-buffer ring unavailable (", strerror(-rr), ")");
      return StartSingleShot(std::move(r));
    }
    r->registered_ = true;
    for (size_t i = 0; i < n; ++i) r->AddBuffer(static_cast<uint16_t>(i), static_cast<int>(i));
    io_uring_buf_ring_advance(r->br_, static_cast<int>(n));
    r->rearm_ = true;
    if (absl::Status s = r->Arm(); !s.ok()) return s;  // transient: retried at NextBatch
    return r;
  }

  ~UringReceiver() override {
    if (registered_) io_uring_unregister_buf_ring(&ring_, kBufferGroup);
    if (ring_ok_) io_uring_queue_exit(&ring_);
    if (br_ != nullptr) munmap(br_, br_bytes_);
  }

  const char* backend() const override {
    return single_shot_ ? "io_uring-recvmsg" : "io_uring-multishot";
  }
  const SocketAddress& local_address() const override { return socket_.local_address(); }
  // Why the multishot path is not used (empty when it is).
  const std::string& fallback_reason() const { return fallback_reason_; }

  absl::StatusOr<PacketBatch> NextBatch(int timeout_ms) override {
    ReleaseBatch();
    if (single_shot_) return NextSingleShot(timeout_ms);
    if (rearm_) {
      if (absl::Status s = Arm(); !s.ok()) return s;
      if (!rearm_) ++stats_.rearms;
    }
    const int rc = WaitForCompletion(timeout_ms);
    if (rc == -EAGAIN || rc == -ETIME || rc == -EINTR) return PacketBatch();
    if (rc < 0) return absl::ErrnoToStatus(-rc, "io_uring wait");
    const int64_t user_ns = NowNs();
    io_uring_cqe* cqes[256];
    const size_t want = options_.batch_size < 256 ? options_.batch_size : 256;
    const unsigned got = io_uring_peek_batch_cqe(&ring_, cqes, static_cast<unsigned>(want));
    size_t out = 0;
    absl::Status error;
    for (unsigned i = 0; i < got; ++i) {
      const io_uring_cqe* c = cqes[i];
      if (c->res == -EINVAL && stats_.datagrams == 0 && !ever_received_) {
        // Kernel < 6.0: no multishot recvmsg. Switch to one recvmsg per slot.
        io_uring_cq_advance(&ring_, got);
        fallback_reason_ = "multishot recvmsg unsupported (EINVAL)";
        if (absl::Status st = SubmitAllSlots(); !st.ok()) return st;
        return PacketBatch();
      }
      if (HandleMultishotCompletion(*c, user_ns, &views_[out], &error)) ++out;
    }
    io_uring_cq_advance(&ring_, got);
    if (out == 0 && !error.ok()) return error;
    return PacketBatch{views_.data(), out};
  }

  void ReleaseBatch() override {
    if (held_.empty()) return;
    if (single_shot_) {
      // Re-arm the slots; a submit that fails here is retried (or reported) by NextBatch.
      unarmed_.insert(unarmed_.end(), held_.begin(), held_.end());
      held_.clear();
      RearmSlots();
      return;
    }
    int k = 0;
    for (uint16_t bid : held_) AddBuffer(bid, k++);
    io_uring_buf_ring_advance(br_, k);
    held_.clear();
  }

 private:
  UringReceiver(UdpSocket s, const UdpReceiverOptions& o)
      : UdpReceiver(o),
        socket_(std::move(s)),
        buf_size_(sizeof(io_uring_recvmsg_out) + sizeof(sockaddr_storage) + kControlBytes +
                  o.max_datagram),
        buffers_(o.uring_buffers * buf_size_),
        views_(o.batch_size) {
    std::memset(&msg_, 0, sizeof msg_);
    msg_.msg_namelen = sizeof(sockaddr_storage);
    msg_.msg_controllen = kControlBytes;
    held_.reserve(o.uring_buffers);
  }

  friend class UringReceiverTestPeer;  // tests/io: injects submit failures and completions

  uint8_t* BufferAt(uint16_t bid) { return buffers_.data() + static_cast<size_t>(bid) * buf_size_; }

  // io_uring_submit, or the error a test injected (the queued entries stay queued, as after a
  // real failure, and go out with the next successful submit).
  int Submit() {
    if (inject_submit_errno_ != 0) return -inject_submit_errno_;
    return io_uring_submit(&ring_);
  }
  static bool TransientSubmitError(int rc) { return rc == -EINTR || rc == -EAGAIN || rc == -EBUSY; }

  // One multishot completion: fills *v and returns true for a datagram to hand out; counts
  // everything else (ENOBUFS, errors into *error, datagrams it cannot read) and holds the buffer
  // of every datagram until ReleaseBatch.
  bool HandleMultishotCompletion(const io_uring_cqe& c, int64_t user_ns, PacketView* v,
                                 absl::Status* error) {
    if ((c.flags & IORING_CQE_F_MORE) == 0) rearm_ = true;
    if (c.res < 0) {
      if (c.res == -ENOBUFS) {
        ++stats_.no_buffers;  // the datagram stays queued in the socket: nothing lost
      } else if (c.res != -EINTR && c.res != -ECANCELED && error->ok()) {
        *error = absl::ErrnoToStatus(
            -c.res, absl::StrCat("io_uring recvmsg on ", socket_.local_address().ToString()));
      }
      return false;
    }
    if ((c.flags & IORING_CQE_F_BUFFER) == 0) {  // a datagram without a buffer: lost
      ++stats_.datagrams;
      ++stats_.bad_completions;
      return false;
    }
    ever_received_ = true;
    const uint16_t bid = static_cast<uint16_t>(c.flags >> IORING_CQE_BUFFER_SHIFT);
    if (bid >= options_.uring_buffers) {  // not one of ours: nothing to hand back
      ++stats_.datagrams;
      ++stats_.bad_completions;
      return false;
    }
    held_.push_back(bid);
    uint8_t* buf = BufferAt(bid);
    io_uring_recvmsg_out* o = io_uring_recvmsg_validate(buf, c.res, &msg_);
    if (o == nullptr) {  // shorter than its own header, name and control parts
      ++stats_.datagrams;
      ++stats_.bad_completions;
      return false;
    }
    int64_t ts = -1;
    for (cmsghdr* cm = io_uring_recvmsg_cmsg_firsthdr(o, &msg_); cm != nullptr;
         cm = io_uring_recvmsg_cmsg_nexthdr(o, &msg_, cm)) {
      ReadControl(cm, &ts);
    }
    sockaddr_storage peer;
    std::memset(&peer, 0, sizeof peer);
    const size_t nl = o->namelen < sizeof peer ? o->namelen : sizeof peer;
    std::memcpy(&peer, io_uring_recvmsg_name(o), nl);
    const auto* payload = static_cast<const uint8_t*>(io_uring_recvmsg_payload(o, &msg_));
    const unsigned plen = io_uring_recvmsg_payload_length(o, c.res, &msg_);
    const bool trunc = (o->flags & MSG_TRUNC) != 0;
    return Accept(payload, plen, trunc, ts, user_ns, &peer, v);
  }

  void AddBuffer(uint16_t bid, int offset) {
    io_uring_buf_ring_add(br_, BufferAt(bid), static_cast<unsigned>(buf_size_), bid,
                          io_uring_buf_ring_mask(static_cast<uint32_t>(options_.uring_buffers)),
                          offset);
  }

  // ---- One recvmsg per slot (no multishot, no provided buffers). ----
  static constexpr size_t kMaxSlots = 64;  // <= the submission queue depth

  static absl::StatusOr<std::unique_ptr<UringReceiver>> StartSingleShot(
      std::unique_ptr<UringReceiver> r) {
    if (absl::Status st = r->SubmitAllSlots(); !st.ok()) return st;
    return r;
  }

  size_t slot_count() const {
    return options_.uring_buffers < kMaxSlots ? options_.uring_buffers : kMaxSlots;
  }

  // Queues one recvmsg for `slot`; false when the submission queue has no room.
  bool PrepSlot(uint16_t slot) {
    Slot& sl = slots_[slot];
    uint8_t* buf = BufferAt(slot);
    sl.iov.iov_base = buf + sizeof(sockaddr_storage) + kControlBytes;
    sl.iov.iov_len = options_.max_datagram;
    sl.msg = msghdr();
    sl.msg.msg_name = buf;
    sl.msg.msg_namelen = sizeof(sockaddr_storage);
    sl.msg.msg_control = buf + sizeof(sockaddr_storage);
    sl.msg.msg_controllen = kControlBytes;
    sl.msg.msg_iov = &sl.iov;
    sl.msg.msg_iovlen = 1;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return false;
    io_uring_prep_recvmsg(sqe, socket_.fd(), &sl.msg, MSG_TRUNC);
    io_uring_sqe_set_data64(sqe, slot);
    return true;
  }

  // Queues a recvmsg for every slot in unarmed_ (those without room stay there) and submits
  // everything queued. Returns the submit's code (0 when there was nothing to do); a failed
  // submit leaves the entries queued for the next call.
  int RearmSlots() {
    size_t kept = 0;
    for (uint16_t slot : unarmed_) {
      if (!PrepSlot(slot)) unarmed_[kept++] = slot;
    }
    const bool queued = kept != unarmed_.size() || submit_pending_;
    unarmed_.resize(kept);
    if (!queued) return 0;
    const int rc = Submit();
    submit_pending_ = rc < 0;
    return rc < 0 ? rc : 0;
  }

  // NextBatch's first step on the single-shot path: finish re-arms left over by ReleaseBatch.
  absl::Status FinishRearm() {
    if (unarmed_.empty() && !submit_pending_) return absl::OkStatus();
    const int rc = RearmSlots();
    if (rc == 0) return absl::OkStatus();
    if (TransientSubmitError(rc)) {
      ++stats_.submit_retries;
      return absl::OkStatus();
    }
    return absl::ErrnoToStatus(-rc, "io_uring submit (re-arming recvmsg)");
  }

  absl::Status SubmitAllSlots() {
    single_shot_ = true;
    slots_.resize(slot_count());
    for (size_t i = 0; i < slots_.size(); ++i) unarmed_.push_back(static_cast<uint16_t>(i));
    const int rc = RearmSlots();
    if (rc < 0 && !TransientSubmitError(rc)) {
      return absl::ErrnoToStatus(-rc, "io_uring submit recvmsg");
    }
    if (rc < 0) ++stats_.submit_retries;
    return absl::OkStatus();
  }

  // Waits up to `timeout_ms` (0: do not wait, <0: forever) until a completion is queued;
  // returns liburing's code (0, or -EAGAIN/-ETIME/-EINTR/-errno). Both receive paths use it.
  int WaitForCompletion(int timeout_ms) {
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_peek_cqe(&ring_, &cqe);
    if (rc == -EAGAIN && timeout_ms != 0) {
      if (timeout_ms < 0) {
        rc = io_uring_wait_cqe(&ring_, &cqe);
      } else {
        __kernel_timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000LL};
        rc = io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
      }
    }
    return rc;
  }

  absl::StatusOr<PacketBatch> NextSingleShot(int timeout_ms) {
    if (absl::Status s = FinishRearm(); !s.ok()) return s;
    const int rc = WaitForCompletion(timeout_ms);
    if (rc == -EAGAIN || rc == -ETIME || rc == -EINTR) return PacketBatch();
    if (rc < 0) return absl::ErrnoToStatus(-rc, "io_uring wait");
    const int64_t user_ns = NowNs();
    io_uring_cqe* cqes[kMaxSlots];
    const size_t want = options_.batch_size < kMaxSlots ? options_.batch_size : kMaxSlots;
    const unsigned got = io_uring_peek_batch_cqe(&ring_, cqes, static_cast<unsigned>(want));
    size_t out = 0;
    absl::Status error;
    for (unsigned i = 0; i < got; ++i) {
      const io_uring_cqe* c = cqes[i];
      const uint64_t slot = io_uring_cqe_get_data64(c);
      if (slot >= slots_.size()) {  // not one of ours: nothing to re-arm
        ++stats_.datagrams;
        ++stats_.bad_completions;
        continue;
      }
      held_.push_back(static_cast<uint16_t>(slot));  // re-submitted at ReleaseBatch
      if (c->res < 0) {
        if (c->res != -EINTR && c->res != -EAGAIN && error.ok()) {
          error = absl::ErrnoToStatus(
              -c->res, absl::StrCat("io_uring recvmsg on ", socket_.local_address().ToString()));
        }
        continue;
      }
      msghdr& m = slots_[slot].msg;
      int64_t ts = -1;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&m); cm != nullptr; cm = CMSG_NXTHDR(&m, cm)) {
        ReadControl(cm, &ts);
      }
      sockaddr_storage peer;
      std::memcpy(&peer, m.msg_name, sizeof peer);
      const size_t len = static_cast<size_t>(c->res);
      const bool trunc = (m.msg_flags & MSG_TRUNC) != 0 || len > options_.max_datagram;
      const auto* data = static_cast<const uint8_t*>(slots_[slot].iov.iov_base);
      if (Accept(data, trunc ? options_.max_datagram : len, trunc, ts, user_ns, &peer,
                 &views_[out])) {
        ++out;
      }
    }
    io_uring_cq_advance(&ring_, got);
    if (out == 0 && !error.ok()) return error;
    return PacketBatch{views_.data(), out};
  }

  // (Re-)arms the multishot receive. A transient submit failure keeps the entry queued and
  // rearm_ set (retried at the next NextBatch, counted); other failures are returned.
  absl::Status Arm() {
    if (!submit_pending_) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) return absl::ResourceExhaustedError("io_uring submission queue full");
      io_uring_prep_recvmsg_multishot(sqe, socket_.fd(), &msg_, 0);
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = kBufferGroup;
      submit_pending_ = true;  // queued: never queue a second one
    }
    const int rc = Submit();
    if (rc < 0) {
      if (TransientSubmitError(rc)) {
        ++stats_.submit_retries;
        return absl::OkStatus();
      }
      return absl::ErrnoToStatus(-rc, "io_uring submit multishot recvmsg");
    }
    submit_pending_ = false;
    rearm_ = false;
    return absl::OkStatus();
  }

  UdpSocket socket_;
  io_uring ring_;
  bool ring_ok_ = false;
  bool registered_ = false;
  bool rearm_ = false;
  io_uring_buf_ring* br_ = nullptr;
  size_t br_bytes_ = 0;
  size_t buf_size_;
  msghdr msg_;
  std::vector<uint8_t> buffers_;
  std::vector<uint16_t> held_;  // buffer ids (multishot) or slots (single shot) handed out
  struct Slot {
    msghdr msg;
    iovec iov;
  };
  std::vector<Slot> slots_;
  std::vector<uint16_t> unarmed_;  // single shot: slots handed back but not yet queued
  bool submit_pending_ = false;    // queued entries a failed submit left behind
  int inject_submit_errno_ = 0;    // tests only: Submit() fails with this errno while set
  bool single_shot_ = false;
  bool ever_received_ = false;
  std::string fallback_reason_;
  std::vector<PacketView> views_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_URING_RECEIVER_H_
