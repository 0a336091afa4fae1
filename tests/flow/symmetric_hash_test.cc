#include "pktkit/flow/symmetric_hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "pktkit/flow/flow_key.h"

namespace pktkit {
namespace {

FlowKey RandomKey(std::mt19937_64& rng, bool v6, bool* reversed_out = nullptr,
                  FlowKey* swapped = nullptr) {
  uint8_t s[16], d[16];
  for (auto& x : s) x = static_cast<uint8_t>(rng());
  for (auto& x : d) x = static_cast<uint8_t>(rng());
  const uint16_t sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
  const uint8_t f = v6 ? 6 : 4;
  if (swapped != nullptr) *swapped = FlowKey::Make(f, d, s, dp, sp, kIpProtoTcp);
  return FlowKey::Make(f, s, d, sp, dp, kIpProtoTcp, reversed_out);
}

// Pearson chi-square of `counts` against a uniform expectation.
double ChiSquare(const std::vector<uint64_t>& counts, uint64_t total) {
  const double expected = static_cast<double>(total) / counts.size();
  double chi = 0;
  for (uint64_t c : counts) chi += (c - expected) * (c - expected) / expected;
  return chi;
}

TEST(SymmetricHashTest, SwappedEndpointsHashEqualForEverySeed) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) {
    FlowKey swapped;
    const FlowKey k = RandomKey(rng, i & 1, nullptr, &swapped);
    const uint64_t seed = rng();
    ASSERT_EQ(k, swapped);
    EXPECT_EQ(HashFlowKey(k, seed), HashFlowKey(swapped, seed));
  }
}

TEST(SymmetricHashTest, EveryFieldAndTheSeedChangeTheHash) {
  std::mt19937_64 rng(5);
  const FlowKey k = RandomKey(rng, true);
  const uint32_t h = HashFlowKey(k, 1);
  EXPECT_NE(HashFlowKey(k, 2), h);
  for (size_t byte = 0; byte < 16; ++byte) {
    FlowKey a = k;
    a.addr_lo[byte] ^= 1;
    EXPECT_NE(HashFlowKey(a, 1), h) << byte;
    FlowKey b = k;
    b.addr_hi[byte] ^= 0x80;
    EXPECT_NE(HashFlowKey(b, 1), h) << byte;
  }
  FlowKey p = k;
  p.port_lo ^= 1;
  EXPECT_NE(HashFlowKey(p, 1), h);
  p = k;
  p.port_hi ^= 0x8000;
  EXPECT_NE(HashFlowKey(p, 1), h);
  p = k;
  p.protocol = kIpProtoUdp;
  EXPECT_NE(HashFlowKey(p, 1), h);
  p = k;
  p.family = 4;
  EXPECT_NE(HashFlowKey(p, 1), h);
}

// Spread over 1024 buckets (top 10 bits and bottom 10 bits) for random flows and for the
// structured flows a balancer really sees (one server, sequential client ports; a /16 of
// clients). Chi-square with 1023 degrees of freedom has mean 1023 and s.d. ~45; the bound
// 1400 (~8 s.d.) fails only for a real defect, never by chance.
TEST(SymmetricHashTest, SpreadsRandomAndStructuredFlowsEvenly) {
  constexpr int kBuckets = 1024;
  constexpr uint64_t kFlows = 1 << 20;
  std::mt19937_64 rng(11);
  struct Case {
    const char* name;
    int kind;
  };
  for (const Case& c : {Case{"random_v4", 0}, Case{"random_v6", 1}, Case{"sequential_ports", 2},
                        Case{"client_slash16", 3}}) {
    std::vector<uint64_t> hi(kBuckets), lo(kBuckets);
    const uint64_t seed = rng();
    for (uint64_t i = 0; i < kFlows; ++i) {
      FlowKey k;
      if (c.kind <= 1) {
        k = RandomKey(rng, c.kind == 1);
      } else {
        const uint8_t server[4] = {192, 0, 2, 80};
        uint8_t client[4] = {10, 1, 0, 0};
        uint16_t port = 80;
        if (c.kind == 2) {
          port = static_cast<uint16_t>(1024 + i % 64000);
          client[3] = static_cast<uint8_t>(i / 64000);
        } else {
          client[2] = static_cast<uint8_t>(i >> 8);
          client[3] = static_cast<uint8_t>(i);
          port = static_cast<uint16_t>(40000 + (i >> 16));
        }
        k = FlowKey::Make(4, client, server, port, 443, kIpProtoTcp);
      }
      const uint32_t h = HashFlowKey(k, seed);
      ++hi[h >> 22];
      ++lo[h & (kBuckets - 1)];
    }
    const double chi_hi = ChiSquare(hi, kFlows), chi_lo = ChiSquare(lo, kFlows);
    std::printf("%s: chi-square top bits %.1f, low bits %.1f (1023 dof)\n", c.name, chi_hi, chi_lo);
    EXPECT_LT(chi_hi, 1400) << c.name;
    EXPECT_LT(chi_lo, 1400) << c.name;
  }
}

}  // namespace
}  // namespace pktkit
