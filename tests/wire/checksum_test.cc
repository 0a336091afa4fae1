#include "pktkit/wire/checksum.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace pktkit {
namespace {

// RFC 1071 §3 worked example: the sum of 0001 f203 f4f5 f6f7 is ddf2 (checksum 220d).
TEST(ChecksumTest, Rfc1071Example) {
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(InternetChecksum(data, sizeof data), 0x220d);
}

// A real IPv4 header (from a capture): its checksum field 0xb861 verifies to zero.
TEST(ChecksumTest, RealIpv4HeaderVerifiesToZero) {
  const uint8_t hdr[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                         0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(InternetChecksum(hdr, sizeof hdr), 0);
  uint8_t zeroed[sizeof hdr];
  for (size_t i = 0; i < sizeof hdr; ++i) zeroed[i] = hdr[i];
  zeroed[10] = zeroed[11] = 0;
  EXPECT_EQ(InternetChecksum(zeroed, sizeof zeroed), 0xb861);
}

TEST(ChecksumTest, SplitsAtAnyOffsetGiveTheSameSum) {
  std::vector<uint8_t> data(37);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 37 + 11);
  const uint16_t whole = InternetChecksum(data.data(), data.size());
  for (size_t a = 0; a <= data.size(); ++a) {
    for (size_t b = a; b <= data.size(); ++b) {
      ChecksumAccumulator acc;
      acc.Add(data.data(), a);
      acc.Add(data.data() + a, b - a);
      acc.Add(data.data() + b, data.size() - b);
      ASSERT_EQ(acc.Finish(), whole) << a << "," << b;
    }
  }
}

TEST(ChecksumTest, AllOnesInputGivesZero) {
  std::vector<uint8_t> data(1 << 20, 0xff);
  EXPECT_EQ(InternetChecksum(data.data(), data.size()), 0);
}

}  // namespace
}  // namespace pktkit
