// Tests for tools/nflog/message.h, codec.h and rate_control.h. The rate controller runs on a
// fake clock (times are passed in), so every assertion is deterministic.
#include "tools/nflog/rate_control.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tools/nflog/codec.h"
#include "tools/nflog/message.h"

namespace pktkit::nflog {
namespace {

constexpr int64_t kMs = 1'000'000;

// A record whose bytes encode its sequence number (so order and content can be checked).
std::vector<uint8_t> MakeRecord(uint32_t seq, size_t size) {
  std::vector<uint8_t> r(size, static_cast<uint8_t>(seq));
  if (size >= 8) StoreBe32(r.data() + 4, seq);
  return r;
}

struct Received {
  std::vector<std::vector<uint8_t>> records;
  std::vector<int64_t> ts;
  std::vector<MessageKind> kinds;
  uint32_t messages = 0;
};

BatchEncoder::Sink Decoder(Received* out) {
  return [out](const std::vector<uint8_t>& msg, uint32_t n) {
    std::vector<uint8_t> scratch;
    MessageHeader h;
    const MessageError e = DecodeMessage(
        ByteSpan(msg.data(), msg.size()), &scratch,
        [out](const WireRecord& r, TlvByteOrder) {
          out->records.emplace_back(r.record.begin(), r.record.end());
          out->ts.push_back(r.ts_ns);
        },
        &h);
    ASSERT_EQ(e, MessageError::kOk) << MessageErrorName(e);
    EXPECT_EQ(h.count, n);
    out->kinds.push_back(h.kind);
    ++out->messages;
  };
}

TEST(MessageTest, RawRoundTripAndEveryShorterLength) {
  std::vector<uint8_t> body;
  std::vector<uint8_t> a = MakeRecord(1, 30), b = MakeRecord(2, 0);
  AppendRecord(-5, ByteSpan(a.data(), a.size()), &body);
  AppendRecord(INT64_MAX, ByteSpan(b.data(), b.size()), &body);
  std::vector<uint8_t> msg;
  WriteMessageHeader(MessageKind::kRaw, kFlagBigEndianTlv, 2, static_cast<uint32_t>(body.size()),
                     &msg);
  msg.insert(msg.end(), body.begin(), body.end());
  Received got;
  std::vector<uint8_t> scratch;
  MessageHeader h;
  ASSERT_EQ(DecodeMessage(
                ByteSpan(msg.data(), msg.size()), &scratch,
                [&](const WireRecord& r, TlvByteOrder o) {
                  EXPECT_EQ(o, TlvByteOrder::kBig);
                  got.records.emplace_back(r.record.begin(), r.record.end());
                  got.ts.push_back(r.ts_ns);
                },
                &h),
            MessageError::kOk);
  ASSERT_EQ(got.records.size(), 2u);
  EXPECT_EQ(got.records[0], a);
  EXPECT_EQ(got.records[1], b);
  EXPECT_EQ(got.ts[0], -5);
  EXPECT_EQ(got.ts[1], INT64_MAX);
  for (size_t n = 0; n < msg.size(); ++n) {
    size_t delivered = 0;
    const MessageError e = DecodeMessage(ByteSpan(msg.data(), n), &scratch,
                                         [&](const WireRecord&, TlvByteOrder) { ++delivered; });
    EXPECT_NE(e, MessageError::kOk) << n;
    EXPECT_EQ(delivered, 0u) << n;  // nothing torn is ever delivered
  }
}

TEST(MessageTest, RejectsBadHeaders) {
  std::vector<uint8_t> rec = MakeRecord(1, 8), body, msg;
  AppendRecord(0, ByteSpan(rec.data(), rec.size()), &body);
  auto make = [&](uint32_t count) {
    WriteMessageHeader(MessageKind::kRaw, 0, count, static_cast<uint32_t>(body.size()), &msg);
    msg.insert(msg.end(), body.begin(), body.end());
  };
  std::vector<uint8_t> scratch;
  auto decode = [&]() {
    return DecodeMessage(ByteSpan(msg.data(), msg.size()), &scratch,
                         [](const WireRecord&, TlvByteOrder) {});
  };
  make(1);
  EXPECT_EQ(decode(), MessageError::kOk);
  make(1), msg[0] = 0;
  EXPECT_EQ(decode(), MessageError::kBadMagic);
  make(1), msg[2] = 2;
  EXPECT_EQ(decode(), MessageError::kBadVersion);
  make(1), msg[3] = 9;
  EXPECT_EQ(decode(), MessageError::kBadKind);
  make(1), msg[4] = 0x80;
  EXPECT_EQ(decode(), MessageError::kBadFlags);
  make(0);
  EXPECT_EQ(decode(), MessageError::kBadCount);
  make(2);
  EXPECT_EQ(decode(), MessageError::kBadCount);
  make(1), msg[3] = static_cast<uint8_t>(MessageKind::kZlib);  // not actually compressed
  EXPECT_EQ(decode(), MessageError::kDecompress);
  EXPECT_STREQ(MessageErrorName(MessageError::kBadBodyLength), "bad_body_length");
}

TEST(MessageTest, HeaderFieldsAtMaxValue) {
  std::vector<uint8_t> msg;
  MessageHeader h;
  // count at its maximum: more records than the body could hold.
  WriteMessageHeader(MessageKind::kZstd, kFlagBigEndianTlv, 0xffffffffu, kMaxBodyBytes, &msg);
  EXPECT_EQ(ParseMessageHeader(ByteSpan(msg.data(), msg.size()), &h), MessageError::kBadCount);
  // body_len at its maximum: refused before any decompression.
  WriteMessageHeader(MessageKind::kZstd, 0, 1, 0xffffffffu, &msg);
  EXPECT_EQ(ParseMessageHeader(ByteSpan(msg.data(), msg.size()), &h), MessageError::kBadBodyLength);
  // The largest accepted body_len parses (the body itself is compressed, so not checked yet).
  WriteMessageHeader(MessageKind::kZstd, kFlagBigEndianTlv, 7, kMaxBodyBytes, &msg);
  ASSERT_EQ(ParseMessageHeader(ByteSpan(msg.data(), msg.size()), &h), MessageError::kOk);
  EXPECT_EQ(h.count, 7u);
  EXPECT_EQ(h.body_len, kMaxBodyBytes);
  EXPECT_EQ(h.tlv_order(), TlvByteOrder::kBig);
  EXPECT_EQ(h.kind, MessageKind::kZstd);
}

TEST(CodecTest, ZlibAndZstdRoundTrip) {
  std::vector<uint8_t> in(100000);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>((i * 7) % 13);
  for (MessageKind k : {MessageKind::kZlib, MessageKind::kZstd}) {
    std::vector<uint8_t> packed, out;
    ASSERT_TRUE(Compress(k, ByteSpan(in.data(), in.size()), 0, &packed));
    EXPECT_LT(packed.size(), in.size());
    ASSERT_TRUE(Decompress(k, ByteSpan(packed.data(), packed.size()),
                           static_cast<uint32_t>(in.size()), &out));
    EXPECT_EQ(out, in);
    EXPECT_FALSE(Decompress(k, ByteSpan(packed.data(), packed.size()),
                            static_cast<uint32_t>(in.size() + 1), &out));
  }
}

TEST(RateControllerTest, ModesFollowTheRate) {
  RateControlConfig cfg;
  cfg.low_bps = 10'000;   // 1000 bytes per 100 ms window
  cfg.high_bps = 50'000;  // 5000 bytes per window
  RateController rc(cfg);
  EXPECT_EQ(rc.Observe(500, 0), RateMode::kPass);
  EXPECT_EQ(rc.Observe(500, 10 * kMs), RateMode::kPass);    // 1000 B: exactly low
  EXPECT_EQ(rc.Observe(1, 20 * kMs), RateMode::kCompress);  // above low
  EXPECT_EQ(rc.Observe(4000, 30 * kMs), RateMode::kDrop);   // 5001 B > high
  // Next window: the last window's rate (50010 B/s) still holds the estimate high.
  EXPECT_EQ(rc.Observe(1, 100 * kMs), RateMode::kDrop);
  // After a quiet window the rate falls and records pass again.
  EXPECT_EQ(rc.Observe(1, 200 * kMs), RateMode::kPass);
  EXPECT_EQ(rc.Observe(1, 1000 * kMs), RateMode::kPass);
}

TEST(BatchEncoderTest, BelowLowWatermarkEverythingPassesRaw) {
  RateControlConfig cfg;
  cfg.low_bps = 1'000'000;
  Received got;
  BatchEncoder enc(cfg, Decoder(&got));
  for (uint32_t i = 0; i < 100; ++i) {
    auto r = MakeRecord(i, 100);
    enc.Push(i, ByteSpan(r.data(), r.size()), i * kMs);  // 100 kB/s
    if (i % 10 == 9) enc.EndBurst();                     // bursts of 10 share a message
  }
  EXPECT_EQ(got.messages, 10u);
  EXPECT_EQ(got.records.size(), 100u);
  EXPECT_EQ(enc.stats().raw_packets.load(), 100u);
  for (MessageKind k : got.kinds) EXPECT_EQ(k, MessageKind::kRaw);
}

// Drives the encoder through pass -> compress -> drop -> compress -> pass on a fake clock and
// checks: received == pushed minus dropped, in order, byte for byte; counters add up.
TEST(BatchEncoderTest, NoLossAtModeSwitchesAndCountersAddUp) {
  for (MessageKind codec : {MessageKind::kZlib, MessageKind::kZstd}) {
    RateControlConfig cfg;
    cfg.low_bps = 100'000;   // 10 kB per window
    cfg.high_bps = 400'000;  // 40 kB per window
    cfg.max_batch_records = 50;
    cfg.max_batch_latency_ns = 20 * kMs;
    cfg.codec = codec;
    Received got;
    BatchEncoder enc(cfg, Decoder(&got));
    std::vector<std::vector<uint8_t>> sent;
    int64_t now = 0;
    uint32_t seq = 0;
    // Phases: (records per ms, ms).
    const std::pair<int, int> phases[] = {{1, 300}, {3, 300}, {10, 300}, {3, 300}, {1, 300}};
    std::vector<bool> kept;
    for (auto [per_ms, ms] : phases) {
      for (int t = 0; t < ms; ++t, now += kMs) {
        for (int k = 0; k < per_ms; ++k) {
          auto r = MakeRecord(seq, 100);
          const uint64_t dropped_before = enc.stats().dropped_rate.load();
          enc.Push(seq, ByteSpan(r.data(), r.size()), now);
          if (seq % 3 == 0) enc.EndBurst();
          kept.push_back(enc.stats().dropped_rate.load() == dropped_before);
          if (kept.back()) sent.push_back(r);
          ++seq;
        }
        enc.Tick(now);
      }
    }
    enc.Flush();
    const EncoderStats& s = enc.stats();
    EXPECT_EQ(s.in_packets.load(), seq);
    EXPECT_GT(s.raw_packets.load(), 0u);
    EXPECT_GT(s.compressed_packets.load(), 0u);
    EXPECT_GT(s.dropped_rate.load(), 0u);
    EXPECT_GE(s.mode_switches.load(), 4u);
    EXPECT_EQ(s.raw_packets.load() + s.compressed_packets.load() + s.dropped_rate.load(),
              s.in_packets.load());
    ASSERT_EQ(got.records.size(), sent.size());
    EXPECT_EQ(got.records, sent);  // lossless, in order
    for (size_t i = 1; i < got.ts.size(); ++i) EXPECT_LT(got.ts[i - 1], got.ts[i]);
    EXPECT_EQ(enc.pending_records(), 0u);
  }
}

TEST(BatchEncoderTest, BatchLatencyIsBounded) {
  RateControlConfig cfg;
  cfg.low_bps = 0;  // always compress
  cfg.max_batch_latency_ns = 10 * kMs;
  Received got;
  BatchEncoder enc(cfg, Decoder(&got));
  auto r = MakeRecord(1, 64);
  enc.Push(1, ByteSpan(r.data(), r.size()), 0);
  enc.Tick(9 * kMs);
  EXPECT_EQ(got.messages, 0u);
  enc.Tick(10 * kMs);
  EXPECT_EQ(got.messages, 1u);
  EXPECT_EQ(got.kinds[0], MessageKind::kZstd);
}

TEST(BatchEncoderTest, PendingBatchIsSentBeforeDropping) {
  RateControlConfig cfg;
  cfg.low_bps = 0;
  cfg.high_bps = 10'000;  // 1000 B per window
  Received got;
  BatchEncoder enc(cfg, Decoder(&got));
  auto r = MakeRecord(1, 600);
  enc.Push(1, ByteSpan(r.data(), r.size()), 0);  // compress (pending)
  EXPECT_EQ(enc.pending_records(), 1u);
  enc.Push(2, ByteSpan(r.data(), r.size()), 1);  // 1200 B: drop; the batch goes out first
  EXPECT_EQ(enc.pending_records(), 0u);
  EXPECT_EQ(got.records.size(), 1u);
  EXPECT_EQ(enc.stats().dropped_rate.load(), 1u);
}

}  // namespace
}  // namespace pktkit::nflog
