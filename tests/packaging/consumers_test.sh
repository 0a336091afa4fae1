#!/bin/bash
# pktkit as vendored code, without Bazel:
#   1. CMake: configure + `cmake --install` pktkit to a temp prefix, then a consumer project
#      (tests/packaging/consumer) with find_package(pktkit) builds and runs;
#   2. the same consumer with add_subdirectory(<pktkit source>);
#   3. pkg-config: g++ $(pkg-config --cflags --libs pktkit) against the installed .pc files;
#   4. plain g++ after copying ONLY pktkit/: the wire and flow layers build with
#      -std=c++17 -Wall -Wextra -Werror and include nothing beyond the C++ library and the
#      C/Linux headers (checked on the compiler's dependency list: no Abseil, libpcap, liburing).
# Every consumer is run and must print its "ok" line. Runs from the runfiles tree, copied with
# symlinks resolved (so the install copies files, not links to the checkout).
set -uo pipefail
T="${TEST_TMPDIR:-$(mktemp -d)}"
R="${TEST_SRCDIR:-$PWD/..}/${TEST_WORKSPACE:-pktkit}"
[ -f "$R/CMakeLists.txt" ] || R="$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)"
command -v cmake >/dev/null || { echo "SKIP: cmake not installed (setup.sh installs it)"; exit 0; }
rc=0
fail() { echo "FAIL: $*"; rc=1; }

mkdir -p "$T/src"
cp -rL "$R/CMakeLists.txt" "$R/cmake" "$R/pktkit" "$T/src/"
find "$T/src" -name BUILD -delete
cp -rL "$R/tests/packaging/consumer" "$T/consumer"
chmod -R u+w "$T/consumer"
# Every header the core has (internal ones included: io needs them), in one translation unit.
(cd "$T/src" && find pktkit -name '*.h' | sort | sed 's/.*/#include "&"/'; echo 'int main() { return 0; }') \
  >"$T/consumer/all_headers.cc"
echo "$(grep -c '^#include' "$T/consumer/all_headers.cc") headers in all_headers.cc"

echo "== 1. cmake --install + find_package(pktkit)"
if cmake -S "$T/src" -B "$T/build" -DCMAKE_INSTALL_PREFIX="$T/prefix" >"$T/log1" 2>&1 &&
   cmake --install "$T/build" >>"$T/log1" 2>&1 &&
   cmake -S "$T/consumer" -B "$T/c1" -DCMAKE_PREFIX_PATH="$T/prefix" >>"$T/log1" 2>&1 &&
   cmake --build "$T/c1" -j2 >>"$T/log1" 2>&1; then
  "$T/c1/core_consumer" || fail "find_package: core_consumer"
  "$T/c1/io_consumer" "$T/c1.pcap" || fail "find_package: io_consumer"
  "$T/c1/all_headers" || fail "find_package: all_headers"
else
  tail -30 "$T/log1"; fail "find_package build"
fi
for f in include/pktkit/wire/decap.h include/pktkit/flow/flow_hash.h include/pktkit/io/pcap.h \
         share/cmake/pktkit/pktkitConfig.cmake share/pkgconfig/pktkit.pc share/pkgconfig/pktkit-wire.pc; do
  [ -f "$T/prefix/$f" ] && [ ! -L "$T/prefix/$f" ] || fail "not installed as a file: $f"
done
[ -z "$(find "$T/prefix" -name BUILD -o -name '*.cc')" ] || fail "install holds more than headers"

echo "== 2. add_subdirectory(pktkit)"
if cmake -S "$T/consumer" -B "$T/c2" -DPKTKIT_SOURCE_DIR="$T/src" >"$T/log2" 2>&1 &&
   cmake --build "$T/c2" -j2 >>"$T/log2" 2>&1; then
  "$T/c2/core_consumer" || fail "add_subdirectory: core_consumer"
  "$T/c2/io_consumer" "$T/c2.pcap" || fail "add_subdirectory: io_consumer"
else
  tail -30 "$T/log2"; fail "add_subdirectory build"
fi

echo "== 3. pkg-config"
export PKG_CONFIG_PATH="$T/prefix/share/pkgconfig"
[ "$(pkg-config --modversion pktkit)" = "$(sed -n 's/^#define PKTKIT_VERSION_STRING "\(.*\)"/\1/p' "$T/src/pktkit/version.h")" ] \
  || fail "pkg-config --modversion pktkit"
[ "$(pkg-config --libs pktkit-wire pktkit-flow | tr -d ' ')" = "" ] || fail "wire/flow .pc files carry libraries"
if g++ -std=c++17 -Wall -Wextra -Werror $(pkg-config --cflags pktkit) "$T/consumer/io_consumer.cc" \
     -o "$T/pc_io" $(pkg-config --libs pktkit) 2>"$T/log3"; then
  "$T/pc_io" "$T/pc.pcap" || fail "pkg-config: io_consumer"
else
  cat "$T/log3"; fail "pkg-config build"
fi
g++ -std=c++17 -Wall -Wextra -Werror $(pkg-config --cflags pktkit-flow) "$T/consumer/core_consumer.cc" \
  -o "$T/pc_core" 2>&1 && "$T/pc_core" || fail "pkg-config: core_consumer"

echo "== 4. plain g++, only pktkit/ copied"
mkdir -p "$T/only"
cp -rL "$R/pktkit" "$T/only/"
for std in c++17 c++20; do
  g++ -std=$std -Wall -Wextra -Werror -I"$T/only" "$T/consumer/core_consumer.cc" -o "$T/bare" 2>&1 \
    && "$T/bare" || fail "g++ -std=$std core_consumer"
done
g++ -std=c++17 -M -I"$T/only" "$T/consumer/core_consumer.cc" | tr ' \\' '\n\n' | grep -v '^$' >"$T/deps"
if grep -E '/(absl|pcap|liburing|zmq)' "$T/deps"; then fail "wire/flow include more than C++ and Linux headers"; fi
grep -q "$T/only/pktkit/wire/decap.h" "$T/deps" || fail "dependency list does not show the copied headers"
grep -v -E "^($T/only/pktkit/(wire|flow)/|$T/consumer/|/usr/include/|/usr/lib/gcc/)|:$" "$T/deps" \
  && fail "unexpected include paths above"

[ $rc = 0 ] && echo PASS || echo FAIL
exit $rc
