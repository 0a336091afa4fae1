// tests/fuzz/fuzz_check.h — the property check for fuzz targets, on in every build.
//
// PKTKIT_FUZZ_CHECK(cond) evaluates `cond` exactly once in every build mode (-c dbg, -c opt,
// sanitizers, libFuzzer) and traps with the file, line and condition when it is false. Fuzz
// targets assert their properties with it, never with PKTKIT_DCHECK: a debug check compiles
// to nothing under NDEBUG, and a call with side effects inside it (`it.Next(&o)`,
// `Serialize(...)`) would then never run, so loops stop advancing and properties vanish.
//
//   PKTKIT_FUZZ_CHECK(it.Next(&o) == pktkit::GeneveError::kOk);
#ifndef PKTKIT_TESTS_FUZZ_FUZZ_CHECK_H_
#define PKTKIT_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>

#define PKTKIT_FUZZ_CHECK(cond)                                                                 \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "%s:%d: PKTKIT_FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                                         \
    }                                                                                           \
  } while (false)

#endif  // PKTKIT_TESTS_FUZZ_FUZZ_CHECK_H_
