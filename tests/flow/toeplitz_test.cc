#include "pktkit/flow/toeplitz.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace pktkit {
namespace {

// Microsoft NDIS "Verifying the RSS Hash Calculation" (same table as the Intel 82599
// datasheet §7.1.2.8.3 suite): source, destination, ports, hash without and with ports.
struct Vector {
  const char* src;
  const char* dst;
  uint16_t sport;
  uint16_t dport;
  uint32_t hash_ip;
  uint32_t hash_ip_ports;
};

const Vector kIpv4Vectors[] = {
    {"66.9.149.187", "161.142.100.80", 2794, 1766, 0x323e8fc2, 0x51ccc178},
    {"199.92.111.2", "65.69.140.83", 14230, 4739, 0xd718262a, 0xc626b0ea},
    {"24.19.198.95", "12.22.207.184", 12898, 38024, 0xd2d0a5de, 0x5c2b394a},
    {"38.27.205.30", "209.142.163.6", 48228, 2217, 0x82989176, 0xafc7327f},
    {"153.39.163.191", "202.188.127.2", 44251, 1303, 0x5d1809c5, 0x10e828a2},
};

const Vector kIpv6Vectors[] = {
    {"3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766, 0x2cc18cd5, 0x40207d3d},
    {"3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739, 0x0f0c461c, 0xdde51bbf},
    {"3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf", 44251, 38024, 0x4b61e985,
     0x02d1feef},
};

const ToeplitzTable& MsTable() {
  static const ToeplitzTable* t = new ToeplitzTable(kMicrosoftRssKey, sizeof kMicrosoftRssKey);
  return *t;
}

TEST(ToeplitzTest, MicrosoftIpv4Vectors) {
  for (const Vector& v : kIpv4Vectors) {
    uint8_t s[4], d[4], in[kRssInputMaxSize];
    ASSERT_EQ(inet_pton(AF_INET, v.src, s), 1);
    ASSERT_EQ(inet_pton(AF_INET, v.dst, d), 1);
    size_t n = RssInputIpv4(s, d, v.sport, v.dport, false, in);
    EXPECT_EQ(ToeplitzHash(kMicrosoftRssKey, 40, in, n), v.hash_ip) << v.src;
    EXPECT_EQ(MsTable().Hash(in, n), v.hash_ip) << v.src;
    n = RssInputIpv4(s, d, v.sport, v.dport, true, in);
    EXPECT_EQ(ToeplitzHash(kMicrosoftRssKey, 40, in, n), v.hash_ip_ports) << v.src;
    EXPECT_EQ(MsTable().Hash(in, n), v.hash_ip_ports) << v.src;
  }
}

TEST(ToeplitzTest, MicrosoftIpv6Vectors) {
  for (const Vector& v : kIpv6Vectors) {
    uint8_t s[16], d[16], in[kRssInputMaxSize];
    ASSERT_EQ(inet_pton(AF_INET6, v.src, s), 1);
    ASSERT_EQ(inet_pton(AF_INET6, v.dst, d), 1);
    size_t n = RssInputIpv6(s, d, v.sport, v.dport, false, in);
    EXPECT_EQ(ToeplitzHash(kMicrosoftRssKey, 40, in, n), v.hash_ip) << v.src;
    EXPECT_EQ(MsTable().Hash(in, n), v.hash_ip) << v.src;
    n = RssInputIpv6(s, d, v.sport, v.dport, true, in);
    EXPECT_EQ(ToeplitzHash(kMicrosoftRssKey, 40, in, n), v.hash_ip_ports) << v.src;
    EXPECT_EQ(MsTable().Hash(in, n), v.hash_ip_ports) << v.src;
  }
}

TEST(ToeplitzTest, RejectsKeyShorterThanInputPlusFour) {
  uint8_t in[kRssInputMaxSize] = {1};
  EXPECT_EQ(ToeplitzHash(kMicrosoftRssKey, 15, in, 12), 0u);
  EXPECT_NE(ToeplitzHash(kMicrosoftRssKey, 16, in, 12), 0u);
  EXPECT_EQ(MsTable().Hash(in, kRssInputMaxSize + 1), 0u);
  ToeplitzTable small(kMicrosoftRssKey, 16);
  EXPECT_EQ(small.max_input_size(), 12u);
  EXPECT_EQ(small.Hash(in, 12), ToeplitzHash(kMicrosoftRssKey, 16, in, 12));
}

TEST(ToeplitzTest, SymmetricKeyIsSymmetricForSwappedEndpoints) {
  std::mt19937_64 rng(1);
  const ToeplitzTable sym(kSymmetricRssKey, sizeof kSymmetricRssKey);
  for (int i = 0; i < 10000; ++i) {
    uint8_t s[16], d[16], a[kRssInputMaxSize], b[kRssInputMaxSize];
    for (auto& x : s) x = static_cast<uint8_t>(rng());
    for (auto& x : d) x = static_cast<uint8_t>(rng());
    const uint16_t sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
    const bool v6 = i & 1;
    const bool ports = i & 2;
    size_t n = v6 ? RssInputIpv6(s, d, sp, dp, ports, a) : RssInputIpv4(s, d, sp, dp, ports, a);
    v6 ? RssInputIpv6(d, s, dp, sp, ports, b) : RssInputIpv4(d, s, dp, sp, ports, b);
    EXPECT_EQ(sym.Hash(a, n), sym.Hash(b, n));
    EXPECT_EQ(ToeplitzHash(kSymmetricRssKey, 40, a, n), sym.Hash(a, n));
    // The default key is not symmetric (checked loosely: a 32-bit collision is ~2^-32).
    if (i < 100) {
      EXPECT_NE(MsTable().Hash(a, n), MsTable().Hash(b, n));
    }
  }
}

// The 0x6d5a key's window repeats every 16 bits, so the hash is a function of the XOR of the
// input's 16-bit words, and its high half equals its low half: at most 65,536 values.
TEST(ToeplitzTest, SymmetricKeyHasAtMost65536DistinctValues) {
  const ToeplitzTable sym(kSymmetricRssKey, sizeof kSymmetricRssKey);
  std::mt19937_64 rng(7);
  std::vector<bool> seen(65536);
  size_t distinct = 0;
  constexpr int kFlows = 1 << 20;
  for (int i = 0; i < kFlows; ++i) {
    uint8_t in[12];
    for (auto& x : in) x = static_cast<uint8_t>(rng());
    const uint32_t h = sym.Hash(in, sizeof in);
    ASSERT_EQ(h >> 16, h & 0xffff);
    uint16_t fold = 0;
    for (size_t j = 0; j < sizeof in; j += 2) fold ^= static_cast<uint16_t>(in[j] << 8 | in[j + 1]);
    uint8_t folded[12] = {static_cast<uint8_t>(fold >> 8), static_cast<uint8_t>(fold)};
    ASSERT_EQ(sym.Hash(folded, sizeof folded), h);
    if (!seen[h & 0xffff]) {
      seen[h & 0xffff] = true;
      ++distinct;
    }
  }
  // 2^20 random inputs over 2^16 values leave each one unseen with probability e^-16.
  EXPECT_LE(distinct, 65536u);
  EXPECT_GT(distinct, 65000u);
  // The default key over the same number of inputs gives far more distinct values.
  std::vector<uint32_t> ms;
  for (int i = 0; i < 200000; ++i) {
    uint8_t in[12];
    for (auto& x : in) x = static_cast<uint8_t>(rng());
    ms.push_back(MsTable().Hash(in, sizeof in));
  }
  std::sort(ms.begin(), ms.end());
  const size_t ms_distinct = static_cast<size_t>(std::unique(ms.begin(), ms.end()) - ms.begin());
  EXPECT_GT(ms_distinct, 190000u);
}

TEST(ToeplitzTest, SymmetricToeplitzOfKeyMatchesNicInputEitherDirection) {
  FlowKey k =
      FlowKey::Make(4, reinterpret_cast<const uint8_t*>("\x0a\x00\x00\x01"),
                    reinterpret_cast<const uint8_t*>("\xc0\xa8\x01\x02"), 1234, 80, kIpProtoTcp);
  uint8_t in[kRssInputMaxSize];
  const uint8_t s[4] = {192, 168, 1, 2}, d[4] = {10, 0, 0, 1};
  const size_t n = RssInputIpv4(s, d, 80, 1234, true, in);
  EXPECT_EQ(SymmetricToeplitzHash(k, true), ToeplitzHash(kSymmetricRssKey, 40, in, n));
}

}  // namespace
}  // namespace pktkit
