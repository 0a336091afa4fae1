// tools/nflog/zmq_source.h — the NFLOG pipe's receiver side as a PacketSource: pipe messages
// (tools/nflog/message.h, raw or zlib/zstd batches, from any number of senders) arrive on a
// ZeroMQ PULL socket and leave as packet views, one per record: the NFLOG record's bytes
// (LINKTYPE_NFLOG, the TLVs in the sender's byte order) and the sender's timestamp.
//
//   ZmqPullOptions o;  o.endpoint = "tcp://127.0.0.1:5555";  o.bind = true;
//   auto src = ZmqPullSource::Open(ctx, o);
//   absl::Status s = RunPipeline(**src, transforms, sink, stop, options, nullptr);
//
// A message is decoded whole before any of its records is handed out (codec.h), so a bad one
// is dropped whole and counted by cause (dropped_messages[MessageError]), never torn. Views
// point into the received messages (or their decompressed bodies) and stay valid until the
// next NextBatch()/ReleaseBatch(). A failing zmq_poll/zmq_msg_recv (other than EINTR/EAGAIN)
// is the only error. Not thread-safe. Reference: zmq_poll(3), zmq_msg_recv(3).
#ifndef PKTKIT_TOOLS_NFLOG_ZMQ_SOURCE_H_
#define PKTKIT_TOOLS_NFLOG_ZMQ_SOURCE_H_

#include <zmq.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/source.h"
#include "tools/nflog/codec.h"
#include "tools/nflog/message.h"
#include "tools/nflog/pipe_common.h"

namespace pktkit::nflog {

struct ZmqPullOptions {
  std::string endpoint;  // e.g. tcp://0.0.0.0:5555
  bool bind = true;      // bind (the receiver's default) or connect
  int rcvhwm = 10000;    // ZMQ_RCVHWM (messages)
  CurveOptions curve;    // server key; off when curve.secret_key_file is empty
};

struct ZmqSourceStats {
  uint64_t messages = 0;             // messages received, good or bad
  uint64_t bytes = 0;                // their bytes
  uint64_t packets = 0;              // records handed out
  uint64_t compressed_packets = 0;   // of those, from compressed batches
  uint64_t dropped_messages[static_cast<size_t>(MessageError::kCount)] = {};  // by cause
};

class ZmqPullSource : public PacketSource {
 public:
  // A batch stops taking messages at any of these (soft: a message's records always go in
  // whole), so that the run loop ticks in between and memory stays bounded whatever the peers
  // send: at most kBatchBytes of messages plus one message, one decompressed body, and the
  // views of kBatchRecords plus one message's records.
  static constexpr size_t kMaxMessages = 256;
  static constexpr size_t kBatchRecords = 4096;
  static constexpr size_t kBatchBytes = 4u << 20;
  // A message with more records is refused (bad_count): the sender puts at most 4096 in a
  // compressed batch and 256 KiB of records in a raw message; this bounds the views.
  static constexpr uint32_t kMaxRecordsPerMessage = 1u << 16;

  // Creates the PULL socket in `ctx` (which must outlive the source), with ZMQ_LINGER 0 (a
  // receiver has nothing to send), ZMQ_MAXMSGSIZE at the format's largest message (a peer
  // sending more is disconnected by ZeroMQ), CURVE as a server, and binds or connects.
  static absl::StatusOr<std::unique_ptr<ZmqPullSource>> Open(void* ctx, const ZmqPullOptions& o) {
    void* pull = zmq_socket(ctx, ZMQ_PULL);
    if (pull == nullptr) {
      return absl::InternalError(absl::StrCat("zmq_socket(PULL): ", zmq_strerror(errno)));
    }
    std::unique_ptr<ZmqPullSource> s(new ZmqPullSource(pull));
    const int linger = 0;
    const int64_t max_msg = static_cast<int64_t>(kMessageHeaderSize + kMaxBodyBytes);
    absl::Status st = SetOpt(pull, ZMQ_RCVHWM, &o.rcvhwm, sizeof o.rcvhwm, "ZMQ_RCVHWM");
    if (st.ok()) st = SetOpt(pull, ZMQ_LINGER, &linger, sizeof linger, "ZMQ_LINGER");
    if (st.ok()) st = SetOpt(pull, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg, "ZMQ_MAXMSGSIZE");
    if (st.ok()) st = ApplyCurve(pull, o.curve, /*server=*/true);
    if (st.ok()) st = Attach(pull, o.endpoint, o.bind);
    if (!st.ok()) return st;
    return s;
  }

