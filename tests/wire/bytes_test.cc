#include "pktkit/wire/bytes.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace pktkit {
namespace {

TEST(ByteReaderTest, ReadsBigEndianAtAnyAlignment) {
  const uint8_t buf[] = {0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
  ByteReader r(buf + 1, sizeof buf - 1);
  uint16_t a = 0;
  uint32_t b = 0;
  uint8_t c = 0;
  ASSERT_TRUE(r.ReadU16(&a));
  ASSERT_TRUE(r.ReadU32(&b));
  ASSERT_TRUE(r.ReadU8(&c));
  EXPECT_EQ(a, 0x0102);
  EXPECT_EQ(b, 0x03040506u);
  EXPECT_EQ(c, 0x07);
  EXPECT_EQ(r.remaining(), 2u);
}

TEST(ByteReaderTest, ReadsMaximumValues) {
  const uint8_t buf[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  ByteReader r(buf, sizeof buf);
  uint64_t v = 0;
  ASSERT_TRUE(r.ReadU64(&v));
  EXPECT_EQ(v, UINT64_MAX);
  ByteReader r24(buf, 3);
  uint32_t v24 = 0;
  ASSERT_TRUE(r24.ReadU24(&v24));
  EXPECT_EQ(v24, 0xffffffu);
}

TEST(ByteReaderTest, FailurePoisonsEveryLaterRead) {
  const uint8_t buf[3] = {1, 2, 3};
  ByteReader r(buf, sizeof buf);
  uint32_t v = 0;
  EXPECT_FALSE(r.ReadU32(&v));
  EXPECT_FALSE(r.ok());
  uint8_t b = 0;
  EXPECT_FALSE(r.ReadU8(&b));  // would fit, but the reader is poisoned
  EXPECT_TRUE(r.Rest().empty());
}

TEST(ByteReaderTest, SkipCannotOverflow) {
  const uint8_t buf[4] = {};
  ByteReader r(buf, sizeof buf);
  ASSERT_TRUE(r.Skip(1));
  EXPECT_FALSE(r.Skip(SIZE_MAX));  // pos + n would wrap; size - pos cannot
  EXPECT_FALSE(r.ok());
}

TEST(ByteReaderTest, SeekAndSubReader) {
  const uint8_t buf[6] = {0, 1, 2, 3, 4, 5};
  ByteReader r(buf, sizeof buf);
  ASSERT_TRUE(r.Seek(2));
  ByteReader sub(nullptr, 0);
  ASSERT_TRUE(r.ReadSubReader(3, &sub));
  EXPECT_EQ(sub.size(), 3u);
  uint8_t x = 0;
  ASSERT_TRUE(sub.ReadU8(&x));
  EXPECT_EQ(x, 2);
  EXPECT_EQ(r.position(), 5u);
  EXPECT_FALSE(r.Seek(7));
}

TEST(ByteReaderTest, EveryShorterLengthFailsCleanly) {
  const uint8_t buf[15] = {};
  for (size_t len = 0; len < sizeof buf; ++len) {
    ByteReader r(buf, len);
    uint8_t a;
    uint16_t b;
    uint32_t c;
    uint64_t d;
    bool all = r.ReadU8(&a) && r.ReadU16(&b) && r.ReadU32(&c) && r.ReadU64(&d);
    EXPECT_FALSE(all) << len;
    EXPECT_LE(r.position(), len);
  }
}

TEST(ByteWriterTest, WritesBigEndianAndRoundTrips) {
  uint8_t buf[18] = {};
  ByteWriter w(buf, sizeof buf);
  ASSERT_TRUE(w.WriteU8(0xab));
  ASSERT_TRUE(w.WriteU16(0x1234));
  ASSERT_TRUE(w.WriteU24(0xfedcba));
  ASSERT_TRUE(w.WriteU32(0xdeadbeef));
  ASSERT_TRUE(w.WriteU64(0x0102030405060708ull));
  ASSERT_FALSE(w.WriteU8(0));  // full: 1+2+3+4+8 = 18
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(buf[0], 0xab);
  EXPECT_EQ(buf[1], 0x12);
  EXPECT_EQ(buf[3], 0xfe);
  ByteReader r(buf, w.size());
  uint8_t a;
  uint16_t b;
  uint32_t c, d;
  uint64_t e;
  ASSERT_TRUE(r.ReadU8(&a) && r.ReadU16(&b) && r.ReadU24(&c) && r.ReadU32(&d) && r.ReadU64(&e));
  EXPECT_EQ(b, 0x1234);
  EXPECT_EQ(c, 0xfedcbau);
  EXPECT_EQ(d, 0xdeadbeefu);
  EXPECT_EQ(e, 0x0102030405060708ull);
}

TEST(ByteWriterTest, ReserveFillsLater) {
  uint8_t buf[4] = {};
  ByteWriter w(buf, sizeof buf);
  uint8_t* slot = nullptr;
  ASSERT_TRUE(w.Reserve(2, &slot));
  ASSERT_TRUE(w.WriteU16(7));
  StoreBe16(slot, 0xbeef);
  EXPECT_EQ(LoadBe16(buf), 0xbeef);
  EXPECT_FALSE(w.Reserve(1, &slot));
}

}  // namespace
}  // namespace pktkit
