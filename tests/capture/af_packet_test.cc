// Integration tests of AfPacketSource on a veth pair inside a private network namespace.
// Needs root: each test calls unshare(CLONE_NEWNET) (works inside the Bazel linux-sandbox as
// root) and skips with the reason where that is impossible.
#include "pktkit/io/af_packet.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/capture/netns.h"

namespace pktkit {
namespace {

using testing::MakeVeth;
using testing::RawSender;
using testing::Sh;
using testing::UdpFrame;

constexpr uint8_t kTestMac = 0x11;  // source MAC low byte of every frame the tests send

class AfPacketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!testing::EnterNewNetns(&why)) GTEST_SKIP() << why;
    ASSERT_TRUE(MakeVeth("v0", "v1", 9000));
  }

  static AfPacketConfig Config(const std::string& ifname) {
    AfPacketConfig c;
    c.interface = ifname;
    c.buffer_bytes = 8 << 20;
    c.block_timeout_ms = 5;
    return c;
  }

  // Reads until `want` test frames arrived or `max_rounds` empty polls passed.
  static std::vector<std::vector<uint8_t>> Collect(AfPacketSource* s, size_t want,
                                                   int max_rounds = 40) {
    std::vector<std::vector<uint8_t>> got;
    for (int empty = 0; got.size() < want && empty < max_rounds;) {
      absl::StatusOr<PacketBatch> b = s->NextBatch(50);
      EXPECT_TRUE(b.ok()) << b.status();
      if (!b.ok()) break;
      if (b->empty()) ++empty;
      for (const PacketView& v : *b) {
        if (v.caplen >= 12 && v.data[11] == kTestMac) got.emplace_back(v.data, v.data + v.caplen);
      }
      s->ReleaseBatch();
    }
    return got;
  }
};

TEST_F(AfPacketTest, DeliversFramesByteIdenticalWithTagsReinserted) {
  auto src = AfPacketSource::Open(Config("v1"));
  ASSERT_TRUE(src.ok()) << src.status();
  RawSender tx("v0");
  ASSERT_TRUE(tx.ok());
  const uint32_t a = 0x0a000001, b = 0x0a000002;
  std::vector<std::vector<uint8_t>> sent = {
      UdpFrame(kTestMac, a, b, 1, 2, 18),                       // minimum frame
      UdpFrame(kTestMac, a, b, 1, 2, 1472),                     // 1514 bytes
      UdpFrame(kTestMac, a, b, 1, 2, 9000 - 28),                // jumbo at the MTU
      UdpFrame(kTestMac, a, b, 1, 2, 100, {{0x8100, 0x0064}}),  // 802.1Q VID 100
      UdpFrame(kTestMac, a, b, 1, 2, 100, {{0x8100, 0xf00a}}),  // PCP 7, DEI 1
      UdpFrame(kTestMac, a, b, 1, 2, 100, {{0x88a8, 0x2123}}),  // 802.1ad S-tag
      UdpFrame(kTestMac, a, b, 1, 2, 100, {{0x88a8, 0x0010}, {0x8100, 0x0020}}),  // QinQ
      UdpFrame(kTestMac, a, b, 1, 2, 9000 - 28, {{0x8100, 0x0005}}),              // tagged jumbo
  };
  for (const auto& f : sent) ASSERT_TRUE(tx.Send(f)) << f.size();
  std::vector<std::vector<uint8_t>> got = Collect(src->get(), sent.size());
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(got[i], sent[i]) << "frame " << i;
  const AfPacketStats st = (*src)->Stats();
  // The kernel stripped the outer tag of the five tagged frames; the walker put each back.
  EXPECT_EQ(st.ring.vlan_reinserted, 5u);
  EXPECT_EQ(st.kernel_drops, 0u);
  EXPECT_EQ(st.ring.error(RingError::kVlanNoHeadroom), 0u);
}

