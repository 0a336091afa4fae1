#!/bin/bash
# Builds the pktkit Debian package (run by the //packaging:pktkit_deb genrule):
#   build_deb.sh OUT.deb control.in pktkit/version.h install.sh INSTALL-ARGS...
# Stages the programs, units and docs with install.sh under /usr (units in /lib/systemd/system,
# as Debian 12 packages have them), names the packages of the libraries the programs need
# (their DT_NEEDED entries, resolved with ldconfig and dpkg -S) as Depends, and runs dpkg-deb.
set -euo pipefail
# Bazel runs actions with a fixed PATH without the sbin directories; ldconfig lives there.
export PATH="${PATH}:/usr/local/sbin:/usr/sbin:/sbin"
out="$1"; control_in="$2"; version_h="$3"; install_sh="$4"; shift 4
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
"$install_sh" --destdir "$stage" --systemd-dir /lib/systemd/system --no-zeek "$@" /usr >/dev/null
rm -rf "$stage/usr/share/pktkit"  # install.sh's manifest: dpkg keeps its own list

version="$(sed -n 's/^#define PKTKIT_VERSION_STRING "\(.*\)"/\1/p' "$version_h")"
[ -n "$version" ] || { echo "build_deb: no PKTKIT_VERSION_STRING in $version_h" >&2; exit 1; }
arch="$(dpkg --print-architecture)"

declare -A deps=() seen=()
for bin in "$stage"/usr/bin/*; do
  for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}'); do
    [ -z "${seen[$lib]:-}" ] || continue
    seen[$lib]=1
    path="$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|64bit|AArch64/ && !p {p = $NF} END {print p}')"
    [ -n "$path" ] || { echo "build_deb: $bin needs $lib, which ldconfig does not know" >&2; exit 1; }
    pkg=""
    for p in "$path" "$(readlink -f "$path")" "${path#/usr}" "/usr${path}"; do
      pkg="$(dpkg -S "$p" 2>/dev/null | sed -n 1p | cut -d: -f1)" && [ -n "$pkg" ] && break
    done
    [ -n "$pkg" ] || { echo "build_deb: no package owns $path ($lib)" >&2; exit 1; }
    upstream="$(dpkg-query -W -f='${Version}' "$pkg" | sed 's/-[^-]*$//')"
    deps["$pkg"]="$pkg (>= $upstream)"
  done
done
depends="$(printf '%s\n' "${deps[@]}" | sort | paste -sd, | sed 's/,/, /g')"

mkdir -p "$stage/DEBIAN"
size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s/@DEPENDS@/$depends/" "$control_in" >"$stage/DEBIAN/control"
# systemd re-reads units after install and removal (not when installing into another root).
for s in postinst postrm; do
  cat >"$stage/DEBIAN/$s" <<'SCRIPT'
#!/bin/sh
set -e
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
exit 0
SCRIPT
  chmod 0755 "$stage/DEBIAN/$s"
done
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  >"$stage/DEBIAN/md5sums"
find "$stage" -type d -exec chmod 0755 {} +
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "build_deb: $(basename "$out"): pktkit $version ($arch), Depends: $depends" >&2
