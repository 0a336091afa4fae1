// Tests for tools/nflog/zmq_sink.h (the sender's PacketSink: rate control -> ZeroMQ PUSH) over
// an inproc PULL socket, on a fake clock. (The bounded second run at shutdown is the core's
// DeadlineSource: tests/io/run_test.cc.)
#include "tools/nflog/zmq_sink.h"

#include <zmq.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pktkit/io/sink.h"
#include "tools/nflog/message.h"

namespace pktkit::nflog {
namespace {

constexpr int64_t kMs = 1'000'000;

// Views over records whose bytes say which record they are.
struct Records {
  explicit Records(const std::vector<std::string>& r) : bytes(r) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      PacketView v;
      v.data = reinterpret_cast<const uint8_t*>(bytes[i].data());
      v.caplen = v.wire_len = static_cast<uint32_t>(bytes[i].size());
      v.timestamp_ns = 1000 + static_cast<int64_t>(i);
      v.link_type = LinkType::kNflog;
      views.push_back(v);
    }
  }
  PacketBatch batch() const { return PacketBatch{views.data(), views.size()}; }
  std::vector<std::string> bytes;
  std::vector<PacketView> views;
};

struct Message {
  MessageKind kind;
  std::vector<std::string> records;
  std::vector<int64_t> ts;
};

class ZmqSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_ = zmq_ctx_new();
    pull_ = zmq_socket(ctx_, ZMQ_PULL);
    ASSERT_EQ(zmq_bind(pull_, "inproc://nflog-sink-test"), 0);
  }
  void TearDown() override {
    sink_.reset();
    zmq_close(pull_);
    zmq_ctx_term(ctx_);
  }
  void Open(ZmqPushOptions o) {
    o.endpoint = "inproc://nflog-sink-test";
    o.clock = [this] { return now_; };
    auto s = ZmqBatchSink::Open(ctx_, o, nullptr);
    ASSERT_TRUE(s.ok()) << s.status();
    sink_ = std::move(*s);
  }
  // Every message queued on the PULL side now (inproc delivers within zmq_send).
  std::vector<Message> Received() {
    std::vector<Message> out;
    std::vector<uint8_t> buf(1 << 20), scratch;
    int n;
    while ((n = zmq_recv(pull_, buf.data(), buf.size(), ZMQ_DONTWAIT)) >= 0) {
      Message m;
      MessageHeader h;
      const MessageError e = DecodeMessage(
          ByteSpan(buf.data(), static_cast<size_t>(n)), &scratch,
          [&m](const WireRecord& r, TlvByteOrder) {
            m.records.emplace_back(r.record.begin(), r.record.end());
            m.ts.push_back(r.ts_ns);
          },
          &h);
      EXPECT_EQ(e, MessageError::kOk) << MessageErrorName(e);
      m.kind = h.kind;
      out.push_back(m);
    }
    return out;
  }

  void* ctx_ = nullptr;
  void* pull_ = nullptr;
  int64_t now_ = 0;
  std::unique_ptr<ZmqBatchSink> sink_;
};

TEST_F(ZmqSinkTest, BelowTheLowWatermarkEachBatchLeavesAsOneRawMessage) {
  Open(ZmqPushOptions());
  Records a({"r0", "r1", "r2"}), b({"r3", "r4"});
  ASSERT_TRUE(sink_->Write(a.batch()).ok());
  ASSERT_TRUE(sink_->Write(b.batch()).ok());
  const std::vector<Message> got = Received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kind, MessageKind::kRaw);
  EXPECT_EQ(got[0].records, a.bytes);
  EXPECT_EQ(got[0].ts, (std::vector<int64_t>{1000, 1001, 1002}));
  EXPECT_EQ(got[1].records, b.bytes);
  EXPECT_EQ(sink_->zmq_stats().messages, 2u);
  EXPECT_EQ(sink_->stats().packets, 5u);
  EXPECT_EQ(sink_->stats().dropped, 0u);
}

TEST_F(ZmqSinkTest, CompressedBatchLeavesAtTheLatencyBoundOrAtFlush) {
  ZmqPushOptions o;
  o.rate.low_bps = 1;  // everything compressed
  o.rate.codec = MessageKind::kZstd;
  o.rate.max_batch_latency_ns = 50 * kMs;
  Open(o);
  Records a({"c0", "c1", "c2"}), b({"c3", "c4"});
  ASSERT_TRUE(sink_->Write(a.batch()).ok());
  EXPECT_TRUE(Received().empty());  // waiting in the batch
  now_ = 49 * kMs;
  sink_->Tick();
  EXPECT_TRUE(Received().empty());
  now_ = 50 * kMs;
  sink_->Tick();  // idle, but the bound has passed
  std::vector<Message> got = Received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, MessageKind::kZstd);
  EXPECT_EQ(got[0].records, a.bytes);
  ASSERT_TRUE(sink_->Write(b.batch()).ok());
  EXPECT_TRUE(Received().empty());
  ASSERT_TRUE(sink_->Flush().ok());  // the partial batch, at the end of a run
  got = Received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].records, b.bytes);
  EXPECT_EQ(sink_->encoder_stats().compressed_packets.load(), 5u);
  EXPECT_EQ(sink_->stats().packets, 5u);
}

TEST_F(ZmqSinkTest, HighWaterMarkAndRateDropsAreCountedAndAddUp) {
  ZmqPushOptions o;
  o.sndhwm = 1;
  o.linger_ms = 0;  // what is queued for nobody must not hold zmq_ctx_term
  o.endpoint = "inproc://nowhere";
  o.clock = [this] { return now_; };
  auto s = ZmqBatchSink::Open(ctx_, o, nullptr);  // nobody binds: the queue fills
  ASSERT_TRUE(s.ok()) << s.status();
  Records r({"x"});
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*s)->Write(r.batch()).ok());
  const ZmqSinkStats& zs = (*s)->zmq_stats();
  EXPECT_GT(zs.hwm_dropped_packets, 0u);
  EXPECT_EQ(zs.packets + zs.hwm_dropped_packets, 20u);
  EXPECT_EQ((*s)->stats().dropped, zs.hwm_dropped_packets);

  ZmqPushOptions d;
  d.rate.low_bps = 1;
  d.rate.high_bps = 1;  // everything dropped by rate
  Open(d);
  ASSERT_TRUE(sink_->Write(r.batch()).ok());
  ASSERT_TRUE(sink_->Flush().ok());
  EXPECT_TRUE(Received().empty());
  EXPECT_EQ(sink_->stats().dropped, 1u);
  EXPECT_EQ(sink_->encoder_stats().dropped_rate.load(), 1u);
}

TEST_F(ZmqSinkTest, FatalSendErrorEndsTheRunAndIsCounted) {
  Open(ZmqPushOptions());
  zmq_ctx_shutdown(ctx_);  // every later send fails with ETERM
  Records r({"a", "b"});
  const absl::Status s = sink_->Write(r.batch());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("zmq_send(inproc://nflog-sink-test)"), absl::string_view::npos) << s;
  EXPECT_EQ(sink_->zmq_stats().send_error_packets, 2u);
  EXPECT_EQ(sink_->stats().dropped, 2u);
  EXPECT_FALSE(sink_->Flush().ok());
}

}  // namespace
}  // namespace pktkit::nflog
