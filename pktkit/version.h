// pktkit/version.h — the project's version, one constant for the library, the tools' --version
// and packaging.
//
//   std::printf("pktkit %s\n", PKTKIT_VERSION_STRING);   // "pktkit 0.1.0"
//   static_assert(PKTKIT_VERSION_MAJOR == 0);
//
// Semantic versioning (https://semver.org): the major number changes when a public header's API
// changes incompatibly.
#ifndef PKTKIT_VERSION_H_
#define PKTKIT_VERSION_H_

#define PKTKIT_VERSION_MAJOR 0
#define PKTKIT_VERSION_MINOR 1
#define PKTKIT_VERSION_PATCH 0
#define PKTKIT_VERSION_STRING "0.1.0"

namespace pktkit {

// The same as PKTKIT_VERSION_STRING, for code that prefers a constant to a macro.
inline constexpr char kVersion[] = PKTKIT_VERSION_STRING;

}  // namespace pktkit

#endif  // PKTKIT_VERSION_H_
