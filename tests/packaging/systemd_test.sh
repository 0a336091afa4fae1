#!/bin/bash
# The systemd units: `systemd-analyze verify` on an instance of each (ExecStart pointed at the
# programs built here; any warning fails), `systemd-analyze security --offline` exposure below
# 5.0 ("OK" or better), and the policy the units promise: a dynamic unprivileged user, restart
# on failure, no capability beyond the bounding set, and the capabilities each program needs.
set -uo pipefail
BINDIR_RECV="$(dirname "$1")"; BINDIR_CAPTURE="$(dirname "$2")"; BINDIR_FWD="$(dirname "$3")"
BINDIR_NFLOG="$(dirname "$4")"; shift 4
T="${TEST_TMPDIR:-$(mktemp -d)}"
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed (package systemd)"; exit 0; }
rc=0
fail() { echo "FAIL: $*"; rc=1; }
for u in "$@"; do
  sed -e "s|/usr/bin/pktkit-recv|$(readlink -f "$BINDIR_RECV")/pktkit-recv|" \
      -e "s|/usr/bin/pktkit-capture|$(readlink -f "$BINDIR_CAPTURE")/pktkit-capture|" \
      -e "s|/usr/bin/pktkit-fwd|$(readlink -f "$BINDIR_FWD")/pktkit-fwd|" \
      -e "s|/usr/bin/nflog-|$(readlink -f "$BINDIR_NFLOG")/nflog-|" "$u" >"$T/$(basename "$u")"
done
declare -A instance=([pktkit-recv@]=4789 [pktkit-capture@]=eth0 [pktkit-fwd@]=eth0
                     [nflog-zmq-send@]=5 [nflog-pcap-recv@]=main)
declare -A caps=([pktkit-recv@]="CAP_NET_ADMIN" [pktkit-capture@]="CAP_NET_RAW CAP_NET_ADMIN"
                 [pktkit-fwd@]="CAP_NET_RAW" [nflog-zmq-send@]="CAP_NET_ADMIN" [nflog-pcap-recv@]="")
cd "$T"
for t in "${!instance[@]}"; do
  f="$t.service"; unit="$t${instance[$t]}.service"
  [ -f "$f" ] || { fail "$f missing"; continue; }
  out="$(systemd-analyze verify "$unit" 2>&1)"; vrc=$?
  if [ $vrc != 0 ] || [ -n "$out" ]; then fail "verify $unit (exit $vrc): $out"; fi
  level="$(systemd-analyze security --offline=yes "$unit" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')"
  if [ -z "$level" ] || ! awk -v l="$level" 'BEGIN { exit !(l < 5.0) }'; then
    fail "$unit exposure level '${level}' (want < 5.0)"
  fi
  grep -qx "DynamicUser=yes" "$f" || fail "$f: no DynamicUser=yes"
  grep -qx "Restart=on-failure" "$f" || fail "$f: no Restart=on-failure"
  grep -qx "NoNewPrivileges=yes" "$f" || fail "$f: no NoNewPrivileges=yes"
  grep -qE "^User=(root|0)$" "$f" && fail "$f runs as root"
  ambient="$(sed -n 's/^AmbientCapabilities=//p' "$f")"
  bounding="$(sed -n 's/^CapabilityBoundingSet=//p' "$f")"
  grep -q "^CapabilityBoundingSet=" "$f" || fail "$f: no CapabilityBoundingSet"
  [ "$ambient" = "${caps[$t]}" ] || fail "$f: AmbientCapabilities='$ambient', want '${caps[$t]}'"
  [ "$bounding" = "${caps[$t]}" ] || fail "$f: CapabilityBoundingSet='$bounding', want '${caps[$t]}'"
  echo "$unit: verified, exposure $level, capabilities '${caps[$t]}'"
done
# The check itself can fail: a misspelt key and a missing program are reported.
sed -e 's/^RestartSec=/RestartSecc=/' pktkit-recv@.service >broken@.service
[ -n "$(systemd-analyze verify broken@1.service 2>&1)" ] || fail "verify did not report a bad key"
[ $rc = 0 ] && echo PASS || echo FAIL
exit $rc
