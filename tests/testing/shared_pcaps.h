// tests/testing/shared_pcaps.h — the shared real captures (../shared/pcaps beside the checkout,
// the `@shared_pcaps` repository), which a fresh clone does not have.
//
//   TEST(DecapPcapTest, Vxlan) {
//     PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();   // one "SKIP: ..." line, then the test is skipped
//     auto frames = ReadFrames(pktkit::testing::SharedPcap("vxlan.pcap"));
//
// When the folder is absent, third_party/shared_pcaps/optional_pcaps.bzl puts only a marker file
// ABSENT in the repository. A capture missing while the folder is present is a failure, not a
// skip: only the marker turns a test into a skip.
#ifndef PKTKIT_TESTS_TESTING_SHARED_PCAPS_H_
#define PKTKIT_TESTS_TESTING_SHARED_PCAPS_H_

#include <unistd.h>

#include <string>

namespace pktkit::testing {

// The line every skipped test prints (test.sh lists it with the test's name).
inline constexpr char kSharedPcapsSkipLine[] =
    "SKIP: shared captures absent (no ../shared/pcaps beside the checkout)";

// True when the checkout has no shared captures beside it (the marker is in the runfiles).
inline bool SharedPcapsAbsent() { return access("../shared_pcaps/ABSENT", F_OK) == 0; }

// The runfiles path of a shared capture, e.g. SharedPcap("bro.org.pcap").
inline std::string SharedPcap(const std::string& name) { return "../shared_pcaps/" + name; }

}  // namespace pktkit::testing

// Skips the current GoogleTest test with one line when the shared captures are absent.
#define PKTKIT_SKIP_WITHOUT_SHARED_PCAPS()                     \
  do {                                                         \
    if (::pktkit::testing::SharedPcapsAbsent()) {              \
      GTEST_SKIP() << ::pktkit::testing::kSharedPcapsSkipLine; \
    }                                                          \
  } while (0)

#endif  // PKTKIT_TESTS_TESTING_SHARED_PCAPS_H_
