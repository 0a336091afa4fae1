#!/bin/bash
# The Debian package (//packaging:pktkit_deb):
#   1. its control fields and contents (programs, units, docs; Depends names real packages);
#   2. installed into a scratch root (dpkg --root, nothing touches this machine): pktkit-recv
#      --version runs from it, `dpkg --purge` leaves the root's file list as it was before;
#   3. on this machine for real, when run as root and no pktkit package is installed: dpkg -i
#      (dependencies must already be satisfied), pktkit-recv --version from PATH, the installed
#      units pass systemd-analyze verify, dpkg --purge, and the file lists of every directory the
#      package writes to are the same as before. A trap purges the package on any exit.
#      PKTKIT_DEB_TEST_HOST=0 skips this part.
set -uo pipefail
DEB="$(readlink -f "$1")"; VERSION_H="$2"
T="${TEST_TMPDIR:-$(mktemp -d)}"
version="$(sed -n 's/^#define PKTKIT_VERSION_STRING "\(.*\)"/\1/p' "$VERSION_H")"
rc=0
fail() { echo "FAIL: $*"; rc=1; }
programs="pktkit-recv pktkit-capture pktkit-fwd pktkit-gen nflog-zmq-send nflog-pcap-recv
  nflog-pcap-query nflog-zmq-compress nflog-zmq-decompress nflog-zmq-keygen"

echo "== 1. control and contents"
[ "$(dpkg-deb -f "$DEB" Package)" = pktkit ] || fail "Package"
[ "$(dpkg-deb -f "$DEB" Version)" = "$version" ] || fail "Version != $version"
[ "$(dpkg-deb -f "$DEB" Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture"
depends="$(dpkg-deb -f "$DEB" Depends)"
echo "Depends: $depends"
for d in libc6 libpcap0.8 liburing2; do
  grep -q "\b$d (>= " <<<"$depends" || fail "Depends lacks $d"
done
for pkg in $(tr ',' '\n' <<<"$depends" | awk '{print $1}'); do
  dpkg-query -W "$pkg" >/dev/null 2>&1 || fail "Depends names $pkg, which is not a package here"
done
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$T/contents"
for p in $programs; do grep -qx "/usr/bin/$p" "$T/contents" || fail "/usr/bin/$p not in the package"; done
grep -qx "/lib/systemd/system/pktkit-recv@.service" "$T/contents" || fail "units not in /lib/systemd/system"
grep -qx "/usr/share/doc/pktkit/README.md" "$T/contents" || fail "docs"
dpkg-deb -c "$DEB" | awk '$2 != "root/root" {print "not root-owned: " $0}' | grep . && fail "file ownership"

echo "== 2. dpkg --root (a scratch root)"
R="$T/root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers"
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
listing() { (cd "$1" && find . -path ./var/lib/dpkg -prune -o -print | sort); }
listing "$R" >"$T/root.before"
# --force-depends: the scratch root has no libraries (the host's are used to run the program);
# --force-script-chrootless: run the maintainer scripts without a shell inside the root.
dpkgr() { dpkg --root="$R" --force-depends --force-script-chrootless --log=/dev/null "$@"; }
if dpkgr -i "$DEB" >"$T/root.log" 2>&1; then
  out="$("$R/usr/bin/pktkit-recv" --version 2>&1)"
  [ "$out" = "pktkit-recv $version" ] || fail "scratch root: pktkit-recv --version printed '$out'"
  [ "$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Status}' pktkit)" = "install ok installed" ] \
    || fail "scratch root: dpkg does not list pktkit as installed"
  dpkgr --purge pktkit >>"$T/root.log" 2>&1 || { cat "$T/root.log"; fail "scratch root: purge"; }
  listing "$R" >"$T/root.after"
  diff "$T/root.before" "$T/root.after" >"$T/root.diff" || { cat "$T/root.diff"; fail "scratch root: left behind"; }
  echo "scratch root: installed, ran, purged, nothing left"
else
  cat "$T/root.log"; fail "dpkg --root -i"
fi

echo "== 3. this machine (dpkg -i / dpkg --purge)"
if [ "${PKTKIT_DEB_TEST_HOST:-1}" = 0 ]; then
  echo "SKIP (part 3): PKTKIT_DEB_TEST_HOST=0"
elif [ "$(id -u)" != 0 ]; then
  echo "SKIP (part 3): needs root"
elif dpkg-query -W -f='${Status}' pktkit 2>/dev/null | grep -q installed; then
  echo "SKIP (part 3): a pktkit package is already installed here; not touching it"
else
  dirs=(/usr/bin /usr/share/doc /lib/systemd/system /usr/lib/systemd/system /etc /var/lib/dpkg/info)
  snapshot() { find "${dirs[@]}" -xdev 2>/dev/null | grep -v '^/etc/ld.so.cache$' | sort; }
  with_lock() {  # another dpkg/apt (setup.sh) may hold the lock for a while
    local i
    for i in $(seq 1 30); do
      "$@" >>"$T/host.log" 2>&1 && return 0
      grep -q "lock" "$T/host.log" || return 1
      sleep 2
    done
    return 1
  }
  trap 'dpkg-query -W pktkit >/dev/null 2>&1 && dpkg --purge pktkit >/dev/null 2>&1' EXIT
  snapshot >"$T/host.before"
  if with_lock dpkg -i "$DEB"; then
    out="$(PATH=/usr/bin:/bin pktkit-recv --version 2>&1)"
    [ "$out" = "pktkit-recv $version" ] || fail "host: pktkit-recv --version printed '$out'"
    if command -v systemd-analyze >/dev/null; then
      v="$(cd / && systemd-analyze verify pktkit-recv@4789.service pktkit-capture@eth0.service 2>&1)" \
        && [ -z "$v" ] || fail "host: installed units: $v"
    fi
    with_lock dpkg --purge pktkit || { cat "$T/host.log"; fail "host: dpkg --purge"; }
    snapshot >"$T/host.after"
    diff "$T/host.before" "$T/host.after" >"$T/host.diff" || { cat "$T/host.diff"; fail "host: left behind"; }
    dpkg-query -W pktkit >/dev/null 2>&1 && fail "host: dpkg still knows pktkit after --purge"
    echo "host: installed, ran, verified units, purged, nothing left"
  else
    cat "$T/host.log"; fail "host: dpkg -i"
  fi
fi

[ $rc = 0 ] && echo PASS || echo FAIL
exit $rc
