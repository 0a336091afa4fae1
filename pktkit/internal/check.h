// pktkit/internal/check.h — debug assertions for pktkit's own invariants.
//
// PKTKIT_DCHECK(cond) traps when `cond` is false in debug and sanitizer builds and compiles
// to nothing under -c opt (NDEBUG). It guards invariants of pktkit's own code only; bad input
// is always returned as an error, never asserted (STYLE.md habit 10).
//
//   PKTKIT_DCHECK(pos_ <= size_);
#ifndef PKTKIT_INTERNAL_CHECK_H_
#define PKTKIT_INTERNAL_CHECK_H_

#include <cstdio>

#ifdef NDEBUG
#define PKTKIT_DCHECK(cond) \
  do {                      \
  } while (false && (cond))
#else
#define PKTKIT_DCHECK(cond)                                                       \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "%s:%d: PKTKIT_DCHECK failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                        \
      __builtin_trap();                                                           \
    }                                                                             \
  } while (false)
#endif

#endif  // PKTKIT_INTERNAL_CHECK_H_
