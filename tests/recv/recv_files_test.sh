#!/bin/bash
# pktkit-recv -r / -w file handling (issue 12), on captures this test writes itself:
#  - a failing -r leaves an existing -w file as it was; -r X -w X is refused and X kept;
#  - every outer link type the core knows (Ethernet, raw IP, SLL, SLL2, NFLOG) gives the same
#    inner packets; a link type it does not know is one line on stderr and exit 1, no output;
#  - a snap-length-limited capture (editcap -s 128) writes every packet, with its wire length;
#  - a fatal write error (/dev/full) is the real errno, exit 1, nothing counted as written.
set -u
TOOL=tools/recv/pktkit-recv
MAKE=tests/recv/make_tunnel_captures.py
T=${TEST_TMPDIR:-/tmp}/recv_files
rm -rf "$T" && mkdir -p "$T"
fail=0
python3 "$MAKE" "$T" || { echo "FAIL: cannot make captures"; exit 1; }
failures=0; seen=0
say() { [ "$failures" -eq "$seen" ] && echo "$*"; seen=$failures; }  # "ok" only if the part passed
bad() { echo "FAIL: $*"; fail=1; failures=$((failures + 1)); }
# One line per packet: hex dump and lengths, so link types and magic do not matter.
dump() { tcpdump -nn -e -xx -r "$1" 2>/dev/null | awk '/^[0-9]/{if(l!="")print l; l=$0; next}{l=l $0}END{if(l!="")print l}'; }
lines() { grep -c . "$@"; }

# 1. -r /nonexistent -w keep.pcap: keep.pcap untouched, one line, exit 1.
printf 'precious bytes' >"$T/keep.pcap"
"$TOOL" -r "$T/nonexistent.pcap" -w "$T/keep.pcap" --stats_interval 0 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] || bad "nonexistent -r: exit $rc"
[ "$(cat "$T/keep.pcap")" = "precious bytes" ] || bad "nonexistent -r changed keep.pcap ($(wc -c <"$T/keep.pcap") bytes)"
[ "$(lines "$T/err")" -eq 1 ] || bad "nonexistent -r: not one line: $(cat "$T/err")"
grep -q "final" "$T/err" && bad "final counter line before a start-up error"
ls "$T" | grep -q 'keep.pcap.pktkit-' && bad "temporary file left behind"
say "ok: failing -r leaves -w alone"

# 2. -r X -w X refused, X intact (also through another name for the same inode).
cp "$T/vxlan-eth.pcap" "$T/same.pcap"; ln -sf "$T/same.pcap" "$T/same-link.pcap"
before=$(md5sum <"$T/same.pcap")
for w in "$T/same.pcap" "$T/same-link.pcap"; do
  "$TOOL" -r "$T/same.pcap" -w "$w" --stats_interval 0 2>"$T/err"; rc=$?
  [ "$rc" -ne 0 ] || bad "-r X -w X ($w) exit 0"
  grep -q "same file" "$T/err" || bad "-r X -w X message: $(cat "$T/err")"
done
[ "$(md5sum <"$T/same.pcap")" = "$before" ] || bad "-r X -w X changed the input"
say "ok: -r X -w X refused"

# 3. Every link type the core knows gives the inner frames; an unknown one fails clearly.
dump "$T/inner.pcap" >"$T/inner.txt"
[ "$(lines "$T/inner.txt")" -eq 12 ] || bad "fixture: $(lines "$T/inner.txt") inner frames"
for lt in eth raw sll sll2 nflog; do
  "$TOOL" -r "$T/vxlan-$lt.pcap" -w "$T/out-$lt.pcap" --stats_interval 0 2>"$T/err" \
    || bad "$lt: exit $?: $(cat "$T/err")"
  dump "$T/out-$lt.pcap" >"$T/out.txt"
  cmp -s "$T/inner.txt" "$T/out.txt" || bad "$lt: inner frames differ ($(lines "$T/out.txt") of 12)"
  grep -q "written=12" "$T/err" || bad "$lt: counters: $(cat "$T/err")"
