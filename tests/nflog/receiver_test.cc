// Tests for the NFLOG receiver's pieces: tools/nflog/zmq_source.h (pipe messages -> views,
// over inproc sockets, fed by the sender's own ZmqBatchSink) and tools/nflog/window_sink.h
// (the window of recent traffic, read back with the core's pcap reader).
#include <zmq.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pktkit/io/pcap.h"
#include "pktkit/io/sink.h"
#include "tools/nflog/message.h"
#include "tools/nflog/window_sink.h"
#include "tools/nflog/zmq_sink.h"
#include "tools/nflog/zmq_source.h"

namespace pktkit::nflog {
namespace {

struct Views {
  explicit Views(const std::vector<std::string>& r, int64_t ts0 = 1000) : bytes(r) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      PacketView v;
      v.data = reinterpret_cast<const uint8_t*>(bytes[i].data());
      v.caplen = v.wire_len = static_cast<uint32_t>(bytes[i].size());
      v.timestamp_ns = ts0 + static_cast<int64_t>(i);
      v.link_type = LinkType::kRaw;
      views.push_back(v);
    }
  }
  PacketBatch batch() const { return PacketBatch{views.data(), views.size()}; }
  std::vector<std::string> bytes;
  std::vector<PacketView> views;
};

std::vector<std::string> Bytes(const PacketBatch& b) {
  std::vector<std::string> out;
  for (const PacketView& p : b) out.emplace_back(reinterpret_cast<const char*>(p.data), p.caplen);
  return out;
}

class ZmqSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_ = zmq_ctx_new();
    ZmqPullOptions o;
    o.endpoint = "inproc://nflog-source-test";
    auto s = ZmqPullSource::Open(ctx_, o);
    ASSERT_TRUE(s.ok()) << s.status();
    source_ = std::move(*s);
  }
  void TearDown() override {
    source_.reset();
    zmq_ctx_term(ctx_);
  }
  std::unique_ptr<ZmqBatchSink> Sender(uint64_t low_bps) {
    ZmqPushOptions o;
    o.endpoint = "inproc://nflog-source-test";
    o.rate.low_bps = low_bps;
    auto s = ZmqBatchSink::Open(ctx_, o, nullptr);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  void* ctx_ = nullptr;
  std::unique_ptr<ZmqPullSource> source_;
};

TEST_F(ZmqSourceTest, RawAndCompressedMessagesBecomeViewsInOrderAndBadOnesAreDroppedWhole) {
  std::unique_ptr<ZmqBatchSink> raw = Sender(kUnlimited), packed = Sender(1);
  ASSERT_NE(raw, nullptr);
  ASSERT_NE(packed, nullptr);
  Views a({"first", "second"}, 100), b({"third", "fourth", "fifth"}, 200);
  ASSERT_TRUE(raw->Write(a.batch()).ok());
  void* bad = zmq_socket(ctx_, ZMQ_PUSH);
  ASSERT_EQ(zmq_connect(bad, "inproc://nflog-source-test"), 0);
  ASSERT_EQ(zmq_send(bad, "NFxx", 4, 0), 4);  // shorter than a header
  ASSERT_TRUE(packed->Write(b.batch()).ok());
  ASSERT_TRUE(packed->Flush().ok());  // the compressed batch leaves now

  std::vector<std::string> got;
  std::vector<int64_t> ts;
  while (got.size() < 5) {
    auto batch = source_->NextBatch(1000);
    ASSERT_TRUE(batch.ok()) << batch.status();
    ASSERT_FALSE(batch->empty());
    for (const PacketView& p : *batch) {
      EXPECT_EQ(p.link_type, LinkType::kNflog);
      ts.push_back(p.timestamp_ns);
    }
    for (std::string& s : Bytes(*batch)) got.push_back(s);
    source_->ReleaseBatch();
  }
  // Two senders: PULL queues them fairly, so only each sender's own order is defined.
  std::vector<std::string> from_raw, from_packed;
  std::vector<int64_t> ts_raw, ts_packed;
  for (size_t i = 0; i < got.size(); ++i) {
    (ts[i] < 200 ? from_raw : from_packed).push_back(got[i]);
    (ts[i] < 200 ? ts_raw : ts_packed).push_back(ts[i]);
  }
  EXPECT_EQ(from_raw, a.bytes);
  EXPECT_EQ(ts_raw, (std::vector<int64_t>{100, 101}));
  EXPECT_EQ(from_packed, b.bytes);
  EXPECT_EQ(ts_packed, (std::vector<int64_t>{200, 201, 202}));
  const ZmqSourceStats& st = source_->stats();
  EXPECT_EQ(st.messages, 3u);
  EXPECT_EQ(st.packets, 5u);
  EXPECT_EQ(st.compressed_packets, 3u);
  EXPECT_EQ(st.dropped_messages[static_cast<size_t>(MessageError::kTruncated)], 1u);
  zmq_close(bad);
}

