#include "pktkit/wire/vxlan.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace pktkit {
namespace {

// VXLAN header, VNI 123 (as in the shared vxlan.pcap), followed by 4 payload bytes.
const uint8_t kVni123[] = {
    0x08,                    // flags: I
    0x00, 0x00, 0x00,        // reserved
    0x00, 0x00, 0x7b,        // VNI 123
    0x00,                    // reserved
    0xde, 0xad, 0xbe, 0xef,  // inner bytes
};

TEST(VxlanTest, ParsesVniAndPayload) {
  VxlanHeader h;
  ByteSpan payload;
  ASSERT_EQ(ParseVxlan(ByteSpan(kVni123, sizeof kVni123), &h, &payload), VxlanError::kOk);
  EXPECT_EQ(h.flags, kVxlanFlagI);
  EXPECT_EQ(h.vni.value(), 123u);
  EXPECT_EQ(payload.data, kVni123 + 8);
  EXPECT_EQ(payload.size, 4u);
}

TEST(VxlanTest, TruncatedAtEveryShorterLength) {
  for (size_t n = 0; n < kVxlanHeaderSize; ++n) {
    VxlanHeader h;
    ByteSpan payload(kVni123, 1);
    EXPECT_EQ(ParseVxlan(ByteSpan(kVni123, n), &h, &payload), VxlanError::kTruncated) << n;
    EXPECT_TRUE(payload.empty());
  }
  VxlanHeader h;
  ByteSpan payload;
  EXPECT_EQ(ParseVxlan(ByteSpan(kVni123, 8), &h, &payload), VxlanError::kOk);
  EXPECT_TRUE(payload.empty());
}

TEST(VxlanTest, RequiresIFlag) {
  uint8_t b[8] = {0x00, 0, 0, 0, 0, 0, 1, 0};
  VxlanHeader h;
  ByteSpan payload;
  EXPECT_EQ(ParseVxlan(ByteSpan(b, 8), &h, &payload), VxlanError::kBadFlags);
  b[0] = 0xf7;  // every bit but I
  EXPECT_EQ(ParseVxlan(ByteSpan(b, 8), &h, &payload), VxlanError::kBadFlags);
}

TEST(VxlanTest, IgnoresReservedFlagBitsByDefault) {
  const uint8_t b[8] = {0x88, 0x12, 0x34, 0x56, 0, 0, 1, 0x9a};
  VxlanHeader h;
  ByteSpan payload;
  ASSERT_EQ(ParseVxlan(ByteSpan(b, 8), &h, &payload), VxlanError::kOk);
  EXPECT_EQ(h.vni.value(), 1u);
  EXPECT_EQ(h.reserved1, 0x123456u);
  EXPECT_EQ(h.reserved2, 0x9a);
}

TEST(VxlanTest, RejectsReservedFlagBitsWhenStrict) {
  for (int bit = 0; bit < 8; ++bit) {
    const uint8_t flag = static_cast<uint8_t>(1u << bit);
    if (flag == kVxlanFlagI) continue;
    const uint8_t b[8] = {static_cast<uint8_t>(kVxlanFlagI | flag), 0, 0, 0, 0, 0, 1, 0};
    VxlanHeader h;
    ByteSpan payload;
    EXPECT_EQ(ParseVxlan(ByteSpan(b, 8), &h, &payload, VxlanStrictness::kStrict),
              VxlanError::kBadFlags)
        << bit;
  }
  // Reserved bytes (not flags) stay ignored even when strict: RFC 7348 §5.
  const uint8_t ok[8] = {kVxlanFlagI, 0xff, 0xff, 0xff, 0, 0, 1, 0xff};
  VxlanHeader h;
  ByteSpan payload;
  EXPECT_EQ(ParseVxlan(ByteSpan(ok, 8), &h, &payload, VxlanStrictness::kStrict), VxlanError::kOk);
}

TEST(VxlanTest, MaxValuesRoundTrip) {
  const uint8_t b[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  VxlanHeader h;
  ByteSpan payload;
  ASSERT_EQ(ParseVxlan(ByteSpan(b, 8), &h, &payload), VxlanError::kOk);
  EXPECT_EQ(h.vni.value(), 0xffffffu);
  EXPECT_EQ(h.vni.value(), Vni::kMax);
  uint8_t out[8] = {};
  ByteWriter w(out, sizeof out);
  ASSERT_TRUE(SerializeVxlan(h, &w));
  EXPECT_EQ(std::vector<uint8_t>(out, out + 8), std::vector<uint8_t>(b, b + 8));
}

TEST(VxlanTest, ParseSerializeRoundTrip) {
  VxlanHeader h;
  ByteSpan payload;
  ASSERT_EQ(ParseVxlan(ByteSpan(kVni123, sizeof kVni123), &h, &payload), VxlanError::kOk);
  uint8_t out[8] = {};
  ByteWriter w(out, sizeof out);
  ASSERT_TRUE(SerializeVxlan(h, &w));
  EXPECT_EQ(w.size(), kVxlanHeaderSize);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 8), std::vector<uint8_t>(kVni123, kVni123 + 8));
}

TEST(VxlanTest, DefaultHeaderIsStandard) {
  VxlanHeader h;
  h.vni = Vni::FromMasked(0x123456);
  uint8_t out[8] = {};
  ByteWriter w(out, sizeof out);
  ASSERT_TRUE(SerializeVxlan(h, &w));
  const uint8_t want[8] = {0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0};
  EXPECT_EQ(std::vector<uint8_t>(out, out + 8), std::vector<uint8_t>(want, want + 8));
}

TEST(VxlanTest, SerializeFailsOnShortCapacity) {
  for (size_t cap = 0; cap < kVxlanHeaderSize; ++cap) {
    uint8_t out[8] = {};
    ByteWriter w(out, cap);
    EXPECT_FALSE(SerializeVxlan(VxlanHeader(), &w)) << cap;
    EXPECT_FALSE(w.ok());
    EXPECT_EQ(w.size(), 0u);
  }
}

TEST(VxlanTest, ErrorNamesAreSnakeCase) {
  EXPECT_STREQ(VxlanErrorName(VxlanError::kOk), "ok");
  EXPECT_STREQ(VxlanErrorName(VxlanError::kTruncated), "truncated");
  EXPECT_STREQ(VxlanErrorName(VxlanError::kBadFlags), "bad_flags");
}

}  // namespace
}  // namespace pktkit
