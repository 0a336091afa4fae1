// Tests of pktkit/io/replay_source.h over an in-memory source: every packet comes out once per
// loop and in order, batches are released only when fully handed out, a packet is never handed
// out before it is due (original pace, speed, fixed rate), a wait is cut at the caller's
// timeout, reopen failures are reported, and a rewinder keeps one mapped file across loops.
// Only lower bounds on time are asserted.
#include "pktkit/io/replay_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "pktkit/io/pcap_mmap_reader.h"

namespace pktkit {
namespace {

using Clock = std::chrono::steady_clock;

// `n` packets `gap_ns` apart, in batches of `batch`; counts opens and releases.
struct Counters {
  int opens = 0;
  int releases = 0;
  int fail_open_after = -1;  // opens beyond this fail
};

class VectorSource : public PacketSource {
 public:
  VectorSource(size_t n, int64_t gap_ns, size_t batch, Counters* c) : batch_(batch), c_(c) {
    for (size_t i = 0; i < n; ++i) {
      PacketView v;
      v.data = bytes_;
      v.caplen = v.wire_len = 1;
      v.timestamp_ns = 1000000000 + static_cast<int64_t>(i) * gap_ns;
      v.ifindex = static_cast<uint32_t>(i);  // the packet's number
      views_.push_back(v);
    }
  }
  absl::StatusOr<PacketBatch> NextBatch(int) override {
    if (pos_ >= views_.size()) return absl::OutOfRangeError("end");
    const size_t n = std::min(batch_, views_.size() - pos_);
    PacketBatch b{views_.data() + pos_, n};
    pos_ += n;
    return b;
  }
  void ReleaseBatch() override { ++c_->releases; }

 private:
  uint8_t bytes_[1] = {0};
  std::vector<PacketView> views_;
  size_t pos_ = 0;
  size_t batch_;
  Counters* c_;
};

ReplaySource::Opener Opener(size_t n, int64_t gap_ns, size_t batch, Counters* c) {
  return [=]() -> absl::StatusOr<std::unique_ptr<PacketSource>> {
    if (c->fail_open_after >= 0 && c->opens >= c->fail_open_after) {
      return absl::NotFoundError("trace.pcap went away");
    }
    ++c->opens;
    return std::unique_ptr<PacketSource>(new VectorSource(n, gap_ns, batch, c));
  };
}

// Drains the source; returns packet numbers in the order handed out.
std::vector<uint32_t> Drain(ReplaySource* s, absl::Status* end) {
  std::vector<uint32_t> got;
  for (int guard = 0; guard < 100000; ++guard) {
    absl::StatusOr<PacketBatch> b = s->NextBatch(100);
    if (!b.ok()) {
      *end = b.status();
      break;
    }
    for (const PacketView& p : *b) got.push_back(p.ifindex);
    s->ReleaseBatch();
  }
  return got;
}

TEST(ReplaySourceTest, TopSpeedLoopsHandOutEveryPacketInOrder) {
  Counters c;
  ReplayOptions o;
  o.top_speed = true;
  o.loops = 3;
  auto s = ReplaySource::Open(Opener(10, 1000000000, 4, &c), o);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Status end;
  std::vector<uint32_t> got = Drain(s->get(), &end);
  EXPECT_TRUE(absl::IsOutOfRange(end)) << end;
  std::vector<uint32_t> want;
  for (int l = 0; l < 3; ++l) {
    for (uint32_t i = 0; i < 10; ++i) want.push_back(i);
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(c.opens, 3);
  EXPECT_EQ(c.releases, 9);  // 3 batches per pass, each released once
  EXPECT_EQ((*s)->loops_done(), 3u);
}

TEST(ReplaySourceTest, OriginalPaceNeverHandsOutEarly) {
  Counters c;
  ReplayOptions o;
  o.speed = 2.0;  // 40 packets 5 ms apart: 195 ms of trace, at least 97.5 ms at twice the pace
  auto s = ReplaySource::Open(Opener(40, 5000000, 16, &c), o);
  ASSERT_TRUE(s.ok());
  const Clock::time_point start = Clock::now();
  absl::Status end;
  // Each packet's hand-out time is at least its due time.
  std::vector<uint32_t> got;
  for (int guard = 0; guard < 100000; ++guard) {
    absl::StatusOr<PacketBatch> b = (*s)->NextBatch(100);
    if (!b.ok()) break;
    const double elapsed_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    for (const PacketView& p : *b) {
      EXPECT_GE(elapsed_ms, p.ifindex * 5.0 / 2.0 - 0.001) << "packet " << p.ifindex;
      got.push_back(p.ifindex);
    }
    (*s)->ReleaseBatch();
  }
  EXPECT_EQ(got.size(), 40u);
  EXPECT_EQ(c.releases, 3);
}

TEST(ReplaySourceTest, FixedRateAcrossLoopsNeverExceedsIt) {
  Counters c;
  ReplayOptions o;
  o.pps = 2000;  // 0.5 ms apart, over two passes of 30: packet k no earlier than k/2 ms
  o.top_speed = true;
  o.loops = 2;
  auto s = ReplaySource::Open(Opener(30, 1, 8, &c), o);
  ASSERT_TRUE(s.ok());
  const Clock::time_point start = Clock::now();
  size_t k = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    absl::StatusOr<PacketBatch> b = (*s)->NextBatch(100);
    if (!b.ok()) break;
    const double elapsed_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    for (size_t i = 0; i < b->size; ++i, ++k) EXPECT_GE(elapsed_ms, k * 0.5 - 0.001) << k;
    (*s)->ReleaseBatch();
  }
  EXPECT_EQ(k, 60u);
}

TEST(ReplaySourceTest, WaitIsCutAtTheTimeoutAndNothingIsLost) {
  Counters c;
  ReplayOptions o;  // original pace: packet 1 is due 10 s after packet 0
  auto s = ReplaySource::Open(Opener(2, 10000000000LL, 2, &c), o);
  ASSERT_TRUE(s.ok());
  absl::StatusOr<PacketBatch> b = (*s)->NextBatch(10);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size, 1u);  // packet 0 is due at once
  (*s)->ReleaseBatch();
  EXPECT_EQ(c.releases, 0);  // packet 1 still waits in the underlying batch
  b = (*s)->NextBatch(10);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->empty());  // not due within the timeout: the caller may check for a stop
  (*s)->ReleaseBatch();
  EXPECT_EQ(c.releases, 0);
}

