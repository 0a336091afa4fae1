#!/bin/bash
# Installs pktkit's programs, systemd units, docs and (when built against a Zeek) its Zeek
# plugins under a prefix, and records what it installed so it can remove exactly that again.
#
#   bazel run -c opt //:install -- /usr/local                 # as root
#   bazel run -c opt //:install -- --destdir /tmp/stage /usr  # staged (packaging)
#   bazel run -c opt //:install -- --uninstall /usr/local     # removes what the manifest lists
#
# Layout under PREFIX: bin/ (programs), lib/systemd/system/ (units, ExecStart pointing at
# PREFIX/bin), share/doc/pktkit/ (README and manuals), lib/zeek/plugins/<Plugin>/ (Zeek's own
# layout: a Zeek installed with the same prefix finds them; otherwise --zeek-plugin-dir DIR or
# ZEEK_PLUGIN_PATH), share/pktkit/install-manifest.txt (every file installed).
# Options: --destdir DIR (stage under DIR), --systemd-dir DIR (default PREFIX/lib/systemd/system),
# --zeek-plugin-dir DIR, --no-systemd, --no-zeek, --uninstall.
# The --bin/--doc/--unit/--zeek-plugin arguments come from the Bazel target (//packaging:BUILD).
set -euo pipefail
prog=pktkit-install
start_dir="$PWD"
bins=() docs=() units=() plugins=()
destdir="" prefix="" systemd_dir="" zeek_dir="" no_systemd=0 no_zeek=0 uninstall=0
die() { echo "$prog: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bins+=("$2"); shift 2 ;;
    --doc) docs+=("$2"); shift 2 ;;
    --unit) units+=("$2"); shift 2 ;;
    --zeek-plugin) plugins+=("$2"); shift 2 ;;
    --zeek-plugin-files)  # every file of the plugin targets (Bazel expands them), up to --end
      shift
      while [ $# -gt 0 ] && [ "$1" != --end ]; do plugins+=("$1"); shift; done
      shift ;;
    --unit-files) shift; while [ $# -gt 0 ] && [ "$1" != --end ]; do units+=("$1"); shift; done; shift ;;
    --doc-files) shift; while [ $# -gt 0 ] && [ "$1" != --end ]; do docs+=("$1"); shift; done; shift ;;
    --destdir) destdir="$2"; shift 2 ;;
    --systemd-dir) systemd_dir="$2"; shift 2 ;;
    --zeek-plugin-dir) zeek_dir="$2"; shift 2 ;;
    --no-systemd) no_systemd=1; shift ;;
    --no-zeek) no_zeek=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "$prog: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) [ -z "$prefix" ] || { echo "$prog: one PREFIX only" >&2; exit 2; }; prefix="$1"; shift ;;
  esac
done
[ -n "$prefix" ] || { echo "usage: bazel run -c opt //:install -- [options] PREFIX" >&2; exit 2; }
# Started as //:install (bazel run, or from a test's runfiles): the file list comes from
# packaging/install_files.txt, paths relative to the runfiles' workspace directory.
if [ ${#bins[@]} -eq 0 ] && [ $uninstall = 0 ]; then
  for r in "$0.runfiles" "${RUNFILES_DIR:-}" "${TEST_SRCDIR:-}"; do
    [ -n "$r" ] && [ -f "$r/pktkit/packaging/install_files.txt" ] && { cd "$r/pktkit"; break; }
  done
  [ -f packaging/install_files.txt ] || die "packaging/install_files.txt not found: run me as bazel run //:install"
  while read -r kind path; do
    case "$kind" in
      bin) bins+=("$path") ;; doc) docs+=("$path") ;; unit) units+=("$path") ;; zeek) plugins+=("$path") ;;
    esac
  done <packaging/install_files.txt