done
say "ok: Ethernet, raw IP, SLL, SLL2, NFLOG"
"$TOOL" -r "$T/vxlan-ppp.pcap" -w "$T/out-ppp.pcap" --stats_interval 0 2>"$T/err"; rc=$?
[ "$rc" -eq 1 ] || bad "ppp: exit $rc"
[ "$(lines "$T/err")" -eq 1 ] && grep -q "link type 9" "$T/err" || bad "ppp message: $(cat "$T/err")"
[ -e "$T/out-ppp.pcap" ] && bad "ppp: output written"
say "ok: unknown link type: $(cat "$T/err")"

# 4. editcap -s 128 (VXLAN, GENEVE, GENEVE+VXLAN): every packet decapsulated, with the inner packet's original length.
if command -v editcap >/dev/null; then
  for enc in vxlan geneve geneve+vxlan; do
    editcap -s 128 "$T/$enc-eth.pcap" "$T/cut-$enc.pcap" || bad "editcap"
    "$TOOL" -r "$T/cut-$enc.pcap" --encap $enc -w "$T/out-cut-$enc.pcap" --stats_interval 0 \
      2>"$T/err" || bad "$enc snapped: exit $?"
    tcpdump -nn -e -r "$T/inner.pcap" 2>/dev/null | grep -o 'length [0-9]*:' >"$T/len-in.txt"
    tcpdump -nn -e -r "$T/out-cut-$enc.pcap" 2>/dev/null | grep -o 'length [0-9]*:' >"$T/len-out.txt"
    [ "$(lines "$T/len-out.txt")" -eq 12 ] || bad "$enc snapped: $(lines "$T/len-out.txt") of 12 written"
    cmp -s "$T/len-in.txt" "$T/len-out.txt" || bad "$enc snapped: wire lengths differ"
    grep -q "snapped=" "$T/err" || bad "$enc snapped: no snapped counter: $(cat "$T/err")"
    grep -q "written=12" "$T/err" || bad "$enc snapped: $(cat "$T/err")"
  done
  say "ok: snap length 128: 12 of 12 written with their wire lengths ($(grep -o 'snapped=[0-9]*' "$T/err"))"
else
  echo "SKIP: editcap not installed (setup.sh installs tshark): snapped captures not checked"
fi

# 5. /dev/full: the real error, exit 1, written=0.
if [ -w /dev/full ]; then
  "$TOOL" -r "$T/vxlan-eth.pcap" -w /dev/full --stats_interval 0 2>"$T/err"; rc=$?
  [ "$rc" -eq 1 ] || bad "/dev/full: exit $rc"
  grep -q "No space left on device" "$T/err" || bad "/dev/full message: $(cat "$T/err")"
  grep -q "temporarily unavailable" "$T/err" && bad "/dev/full: stale errno: $(cat "$T/err")"
  grep -q "written=[1-9]" "$T/err" && bad "/dev/full: counted as written: $(cat "$T/err")"
  say "ok: /dev/full: $(grep -v final "$T/err")"
  # Live: datagrams arrive, the write fails: exit 1 by itself with the real error.
  port=$((20000 + $$ % 20000))
  "$TOOL" -i "udp::127.0.0.1:$port:vxlan" -w /dev/full --stats_interval 0 2>"$T/err" &
  pid=$!
  python3 - "$port" "$T/vxlan-raw.pcap" <<'PY'
import socket, struct, sys, time
port, path = int(sys.argv[1]), sys.argv[2]
data = open(path, "rb").read()[24:]
payloads, off = [], 0
while off < len(data):
    n = struct.unpack("=I", data[off + 8:off + 12])[0]
    payloads.append(data[off + 16 + 28:off + 16 + n])  # the VXLAN datagram after IPv4 + UDP
    off += 16 + n
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(50):
    for p in payloads:
        s.sendto(p, ("127.0.0.1", port))
    time.sleep(0.05)
PY
  for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  if kill -0 $pid 2>/dev/null; then kill -INT $pid; fi
  wait $pid; rc=$?
  [ "$rc" -eq 1 ] || bad "live /dev/full: exit $rc"
  grep -q "No space left on device" "$T/err" || bad "live /dev/full message: $(cat "$T/err")"
  grep -q "temporarily unavailable" "$T/err" && bad "live /dev/full: stale errno: $(cat "$T/err")"
  grep -q "written=[1-9]" "$T/err" && bad "live /dev/full: counted as written: $(cat "$T/err")"
  say "ok: live /dev/full: $(grep -v final "$T/err" | tail -1)"
fi
exit $fail
