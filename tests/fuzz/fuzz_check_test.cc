// PKTKIT_FUZZ_CHECK stays on when NDEBUG is defined (this file is compiled with -DNDEBUG, as
// under -c opt): its condition runs exactly once and a false one traps.
#ifndef NDEBUG
#error "fuzz_check_test must be compiled with NDEBUG to prove the check survives it"
#endif

#include "tests/fuzz/fuzz_check.h"

#include "gtest/gtest.h"

namespace {

int calls = 0;
bool CountedTrue() {
  ++calls;
  return true;
}

TEST(FuzzCheckTest, EvaluatesSideEffectsUnderNdebug) {
  calls = 0;
  PKTKIT_FUZZ_CHECK(CountedTrue());
  PKTKIT_FUZZ_CHECK(CountedTrue() && CountedTrue());
  EXPECT_EQ(calls, 3);
}

TEST(FuzzCheckDeathTest, TrapsOnFalseUnderNdebug) {
  EXPECT_DEATH(PKTKIT_FUZZ_CHECK(calls < 0), "PKTKIT_FUZZ_CHECK failed: calls < 0");
}

}  // namespace