TEST_F(ZmqSourceTest, OneCompressedMessagePerBatchAndTooManyRecordsRefused) {
  std::unique_ptr<ZmqBatchSink> packed = Sender(1);
  ASSERT_NE(packed, nullptr);
  Views a({"a0", "a1"}, 100), b({"b0"}, 200);
  ASSERT_TRUE(packed->Write(a.batch()).ok());
  ASSERT_TRUE(packed->Flush().ok());
  ASSERT_TRUE(packed->Write(b.batch()).ok());
  ASSERT_TRUE(packed->Flush().ok());
  // A raw message claiming more records than a sender ever puts in one (they are all there).
  std::vector<uint8_t> body, msg;
  const uint8_t rec[4] = {2, 0, 0, 0};
  for (uint32_t i = 0; i <= ZmqPullSource::kMaxRecordsPerMessage; ++i) {
    AppendRecord(1, ByteSpan(rec, sizeof rec), &body);
  }
  WriteMessageHeader(MessageKind::kRaw, HostTlvFlags(), ZmqPullSource::kMaxRecordsPerMessage + 1,
                     static_cast<uint32_t>(body.size()), &msg);
  msg.insert(msg.end(), body.begin(), body.end());
  void* big = zmq_socket(ctx_, ZMQ_PUSH);
  ASSERT_EQ(zmq_connect(big, "inproc://nflog-source-test"), 0);
  ASSERT_EQ(zmq_send(big, msg.data(), msg.size(), 0), static_cast<int>(msg.size()));

  auto first = source_->NextBatch(1000);  // both batches are queued: the second waits
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Bytes(*first), a.bytes);
  auto second = source_->NextBatch(1000);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Bytes(*second), b.bytes);
  EXPECT_EQ(first->packets, second->packets);  // the same views storage, refilled
  const ZmqSourceStats& st = source_->stats();
  EXPECT_EQ(st.compressed_packets, 3u);
  EXPECT_EQ(st.dropped_messages[static_cast<size_t>(MessageError::kBadCount)], 1u);
  EXPECT_EQ(st.packets, 3u);
  zmq_close(big);
}

TEST_F(ZmqSourceTest, NothingQueuedIsAnEmptyBatchAndAFailedPollIsAnError) {
  auto b = source_->NextBatch(0);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->empty());
  zmq_ctx_shutdown(ctx_);
  b = source_->NextBatch(0);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("zmq_poll"), absl::string_view::npos) << b.status();
}

std::string TmpPath(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  return std::string(t != nullptr ? t : "/tmp") + "/" + name;
}

TEST(RecentWindowSinkTest, KeepsTheNewestUpToItsBytesAndDumpsAPcapFile) {
  RecentWindowSink w(/*max_bytes=*/10, LinkType::kRaw, /*snaplen=*/65535);
  Views a({"aaaa", "bbbb", "cccc"}, 10), big({"this-is-eleven"}, 20), d({"dd"}, 30);
  ASSERT_TRUE(w.Write(a.batch()).ok());
  ASSERT_TRUE(w.Write(big.batch()).ok());  // larger than the window: not kept, counted
  ASSERT_TRUE(w.Write(d.batch()).ok());
  EXPECT_EQ(w.stats().dropped, 1u);
  EXPECT_EQ(w.size(), 3u);  // bbbb cccc dd = 10 bytes; aaaa left first
  const std::string path = TmpPath("window.pcap");
  std::ofstream(path, std::ios::binary) << w.Dump();
  auto r = PcapReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->link_type(), LinkType::kRaw);
  std::vector<std::string> got;
  std::vector<int64_t> ts;
  while (true) {
    auto b = (*r)->NextBatch(0);
    if (!b.ok()) {
      EXPECT_TRUE(absl::IsOutOfRange(b.status())) << b.status();
      break;
    }
    for (const PacketView& p : *b) ts.push_back(p.timestamp_ns);
    for (std::string& s : Bytes(*b)) got.push_back(s);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"bbbb", "cccc", "dd"}));
  EXPECT_EQ(ts, (std::vector<int64_t>{11, 12, 30}));
}

}  // namespace
}  // namespace pktkit::nflog