TEST_F(AfPacketTest, FanoutHashSendsBothDirectionsOfAFlowToOneMember) {
  AfPacketConfig c = Config("v1");
  auto fanout = ParseFanout("hash:23");
  ASSERT_TRUE(fanout.ok());
  c.fanout = *fanout;
  auto m0 = AfPacketSource::Open(c);
  auto m1 = AfPacketSource::Open(c);
  ASSERT_TRUE(m0.ok()) << m0.status();
  ASSERT_TRUE(m1.ok()) << m1.status();
  RawSender tx("v0");
  constexpr int kFlows = 32;
  for (int i = 0; i < kFlows; ++i) {
    const uint32_t x = 0x0a000001 + i, y = 0x0a010001 + 3 * i;
    const uint16_t px = static_cast<uint16_t>(1000 + i), py = static_cast<uint16_t>(2000 + i);
    ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, x, y, px, py, 32)));
    ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, y, x, py, px, 32)));
  }
  // Flow id = the smaller source port of the pair; member index per flow and direction.
  std::map<int, std::set<int>> members;
  size_t total = 0;
  for (int member = 0; member < 2; ++member) {
    AfPacketSource* s = (member == 0 ? *m0 : *m1).get();
    for (const auto& f : Collect(s, 2 * kFlows, 10)) {
      const uint16_t sport = static_cast<uint16_t>(f[34] << 8 | f[35]);
      members[sport >= 2000 ? sport - 1000 : sport].insert(member);
      ++total;
    }
  }
  EXPECT_EQ(total, 2u * kFlows);
  ASSERT_EQ(members.size(), static_cast<size_t>(kFlows));
  std::set<int> used;
  for (const auto& [flow, m] : members) {
    EXPECT_EQ(m.size(), 1u) << "flow " << flow << " split across members";
    used.insert(*m.begin());
  }
  EXPECT_EQ(used.size(), 2u) << "32 flows all hashed to one member";
}

TEST_F(AfPacketTest, FanoutIdTakenByAnotherInterfaceIsAClearError) {
  AfPacketConfig c = Config("v1");
  c.fanout = *ParseFanout("hash:7");
  auto first = AfPacketSource::Open(c);
  ASSERT_TRUE(first.ok()) << first.status();
  c.interface = "v0";
  auto second = AfPacketSource::Open(c);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("already used"), std::string::npos) << second.status();
  EXPECT_NE(second.status().message().find("v0"), std::string::npos);
}

TEST_F(AfPacketTest, KernelFilterKeepsRejectedPacketsOutOfTheRing) {
  AfPacketConfig c = Config("v1");
  c.bpf = "udp dst port 1000";
  auto src = AfPacketSource::Open(c);
  ASSERT_TRUE(src.ok()) << src.status();
  RawSender tx("v0");
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 1000, 20)));
    ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 2000, 20)));
  }
  std::vector<std::vector<uint8_t>> got = Collect(src->get(), 41, 6);
  EXPECT_EQ(got.size(), 40u);
  for (const auto& f : got) EXPECT_EQ(f[36] << 8 | f[37], 1000);
  const AfPacketStats st = (*src)->Stats();
  EXPECT_EQ(st.kernel_packets, 40u);  // the other 40 never reached the socket
  EXPECT_EQ(st.ring.packets, 40u);
  EXPECT_GE(st.filtered, 40u);
}

TEST_F(AfPacketTest, KernelVlanFilterSeesTheStrippedTag) {
  AfPacketConfig c = Config("v1");
  c.bpf = "vlan 10";
  auto src = AfPacketSource::Open(c);
  ASSERT_TRUE(src.ok()) << src.status();
  EXPECT_TRUE((*src)->vlan_aware_filter());
  RawSender tx("v0");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 6, 20, {{0x8100, 10}})));
    ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 6, 20, {{0x8100, 20}})));
    ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 6, 20)));
  }
  std::vector<std::vector<uint8_t>> got = Collect(src->get(), 11, 6);
  ASSERT_EQ(got.size(), 10u);
  for (const auto& f : got) {
    EXPECT_EQ(f[12], 0x81);
    EXPECT_EQ(f[15], 10);  // VID 10, reinserted
  }
}

