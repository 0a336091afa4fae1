#!/usr/bin/env bash
# Every public header compiles on its own, warning-free (-Wall -Wextra -Werror), with GCC and
# clang, as C++17 and as C++20, so that it can be lifted into another code base.
set -uo pipefail
mapfile -t headers < <(find -L pktkit tools/common -name '*.h' 2>/dev/null | sort)
if [ ${#headers[@]} -eq 0 ]; then
  echo "no headers found in the runfiles" >&2
  exit 1
fi
compilers=(g++)
if command -v clang++ >/dev/null; then
  compilers+=(clang++)
else
  echo "clang++ not installed: checking with g++ only (setup.sh installs clang)" >&2
fi
jobs=()
for h in "${headers[@]}"; do
  for cxx in "${compilers[@]}"; do
    for std in c++17 c++20; do
      jobs+=("$cxx $std $h")
    done
  done
done
check() {
  read -r cxx std h <<<"$1"
  if ! out=$("$cxx" "-std=$std" -Wall -Wextra -Werror -fsyntax-only -I. -x c++ "$h" 2>&1); then
    printf 'FAIL %s %s %s\n%s\n' "$cxx" "$std" "$h" "$out"
    return 1
  fi
  return 0
}
export -f check
printf '%s\n' "${jobs[@]}" | xargs -P 2 -I{} bash -c 'check "$@"' _ {} > result.txt 2>&1
failures=$(grep -c '^FAIL' result.txt)
cat result.txt
echo "checked ${#headers[@]} headers x ${#compilers[@]} compilers x 2 standards: ${failures} failed"
rm -f result.txt
[ "$failures" -eq 0 ]
