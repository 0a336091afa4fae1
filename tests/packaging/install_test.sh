#!/bin/bash
# //:install (packaging/install.sh) from this test's runfiles, as `bazel run //:install` runs it:
# staged (--destdir) and straight into a prefix. Checks the programs run (--version prints
# pktkit/version.h's version), units point at PREFIX/bin and are in PREFIX/lib/systemd/system,
# docs are in share/doc/pktkit, then --uninstall leaves no file behind and restores the tree as
# it was before the install (the directory list is compared).
set -uo pipefail
INSTALL="$PWD/$1"; VERSION_H="$2"
T="${TEST_TMPDIR:-$(mktemp -d)}"
version="$(sed -n 's/^#define PKTKIT_VERSION_STRING "\(.*\)"/\1/p' "$VERSION_H")"
rc=0
fail() { echo "FAIL: $*"; rc=1; }
programs="pktkit-recv pktkit-capture pktkit-fwd pktkit-gen nflog-zmq-send nflog-pcap-recv
  nflog-pcap-query nflog-zmq-compress nflog-zmq-decompress nflog-zmq-keygen"

check_tree() {  # check_tree ROOT PREFIX
  local root="$1" prefix="$2"
  for p in $programs; do
    [ -x "$root$prefix/bin/$p" ] || { fail "$prefix/bin/$p missing"; continue; }
    out="$("$root$prefix/bin/$p" --version 2>&1)"
    [ "$out" = "$p $version" ] || fail "$p --version printed '$out', want '$p $version'"
  done
  for u in pktkit-recv@ pktkit-capture@ pktkit-fwd@ nflog-zmq-send@ nflog-pcap-recv@; do
    f="$root$prefix/lib/systemd/system/$u.service"
    [ -f "$f" ] || { fail "$u.service missing"; continue; }
    exe="$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$f")"
    case "$exe" in "$prefix/bin/"*) ;; *) fail "$u.service ExecStart=$exe is not under $prefix/bin" ;; esac
  done
  for d in README.md recv.md capture.md fwd.md nflog.md; do
    [ -f "$root$prefix/share/doc/pktkit/$d" ] || fail "doc $d missing"
  done
}

echo "== staged: --destdir $T/stage /usr/local"
mkdir -p "$T/stage/usr/local/bin"  # a directory that exists before must survive the uninstall
find "$T/stage" | sort >"$T/before"
"$INSTALL" --destdir "$T/stage" /usr/local || fail "install --destdir"
check_tree "$T/stage" /usr/local
"$INSTALL" --destdir "$T/stage" --uninstall /usr/local || fail "uninstall --destdir"
left="$(find "$T/stage" -type f)"
[ -z "$left" ] || fail "files left after --uninstall: $left"
find "$T/stage" | sort >"$T/after"
grep -q "share/doc/pktkit" "$T/after" && fail "share/doc/pktkit left behind"
[ -d "$T/stage/usr/local/bin" ] || fail "--uninstall removed a directory it did not create"

echo "== into a prefix: $T/prefix (relative path, resolved against the working directory)"
(cd "$T" && "$INSTALL" prefix) || fail "install prefix"
check_tree "" "$T/prefix"
n="$(wc -l <"$T/prefix/share/pktkit/install-manifest.txt")"
"$INSTALL" --uninstall "$T/prefix" || fail "uninstall prefix"
left="$(find "$T/prefix" -type f)"
[ -z "$left" ] || fail "files left after --uninstall: $left"
echo "manifest listed $n entries"

echo "== a Zeek plugin directory (as //plugins/zeek builds one where a Zeek is found)"
P="$T/plugin-build/PktKit_Fake"
mkdir -p "$P/lib/bif" "$P/scripts/PktKit/Fake"
echo "PktKit::Fake" >"$P/__zeek_plugin__"
printf '\177ELF fake' >"$P/lib/PktKit-Fake.linux-x86_64.so"; chmod 0755 "$P/lib/PktKit-Fake.linux-x86_64.so"
echo "# bif" >"$P/lib/bif/__load__.zeek"; echo "# script" >"$P/scripts/PktKit/Fake/__load__.zeek"
"$INSTALL" --zeek-plugin-files $(cd "$T/plugin-build" && find "$PWD/PktKit_Fake" -type f) --end \
  "$T/zp" >"$T/zp.log" || fail "install with a Zeek plugin"
grep -q "Zeek plugins: $T/zp/lib/zeek/plugins" "$T/zp.log" || { cat "$T/zp.log"; fail "Zeek plugin note"; }
Z="$T/zp/lib/zeek/plugins/PktKit_Fake"
[ "$(cat "$Z/__zeek_plugin__" 2>/dev/null)" = "PktKit::Fake" ] || fail "plugin marker not installed"
[ -x "$Z/lib/PktKit-Fake.linux-x86_64.so" ] || fail "plugin library not installed executable"
[ -f "$Z/scripts/PktKit/Fake/__load__.zeek" ] && [ -f "$Z/lib/bif/__load__.zeek" ] || fail "plugin scripts"
"$INSTALL" --uninstall "$T/zp" >/dev/null || fail "uninstall with a Zeek plugin"
[ -z "$(find "$T/zp" -type f)" ] || fail "files left: $(find "$T/zp" -type f)"
[ ! -e "$Z" ] || fail "plugin directory left behind"

echo "== bad usage"
"$INSTALL" >/dev/null 2>&1; [ $? = 2 ] || fail "no PREFIX: want exit 2"
"$INSTALL" --bogus /x >/dev/null 2>&1; [ $? = 2 ] || fail "unknown option: want exit 2"
"$INSTALL" --uninstall "$T/nothing-here" >/dev/null 2>&1 && fail "uninstall without manifest succeeded"

[ $rc = 0 ] && echo PASS || echo FAIL
exit $rc
