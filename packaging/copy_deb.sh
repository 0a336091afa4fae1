#!/bin/sh
# bazel run -c opt //packaging:deb -- OUT.deb   copies the built package to OUT.deb (relative
# to where bazel was run); without OUT, prints where it is.
set -eu
deb="$(readlink -f "$1")"; shift
if [ $# -eq 0 ]; then echo "$deb"; exit 0; fi
case "$1" in /*) dest="$1" ;; *) dest="${BUILD_WORKING_DIRECTORY:-$PWD}/$1" ;; esac
cp "$deb" "$dest"
chmod 0644 "$dest"
echo "wrote $dest ($(dpkg-deb -f "$dest" Package) $(dpkg-deb -f "$dest" Version) $(dpkg-deb -f "$dest" Architecture))"
