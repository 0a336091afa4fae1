#!/bin/bash
# pktkit-recv -r on captures of tunnel traffic: every inner packet it writes is the one tcpdump
# shows inside the corresponding outer packet (same timestamp, same decoded text), none missing.
# Also -w - (stdout), -c, a BPF expression on the inner packets and a bad --encap.
set -u
TOOL=tools/recv/pktkit-recv
PCAPS=../shared_pcaps
T=${TEST_TMPDIR:-/tmp}
fail=0
if [ -e "$PCAPS/ABSENT" ]; then
  echo "SKIP: shared captures absent (no ../shared/pcaps beside the checkout)"; exit 0
fi
# One line per packet: "<timestamp> <text>", continuation lines joined.
packets() {
  tcpdump -nn -e -r "$1" 2>"$T/tcpdump.err" | awk '
    /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\./ { if (l != "") print l; l = $0; next }
    { sub(/^[ \t]+/, ""); l = l " " $0 }
    END { if (l != "") print l }'
}
check() {  # file encap
  local f=$1 enc=$2
  [ -f "$PCAPS/$f" ] || { echo "FAIL: $PCAPS/$f missing"; fail=1; return; }
  if ! "$TOOL" -r "$PCAPS/$f" --encap "$enc" -w "$T/$f.inner" --stats_interval 0 2>"$T/err"; then
    echo "FAIL: $f: tool failed: $(cat "$T/err")"; fail=1; return
  fi
  packets "$PCAPS/$f" >"$T/outer.txt"
  packets "$T/$f.inner" | sed -E 's/^([0-9:.]+) ip: /\1 /' >"$T/inner.txt"
  local no=$(wc -l <"$T/outer.txt") ni=$(wc -l <"$T/inner.txt")
  if [ "$no" -ne "$ni" ] || [ "$ni" -eq 0 ]; then
    cat "$T/tcpdump.err"
    echo "FAIL: $f: $no outer packets, $ni inner"; fail=1; return
  fi
  paste -d '\n' "$T/outer.txt" "$T/inner.txt" | while IFS= read -r o && IFS= read -r i; do
    ts=${i%% *}; body=${i#* }
    case "$o" in
      "$ts "*"$body") ;;
      *) echo "FAIL: $f: inner packet not inside outer:"; echo "  outer: $o"; echo "  inner: $i"; exit 1 ;;
    esac
  done || fail=1
  echo "ok: $f ($ni packets)"
}
check vxlan.pcap vxlan
check geneve.pcap geneve
check geneve-many-options.pcap geneve
check geneve-ipv6.pcap geneve

# -w - with -c and a BPF expression on the inner packets.
n=$("$TOOL" -r "$PCAPS/geneve-many-options.pcap" --encap geneve -w - -c 100 --stats_interval 0 \
     tcp dst port 80 2>/dev/null | tcpdump -nn -r - 2>/dev/null | grep -c '> 95.217.228.176.80:')
all=$(packets "$PCAPS/geneve-many-options.pcap" | grep -c '> 95.217.228.176.80:')
[ "$n" -eq "$all" ] && [ "$n" -gt 0 ] || { echo "FAIL: bpf: $n of $all"; fail=1; }
n=$("$TOOL" -r "$PCAPS/vxlan.pcap" -w - -c 3 --stats_interval 0 2>/dev/null | tcpdump -nn -r - 2>/dev/null | wc -l)
[ "$n" -eq 3 ] || { echo "FAIL: -c 3 wrote $n"; fail=1; }
# The VNI filter: vxlan.pcap is all VNI 123.
n=$("$TOOL" -r "$PCAPS/vxlan.pcap" -w - --vni 7 --stats_interval 0 2>/dev/null | tcpdump -nn -r - 2>/dev/null | wc -l)
[ "$n" -eq 0 ] || { echo "FAIL: --vni 7 wrote $n"; fail=1; }
# Errors name the bad token and exit non-zero.
if "$TOOL" -r "$PCAPS/vxlan.pcap" --encap gre -w /dev/null 2>"$T/err"; then echo "FAIL: gre"; fail=1; fi
grep -q "'gre'" "$T/err" || { echo "FAIL: message: $(cat "$T/err")"; fail=1; }
if "$TOOL" -i udp::127.0.0.1:4789:vxlan:dlt=fddi -w /dev/null 2>"$T/err"; then echo "FAIL: dlt"; fail=1; fi
grep -q "'dlt=fddi'" "$T/err" || { echo "FAIL: message: $(cat "$T/err")"; fail=1; }
# Wrong encap on a capture: counted as malformed, not a crash.
"$TOOL" -r "$PCAPS/geneve.pcap" --encap vxlan --port 0 -w /dev/null --stats_interval 0 2>"$T/err" \
  || { echo "FAIL: wrong encap exit"; fail=1; }
grep -q "malformed" "$T/err" || { echo "FAIL: no malformed counter: $(cat "$T/err")"; fail=1; }
exit $fail