  ~ZmqPullSource() override {
    for (zmq_msg_t& m : msgs_) zmq_msg_close(&m);
    zmq_msg_close(&pending_);
    zmq_close(pull_);
  }
  ZmqPullSource(const ZmqPullSource&) = delete;
  ZmqPullSource& operator=(const ZmqPullSource&) = delete;

  // Waits up to timeout_ms for a message, then takes what is queued, within the batch bounds.
  // One compressed message per batch (it has the one decompression buffer); a second one
  // waits for the next batch.
  absl::StatusOr<PacketBatch> NextBatch(int timeout_ms) override {
    ReleaseBatch();
    size_t used = 0, bytes = 0;
    bool inflated = false;  // the decompression buffer holds this batch's records
    if (has_pending_) {
      zmq_msg_move(&msgs_[0], &pending_);
      has_pending_ = false;
      bytes += zmq_msg_size(&msgs_[0]);
      Take(&msgs_[used++], &inflated);
    } else {
      zmq_pollitem_t item = {pull_, 0, ZMQ_POLLIN, 0};
      const int rc = zmq_poll(&item, 1, timeout_ms);
      if (rc < 0 && errno != EINTR) {
        return absl::UnavailableError(absl::StrCat("zmq_poll: ", zmq_strerror(errno)));
      }
      if (rc <= 0 || (item.revents & ZMQ_POLLIN) == 0) return PacketBatch{views_.data(), 0};
    }
    while (used < kMaxMessages && n_ < kBatchRecords && bytes < kBatchBytes) {
      zmq_msg_t& m = msgs_[used];
      if (zmq_msg_recv(&m, pull_, ZMQ_DONTWAIT) < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        return absl::UnavailableError(absl::StrCat("zmq_msg_recv: ", zmq_strerror(errno)));
      }
      MessageHeader h;
      if (inflated && ParseMessageHeader(Bytes(m), &h) == MessageError::kOk &&
          h.kind != MessageKind::kRaw) {
        zmq_msg_move(&pending_, &m);  // the next batch starts with it
        has_pending_ = true;
        break;
      }
      bytes += zmq_msg_size(&m);
      Take(&msgs_[used++], &inflated);
    }
    return PacketBatch{views_.data(), n_};
  }

  void ReleaseBatch() override { n_ = 0; }

  const ZmqSourceStats& stats() const { return stats_; }

 private:
  explicit ZmqPullSource(void* pull) : pull_(pull), msgs_(kMaxMessages), views_(kBatchRecords) {
    for (zmq_msg_t& m : msgs_) zmq_msg_init(&m);
    zmq_msg_init(&pending_);
  }

  static ByteSpan Bytes(zmq_msg_t& m) {
    return ByteSpan(static_cast<const uint8_t*>(zmq_msg_data(&m)), zmq_msg_size(&m));
  }

  // Decodes one received message (kept alive in `m` until the batch is released) into views.
  void Take(zmq_msg_t* m, bool* inflated) {
    ++stats_.messages;
    stats_.bytes += zmq_msg_size(m);
    MessageHeader h;
    MessageError e = ParseMessageHeader(Bytes(*m), &h);
    if (e == MessageError::kOk && h.count > kMaxRecordsPerMessage) e = MessageError::kBadCount;
    const size_t first = n_;
    if (e == MessageError::kOk) {
      e = DecodeMessage(Bytes(*m), &scratch_, [this](const WireRecord& r, TlvByteOrder) { Add(r); });
    }
    if (e != MessageError::kOk) {
      n_ = first;  // nothing of a bad message is handed out
      ++stats_.dropped_messages[static_cast<size_t>(e)];
      return;
    }
    if (h.kind != MessageKind::kRaw) {
      *inflated = true;
      stats_.compressed_packets += h.count;
    }
    stats_.packets += h.count;
  }

  void Add(const WireRecord& r) {
    if (n_ == views_.size()) views_.resize(views_.size() * 2);  // views hold no view pointers
    PacketView& v = views_[n_++];
    v = PacketView();
    v.data = r.record.data;
    v.caplen = v.wire_len = static_cast<uint32_t>(r.record.size);
    v.timestamp_ns = r.ts_ns;
    v.ts_source = TimestampSource::kUser;  // the sender's: kernel or receive time
    v.link_type = LinkType::kNflog;
  }

  void* pull_;
  std::vector<zmq_msg_t> msgs_;  // the batch's messages, alive until reused
  zmq_msg_t pending_;            // a compressed message received after the batch's first
  bool has_pending_ = false;
  std::vector<uint8_t> scratch_;  // the batch's one decompressed body
  std::vector<PacketView> views_;
  size_t n_ = 0;
  ZmqSourceStats stats_;
};

}  // namespace pktkit::nflog

#endif  // PKTKIT_TOOLS_NFLOG_ZMQ_SOURCE_H_