TEST_F(AfPacketTest, StalledReaderReportsKernelDrops) {
  AfPacketConfig c = Config("v1");
  c.block_bytes = 64 << 10;
  c.buffer_bytes = 4 * c.block_bytes;  // 256 KiB ring
  c.snaplen = 2048;
  auto src = AfPacketSource::Open(c);
  ASSERT_TRUE(src.ok()) << src.status();
  RawSender tx("v0");
  constexpr int kSent = 2000;
  for (int i = 0; i < kSent; ++i) ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 6, 1000)));
  // Nobody read while the frames arrived: the ring (about 240 frames) overflowed.
  const size_t captured = Collect(src->get(), kSent, 5).size();
  const AfPacketStats st = (*src)->Stats();
  EXPECT_GT(st.kernel_drops, 0u);
  EXPECT_LT(captured, static_cast<size_t>(kSent));
  // Every frame that reached the socket was either captured or counted as a drop.
  EXPECT_EQ(captured + st.kernel_drops, st.kernel_packets);
  EXPECT_LE(st.kernel_packets, static_cast<uint64_t>(kSent));
}

TEST_F(AfPacketTest, ResumesAfterLinkDownAndUpWithoutRestart) {
  std::vector<std::string> events;
  AfPacketConfig c = Config("v1");
  c.reopen_initial_backoff_ms = 20;
  c.reopen_max_backoff_ms = 100;
  auto src = AfPacketSource::Open(c, [&](const std::string& e) { events.push_back(e); });
  ASSERT_TRUE(src.ok()) << src.status();
  RawSender tx("v0");
  ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 6, 20)));
  ASSERT_EQ(Collect(src->get(), 1).size(), 1u);

  ASSERT_TRUE(Sh("ip link set v1 down"));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*src)->NextBatch(20).ok());
  EXPECT_FALSE((*src)->is_open());
  EXPECT_EQ((*src)->Stats().link_down, 1u);  // reported once, not once per poll
  ASSERT_TRUE(Sh("ip link set v1 up"));
  for (int i = 0; i < 100 && !(*src)->is_open(); ++i) ASSERT_TRUE((*src)->NextBatch(20).ok());
  ASSERT_TRUE((*src)->is_open());
  ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 7, 20)));
  std::vector<std::vector<uint8_t>> got = Collect(src->get(), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0][37], 7);
  const AfPacketStats st = (*src)->Stats();
  EXPECT_EQ(st.link_down, 1u);
  EXPECT_EQ(st.reopens, 1u);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(events[0].find("v1"), std::string::npos);
  EXPECT_NE(events[1].find("re-opened"), std::string::npos);
}

TEST_F(AfPacketTest, ResumesWhenTheInterfaceIsRemovedAndCreatedAgain) {
  AfPacketConfig c = Config("v1");
  c.reopen_initial_backoff_ms = 20;
  c.reopen_max_backoff_ms = 100;
  auto src = AfPacketSource::Open(c);
  ASSERT_TRUE(src.ok()) << src.status();
  ASSERT_TRUE(Sh("ip link del v0"));  // takes v1 with it
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*src)->NextBatch(20).ok());
  EXPECT_FALSE((*src)->is_open());
  ASSERT_TRUE(MakeVeth("v0", "v1", 1500));
  for (int i = 0; i < 100 && !(*src)->is_open(); ++i) ASSERT_TRUE((*src)->NextBatch(20).ok());
  ASSERT_TRUE((*src)->is_open());
  RawSender tx("v0");
  ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 8, 20)));
  EXPECT_EQ(Collect(src->get(), 1).size(), 1u);
}