TEST(ReplaySourceTest, ReportsAReopenFailureAndBadOptions) {
  Counters c;
  c.fail_open_after = 1;
  ReplayOptions o;
  o.top_speed = true;
  o.loops = 0;  // forever: the second open fails
  auto s = ReplaySource::Open(Opener(3, 1, 3, &c), o);
  ASSERT_TRUE(s.ok());
  absl::Status end;
  EXPECT_EQ(Drain(s->get(), &end).size(), 3u);
  EXPECT_TRUE(absl::IsNotFound(end)) << end;
  ReplayOptions bad;
  bad.speed = 0;
  EXPECT_FALSE(ReplaySource::Open(Opener(3, 1, 3, &c), bad).ok());
  bad.speed = 1;
  bad.pps = -1;
  EXPECT_FALSE(ReplaySource::Open(Opener(3, 1, 3, &c), bad).ok());
}

// A real file, looped on one mapping: PcapMmapReader::Rewind as the rewinder opens the file
// once, hands out the same packets (the same bytes, from the same mapping) on every pass.
TEST(ReplaySourceTest, RewinderKeepsOneMappedFileAcrossLoops) {
  const std::string path = ::testing::TempDir() + "/replay_rewind.pcap";
  {
    std::vector<uint8_t> f = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                              0xff, 0xff, 0, 0, 1, 0, 0, 0};  // little-endian, µs, Ethernet
    for (uint8_t i = 0; i < 5; ++i) {
      const uint8_t len = static_cast<uint8_t>(20 + i);
      const uint8_t rec[16] = {i, 0, 0, 0, 0, 0, 0, 0, len, 0, 0, 0, len, 0, 0, 0};
      f.insert(f.end(), rec, rec + 16);
      for (uint8_t k = 0; k < len; ++k) f.push_back(static_cast<uint8_t>(i * 16 + k));
    }
    FILE* out = std::fopen(path.c_str(), "wb");
    ASSERT_NE(out, nullptr);
    ASSERT_EQ(std::fwrite(f.data(), 1, f.size(), out), f.size());
    std::fclose(out);
  }
  int opens = 0, rewinds = 0;
  ReplayOptions o;
  o.top_speed = true;
  o.loops = 3;
  auto s = ReplaySource::Open(
      [&]() -> absl::StatusOr<std::unique_ptr<PacketSource>> {
        ++opens;
        auto r = PcapMmapReader::Open(path);
        if (!r.ok()) return r.status();
        return std::unique_ptr<PacketSource>(std::move(*r));
      },
      o,
      [&](PacketSource* src) -> absl::StatusOr<bool> {
        ++rewinds;
        absl::Status st = static_cast<PcapMmapReader*>(src)->Rewind();
        if (!st.ok()) return st;
        return true;
      });
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<const uint8_t*> ptrs;
  std::vector<std::vector<uint8_t>> bytes;
  absl::Status end;
  for (int guard = 0; guard < 100; ++guard) {
    absl::StatusOr<PacketBatch> b = (*s)->NextBatch(100);
    if (!b.ok()) {
      end = b.status();
      break;
    }
    for (const PacketView& p : *b) {
      ptrs.push_back(p.data);
      bytes.emplace_back(p.data, p.data + p.caplen);
    }
    (*s)->ReleaseBatch();
  }
  EXPECT_TRUE(absl::IsOutOfRange(end)) << end;
  EXPECT_EQ(opens, 1);
  EXPECT_EQ(rewinds, 2);
  ASSERT_EQ(bytes.size(), 15u);
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_EQ(bytes[i].size(), 20 + i);
    EXPECT_EQ(bytes[i][0], i * 16);
    for (size_t l = 1; l < 3; ++l) {
      EXPECT_EQ(bytes[l * 5 + i], bytes[i]) << "pass " << l << " packet " << i;
      EXPECT_EQ(ptrs[l * 5 + i], ptrs[i]) << "pass " << l << " packet " << i;
    }
  }
  std::remove(path.c_str());
}

// A rewinder that says no: the opener opens the next pass, as without one.
TEST(ReplaySourceTest, RewinderThatDeclinesFallsBackToTheOpener) {
  Counters c;
  ReplayOptions o;
  o.top_speed = true;
  o.loops = 2;
  int asked = 0;
  auto s = ReplaySource::Open(Opener(4, 1, 4, &c), o, [&](PacketSource*) -> absl::StatusOr<bool> {
    ++asked;
    return false;
  });
  ASSERT_TRUE(s.ok());
  absl::Status end;
  EXPECT_EQ(Drain(s->get(), &end).size(), 8u);
  EXPECT_EQ(c.opens, 2);
  EXPECT_EQ(asked, 1);
}

}  // namespace
}  // namespace pktkit
