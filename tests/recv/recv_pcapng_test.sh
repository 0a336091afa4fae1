#!/bin/bash
# pktkit-recv --format pcapng: the inner packets of a VXLAN capture written as pcapng (to a
# file and to stdout) are, for tshark and capinfos, the same packets as the pcap output of the
# same input: times to the nanosecond, lengths and an MD5 of the bytes; a bad --format is a
# one-line usage error with exit status 2. Needs tshark and capinfos (setup.sh installs them).
set -u
TOOL=tools/recv/pktkit-recv
MAKE=tests/recv/make_tunnel_captures.py
T=${TEST_TMPDIR:-/tmp}/recv_pcapng
rm -rf "$T" && mkdir -p "$T"
export HOME=$T  # tshark's profile directory
fail=0
bad() { echo "FAIL: $*"; fail=1; }
python3 "$MAKE" "$T" || { echo "FAIL: cannot make captures"; exit 1; }
fields() {
  tshark -n -r "$1" -o frame.generate_md5_hash:TRUE -T fields -e frame.time_epoch -e frame.len \
    -e frame.cap_len -e frame.md5_hash 2>/dev/null
}
"$TOOL" -r "$T/vxlan-eth.pcap" -w "$T/a.pcap" --stats_interval 0 2>"$T/err" || bad "pcap: $(cat "$T/err")"
"$TOOL" -r "$T/vxlan-eth.pcap" -w "$T/a.pcapng" --format pcapng --stats_interval 0 2>"$T/err" ||
  bad "pcapng: $(cat "$T/err")"
"$TOOL" -r "$T/vxlan-eth.pcap" -w - --format pcapng --stats_interval 0 2>"$T/err" >"$T/stdout.pcapng" ||
  bad "pcapng to stdout: $(cat "$T/err")"
fields "$T/a.pcap" >"$T/a.txt"
n=$(grep -c . "$T/a.txt")
[ "$n" -gt 0 ] || bad "no packets in the pcap output"
for f in a.pcapng stdout.pcapng; do
  capinfos "$T/$f" 2>/dev/null | grep -q "File type: *Wireshark/... - pcapng" || bad "$f: not pcapng: $(capinfos "$T/$f" 2>&1 | head -3)"
  fields "$T/$f" >"$T/$f.txt"
  cmp -s "$T/a.txt" "$T/$f.txt" || { bad "$f: tshark sees other packets than in the pcap:"; diff "$T/a.txt" "$T/$f.txt" | head; }
done
# The inner frames are the ones make_tunnel_captures.py put inside (its inner.pcap).
cut -f 2- "$T/a.txt" >"$T/a.nots"
fields "$T/inner.pcap" | cut -f 2- >"$T/inner.nots"
cmp -s "$T/a.nots" "$T/inner.nots" || bad "inner packets differ from inner.pcap"
[ "$fail" -eq 0 ] && echo "ok: pcapng = pcap for tshark ($n packets, file and stdout)"

"$TOOL" -r "$T/vxlan-eth.pcap" -w "$T/x" --format pcap-ng 2>"$T/err"; rc=$?
[ "$rc" -eq 2 ] || bad "--format pcap-ng: exit $rc"
[ "$(cat "$T/err")" = "pktkit-recv: --format must be pcap or pcapng" ] || bad "--format message: $(cat "$T/err")"
[ -e "$T/x" ] && bad "--format pcap-ng wrote $T/x"
[ "$fail" -eq 0 ] && echo "ok: bad --format is a usage error"
exit $fail