// An event loop that reads SO_ERROR itself (libkqueue under Zeek does) clears the error before
// NextBatch can see it; CheckLink notices the vanished interface anyway, once.
TEST_F(AfPacketTest, CheckLinkNoticesARemovedInterfaceWhoseErrorWasConsumed) {
  std::vector<std::string> events;
  AfPacketConfig c = Config("v1");
  c.reopen_initial_backoff_ms = 20;
  c.reopen_max_backoff_ms = 100;
  auto src = AfPacketSource::Open(c, [&](const std::string& e) { events.push_back(e); });
  ASSERT_TRUE(src.ok()) << src.status();
  EXPECT_TRUE((*src)->CheckLink());
  ASSERT_TRUE(Sh("ip link del v0"));  // takes v1 with it
  int err = 0;
  socklen_t len = sizeof err;
  ASSERT_EQ(getsockopt((*src)->fd(), SOL_SOCKET, SO_ERROR, &err, &len), 0);  // someone else's read
  EXPECT_EQ(err, ENETDOWN);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*src)->NextBatch(20).ok());
  EXPECT_TRUE((*src)->is_open());  // the error is gone: NextBatch alone cannot tell
  EXPECT_FALSE((*src)->CheckLink());
  EXPECT_FALSE((*src)->is_open());
  EXPECT_FALSE((*src)->CheckLink());  // already closed: no second report
  ASSERT_TRUE(MakeVeth("v0", "v1", 1500));
  for (int i = 0; i < 100 && !(*src)->is_open(); ++i) ASSERT_TRUE((*src)->NextBatch(20).ok());
  ASSERT_TRUE((*src)->is_open());
  EXPECT_TRUE((*src)->CheckLink());
  RawSender tx("v0");
  ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 9, 20)));
  EXPECT_EQ(Collect(src->get(), 1).size(), 1u);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(events[0].find("Network is down"), std::string::npos) << events[0];
  EXPECT_NE(events[1].find("re-opened"), std::string::npos);
  EXPECT_EQ((*src)->Stats().link_down, 1u);
}

TEST_F(AfPacketTest, FanoutCbpfProgramPicksTheMember) {
  AfPacketConfig c = Config("v1");
  c.fanout = *ParseFanout("cbpf:31");
  c.fanout.cbpf_program = {sock_filter{BPF_RET | BPF_K, 0, 0, 1}};  // always member 1
  auto m0 = AfPacketSource::Open(c);
  ASSERT_TRUE(m0.ok()) << m0.status();
  auto m1 = AfPacketSource::Open(c);
  ASSERT_TRUE(m1.ok()) << m1.status();
  RawSender tx("v0");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, i, 2, 5, 6, 20)));
  EXPECT_EQ(Collect(m1->get(), 10).size(), 10u);
  EXPECT_EQ(Collect(m0->get(), 1, 4).size(), 0u);
}

TEST_F(AfPacketTest, IgnoreOutgoingDropsThisHostsOwnPackets) {
  AfPacketConfig c = Config("v0");
  auto all = AfPacketSource::Open(c);
  c.ignore_outgoing = true;
  auto in_only = AfPacketSource::Open(c);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_TRUE(in_only.ok()) << in_only.status();
  RawSender tx("v0");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(tx.Send(UdpFrame(kTestMac, 1, 2, 5, 6, 20)));
  EXPECT_EQ(Collect(all->get(), 5).size(), 5u);
  EXPECT_EQ(Collect(in_only->get(), 1, 4).size(), 0u);
}

TEST_F(AfPacketTest, HardwareTimestampsOnVethAreAClearError) {
  AfPacketConfig c = Config("v1");
  c.hardware_timestamps = true;
  auto src = AfPacketSource::Open(c);
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), absl::StatusCode::kFailedPrecondition) << src.status();
  EXPECT_NE(src.status().message().find("hardware"), std::string::npos);
}

TEST_F(AfPacketTest, UnknownInterfaceIsNotFound) {
  auto src = AfPacketSource::Open(Config("nosuch0"));
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(src.status().message().find("nosuch0"), std::string::npos);
}

}  // namespace
}  // namespace pktkit
