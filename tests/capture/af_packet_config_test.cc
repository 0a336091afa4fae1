// Unit tests of the AF_PACKET configuration: fanout spec parsing and default ring geometry.
#include "pktkit/io/af_packet_config.h"

#include <gtest/gtest.h>

#include <string>

namespace pktkit {
namespace {

TEST(FanoutTest, ParsesEveryModeAndRejectsBadSpecs) {
  for (const char* m : {"hash", "lb", "cpu", "rollover", "random", "qm", "cbpf", "ebpf"}) {
    auto f = ParseFanout(std::string(m) + ":65535", true, true);
    ASSERT_TRUE(f.ok()) << m;
    EXPECT_STREQ(FanoutModeName(f->mode), m);
    EXPECT_EQ(f->group_id, 65535);
    EXPECT_EQ(f->OptionValue() & 0xffff, 65535u);
    EXPECT_EQ(f->OptionValue() >> 16, static_cast<uint32_t>(FanoutModeToKernel(f->mode)) |
                                          PACKET_FANOUT_FLAG_DEFRAG | PACKET_FANOUT_FLAG_ROLLOVER);
  }
  for (const char* bad : {"hash", "hash:", "hash:65536", "hash:-1", "bogus:1", ":1", "hash:1x"}) {
    auto f = ParseFanout(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(AfPacketConfigTest, DefaultBlockHoldsTheLargestFrame) {
  EXPECT_EQ(DefaultBlockBytes(262144, 1500), size_t{1} << 20);
  EXPECT_EQ(DefaultBlockBytes(65535, 9000), size_t{1} << 20);
  EXPECT_EQ(DefaultBlockBytes(1 << 20, 1500), size_t{2} << 20);
  EXPECT_GE(DefaultBlockBytes(64, 65535), size_t{65535} + 14 + 8 + 256);
  EXPECT_EQ(DefaultBlockBytes(64, 64) % PageBytes(), 0u);
}

}  // namespace
}  // namespace pktkit