fi
# `bazel run` starts us in the runfiles tree: relative paths the user gave are relative to
# where they ran bazel.
absolute() { case "$1" in /*) echo "$1" ;; *) echo "${BUILD_WORKING_DIRECTORY:-$start_dir}/$1" ;; esac; }
prefix="$(absolute "$prefix")"; prefix="${prefix%/}"
[ -z "$destdir" ] || destdir="$(absolute "$destdir")"
[ -n "$systemd_dir" ] || systemd_dir="$prefix/lib/systemd/system"
[ -n "$zeek_dir" ] || zeek_dir="$prefix/lib/zeek/plugins"
root="$destdir"
manifest_rel="$prefix/share/pktkit/install-manifest.txt"
manifest="$root$manifest_rel"

if [ $uninstall = 1 ]; then
  [ -f "$manifest" ] || die "no $manifest: nothing installed there by $prog"
  n=0
  # Files first, then the directories that are pktkit's own (listed with a trailing /), deepest
  # first; a directory something else put files in is left alone.
  while IFS= read -r f; do
    case "$f" in
      */) rmdir "$root$f" 2>/dev/null || true ;;
      *) [ "$f" = "$manifest_rel" ] || { rm -f "$root$f"; n=$((n + 1)); } ;;
    esac
  done < <(tac "$manifest")
  rm -f "$manifest"; rmdir "$root$prefix/share/pktkit" 2>/dev/null || true
  echo "$prog: removed $n files listed in $manifest_rel"
  exit 0
fi

installed=()
owned_dirs=("$prefix/share/doc/pktkit/")  # removed on --uninstall when empty
put() {  # put MODE SRC DEST (DEST is the final path without $root)
  install -D -m "$1" "$2" "$root$3"
  installed+=("$3")
}
for b in "${bins[@]}"; do put 0755 "$b" "$prefix/bin/$(basename "$b")"; done
for d in "${docs[@]}"; do put 0644 "$d" "$prefix/share/doc/pktkit/$(basename "$d")"; done
if [ $no_systemd = 0 ]; then
  for u in "${units[@]}"; do
    tmp="$(mktemp)"
    sed -e "s|/usr/bin/|$prefix/bin/|g" -e "s|/usr/share/doc/pktkit/|$prefix/share/doc/pktkit/|g" "$u" >"$tmp"
    put 0644 "$tmp" "$systemd_dir/$(basename "$u")"
    rm -f "$tmp"
  done
fi
zeek_note="Zeek plugins: not part of this build"
zeek_installed=() zeek_skipped=""
if [ $no_zeek = 1 ]; then
  zeek_note="Zeek plugins: not installed (--no-zeek)"
else
  for p in "${plugins[@]}"; do
    case "$p" in
      */__zeek_plugin__)
        src="$(dirname "$p")"; name="$(basename "$src")"
        while IFS= read -r d; do
          owned_dirs+=("$zeek_dir/$name${d#"$src"}/")
        done < <(find -L "$src" -type d | sort)
        while IFS= read -r f; do
          rel="${f#"$src"/}"
          mode=0644; [ -x "$f" ] && mode=0755
          put "$mode" "$f" "$zeek_dir/$name/$rel"
        done < <(find -L "$src" -type f | sort)
        zeek_installed+=("$name")
        ;;
      *.skipped) zeek_skipped="$(head -1 "$p")" ;;
    esac
  done
  if [ ${#zeek_installed[@]} -gt 0 ]; then
    zeek_note="Zeek plugins: $zeek_dir (${zeek_installed[*]}); a Zeek with another prefix finds them with ZEEK_PLUGIN_PATH=$zeek_dir, or install with --zeek-plugin-dir \"\$(zeek-config --plugin_dir)\""
  elif [ -n "$zeek_skipped" ]; then
    zeek_note="Zeek plugins: skipped ($zeek_skipped)"
  fi
fi
mkdir -p "$(dirname "$manifest")"
printf '%s\n' "${owned_dirs[@]}" "${installed[@]}" "$manifest_rel" >"$manifest"
echo "$prog: installed ${#installed[@]} files under ${root}${prefix} (list: $manifest_rel)"
echo "$prog: programs in $prefix/bin; docs in $prefix/share/doc/pktkit"
[ $no_systemd = 1 ] || echo "$prog: systemd units in $systemd_dir (systemctl daemon-reload; see run-as-a-service in the docs)"
echo "$prog: $zeek_note"
