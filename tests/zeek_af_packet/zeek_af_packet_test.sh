#!/usr/bin/env bash
# PktKit::AF_Packet against a real Zeek (tagged integration; runs whenever Bazel found a Zeek).
# Needs root: it builds a private network namespace (unshare -n) with a veth pair, replays
# traces into one end with tcpreplay and captures on the other. Nothing leaves the namespace.
#   1. `zeek -NN` lists the plugin, its source and every option; each Zeek::AF_Packet option
#      exists under the same name with the same default; the built-in af_packet:: is still there.
#   2. Bad paths fail `zeek -i` naming the bad token or interface.
#   3. Each trace (pktkit-gen output with VLAN/QinQ flows, the same with MPLS labels on its
#      untagged frames; the shared http-vlan-0, http-qinq-0,
#      bro.org captures when present) replayed into the veth: pktkit_af_packet:: gives the
#      conn.log of `zeek -r` (uids and times aside), vlan/inner_vlan filled; the built-in
#      af_packet:: captures the same packets at the same time and is compared too; `-w` dumps:
#      pktkit's equal the trace byte for byte, the built-in's differences are named.
#   4. `-f 'vlan 6'`: the kernel filter (VLAN-aware) keeps the tagged flows and counts the rest
#      as filtered; the built-in source's user-space filter sees no tag in the bytes.
#   5. The interface is deleted and re-created during capture: Zeek keeps running, logs the gap
#      once, and captures the traffic sent afterwards.
#   6. Two fanout workers: the union of their conn.logs equals `zeek -r`, no connection in both.
# Arguments: plugin marker, Zeek bin dir, pktkit-gen, then capture files (optional).
set -uo pipefail
MARKER="$1"; ZEEK_BIN="$2"; GEN="$3"; shift 3
PCAPS=()
for p in "$@"; do PCAPS+=("$(readlink -f "$p")"); done
GEN=$(readlink -f "$GEN"); MARKER=$(readlink -f "$MARKER")
ZEEK="$ZEEK_BIN/zeek"

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! command -v tcpreplay >/dev/null \
   || ! unshare -n true 2>/dev/null; then
  echo "SKIP: needs root, unshare -n and tcpreplay (private network namespace with a veth pair)"
  [ "${PKTKIT_REQUIRE_ZEEK:-0}" = 1 ] && { echo "FAIL: PKTKIT_REQUIRE_ZEEK=1"; exit 1; }
  exit 0
fi
if [ -z "${PKTKIT_IN_NETNS:-}" ]; then
  export PKTKIT_IN_NETNS=1
  exec unshare -n "$0" "$MARKER" "$ZEEK_BIN" "$GEN" "${PCAPS[@]}"
fi

WORK=$(mktemp -d /tmp/pktkit-zeek-afp.XXXXXX)
[ -f "$MARKER" ] || { echo "FAIL: no plugin marker $MARKER"; exit 1; }
mkdir -p "$WORK/plugins"
cp -rL "$(dirname "$MARKER")" "$WORK/plugins/"
export ZEEK_PLUGIN_PATH="$WORK/plugins"
FAILS=0
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  if [ "$FAILS" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "files kept in $WORK"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
find_pcap() { local p; for p in "${PCAPS[@]}"; do [ "$(basename "$p")" = "$1" ] && { echo "$p"; return; }; done; }

# ---------------------------------------------------------------- 1. zeek -NN
NN=$("$ZEEK" -NN PktKit::AF_Packet 2>&1)
echo "$NN" | grep -q '^PktKit::AF_Packet - ' || fail "zeek -NN does not list PktKit::AF_Packet: $NN"
echo "$NN" | grep -q '\[Packet Source\] PktKitAF_Packet (interface prefix "pktkit_af_packet"' \
  || fail "zeek -NN lists no pktkit_af_packet packet source"
n_opts=0
for o in $(grep -oE '^\s*const [a-z_]+' "$WORK/plugins/PktKit_AF_Packet/scripts/__load__.zeek" | awk '{print $2}'); do
  n_opts=$((n_opts + 1))
  echo "$NN" | grep -q "\[Constant\] PktKit::AF_Packet::$o\$" || fail "zeek -NN does not list option $o"
done
BUILTIN=$("$ZEEK" -NN Zeek::AF_Packet 2>&1)
echo "$BUILTIN" | grep -q 'interface prefix "af_packet"' || fail "built-in af_packet:: source gone: $BUILTIN"
n_zeek=0
for o in $(echo "$BUILTIN" | sed -n 's/.*\[Constant\] AF_Packet::\([a-z_]*\)$/\1/p'); do
  n_zeek=$((n_zeek + 1))
  echo "$NN" | grep -q "\[Constant\] PktKit::AF_Packet::$o\$" || fail "Zeek::AF_Packet option $o missing"
  a=$("$ZEEK" -e "print AF_Packet::$o" 2>&1); b=$("$ZEEK" -e "print PktKit::AF_Packet::$o" 2>&1)
  [ "${a#AF_Packet::}" = "${b#PktKit::AF_Packet::}" ] || fail "default of $o differs: '$a' vs '$b'"
done
for m in HASH CPU QM CBPF EBPF LB RND ROLLOVER; do
  "$ZEEK" -e "print PktKit::AF_Packet::FANOUT_$m" >/dev/null 2>&1 || fail "no fanout mode FANOUT_$m"
done
[ "$n_zeek" -ge 10 ] || fail "only $n_zeek Zeek::AF_Packet options found"
[ "$FAILS" -eq 0 ] && ok "zeek -NN lists PktKit::AF_Packet with $n_opts options (all $n_zeek of Zeek::AF_Packet, same defaults), 8 fanout modes; af_packet:: still built in"

# ---------------------------------------------------------------- network namespace
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1  # no ND/RS of our own
ip link set lo up
make_veth() {
  ip link add veth0 type veth peer name veth1 || return 1
  ip link set veth0 mtu 9000 up && ip link set veth1 mtu 9000 up
}
make_veth || { fail "cannot create a veth pair"; exit 1; }

# ---------------------------------------------------------------- 2. bad paths
cd "$WORK"
for bad in "eth0:1|eth0:1" "no_such_if0|no_such_if0" "a/b|a/b"; do
  spec="${bad%%|*}"; token="${bad##*|}"
  out=$(timeout 30 "$ZEEK" -i "pktkit_af_packet::$spec" 2>&1); rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
    fail "zeek -i pktkit_af_packet::$spec exited $rc"
  elif ! echo "$out" | grep -qF "'$token'"; then
    fail "zeek -i pktkit_af_packet::$spec: message does not name '$token': $out"
  fi
done
out=$(timeout 30 "$ZEEK" -i pktkit_af_packet::veth1 -e 'redef PktKit::AF_Packet::fanout_mode = PktKit::AF_Packet::FANOUT_CBPF; redef PktKit::AF_Packet::fanout_cbpf_program = "1,6 0 0 x";' 2>&1)
echo "$out" | grep -qF "'6 0 0 x'" || fail "bad CBPF program not named: $out"
[ "$FAILS" -eq 0 ] && ok "bad paths and options fail zeek -i naming the bad token"
# veth has no hardware timestamps: fall back with one warning, or fail as the built-in does.
out=$(timeout 30 "$ZEEK" -i pktkit_af_packet::veth1 -e 'redef PktKit::AF_Packet::enable_hw_timestamping = T; redef PktKit::AF_Packet::hw_timestamp_fallback = F;' 2>&1)
echo "$out" | grep -q 'cannot timestamp received packets in hardware' || fail "hw timestamps without fallback: $out"
mkdir -p "$WORK/hwts"
out=$(cd "$WORK/hwts" && timeout 8 "$ZEEK" -i pktkit_af_packet::veth1 -e 'redef PktKit::AF_Packet::enable_hw_timestamping = T;' 2>&1)
if echo "$out" | grep -q 'falling back to kernel (software) timestamps' && echo "$out" | grep -q 'capturing on pktkit_af_packet::veth1'; then
  ok "hardware timestamps unavailable: falls back with one warning (or fails with hw_timestamp_fallback = F)"
else
  fail "hw timestamp fallback: $out"
fi

# ---------------------------------------------------------------- helpers
# start_zeek DIR PATH [zeek args...]: Zeek capturing PATH in DIR; waits until it captures.
start_zeek() {
  local dir="$1" path="$2"; shift 2
  mkdir -p "$dir"
  (cd "$dir" && exec "$ZEEK" -i "$path" policy/protocols/conn/vlan-logging "$@" >zeek.out 2>&1) &
  PIDS+=($!)
  LAST_PID=$!
}
wait_started() {  # dir...: wait until every Zeek says it listens
  local d
  for d in "$@"; do
    for _ in $(seq 1 300); do
      grep -q 'listening on' "$d/zeek.out" 2>/dev/null && break
      sleep 0.1
    done
    grep -q 'listening on' "$d/zeek.out" 2>/dev/null || { echo "zeek in $d did not start:"; cat "$d/zeek.out"; return 1; }
  done
  sleep 1  # the packet filter framework installs its filter at zeek_init
}
stop_all() {
  sleep 2  # partly filled blocks retire after block_timeout
  local p
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  PIDS=()
}
replay() { tcpreplay -q -i veth0 --pps "${2:-2000}" "$1" >/dev/null 2>&1 || fail "tcpreplay $1"; }
# conn.log rows without uid and time columns, sorted.
strip_log() {
  [ -f "$1" ] || return 0
  awk -F'\t' '
    /^#fields/ { for (i = 2; i <= NF; i++) { n[i-1] = $i; if ($i ~ /^(ts|uid|duration)$/) drop[i-1] = 1 } next }
    /^#/ { next }
    { line = ""; for (i = 1; i <= NF; i++) if (!drop[i]) line = line $i "\t"; print line }' "$1" | sort
}
reference() {  # trace dir: zeek -r, with its -w dump (what Zeek writes of what it read)
  mkdir -p "$2" && (cd "$2" && "$ZEEK" -r "$1" -w dump.pcap policy/protocols/conn/vlan-logging >zeek.out 2>&1)
}
tags() { tcpdump -nn -e -r "$1" 2>/dev/null | grep -o 'vlan [0-9]*, p [0-9]' | wc -l; }
outer_tpid() { tcpdump -nn -e -r "$1" 2>/dev/null | grep -c "^[^,]*, ethertype $2"; }
frames() { tcpdump -nn -t -xx -r "$1" 2>/dev/null; }

# ---------------------------------------------------------------- 3. traces, both sources
"$GEN" -w "$WORK/gen.pcap" --flows 120 --seed 11 --vlan_share 0.3 --qinq_share 0.2 >/dev/null 2>&1 \
  || fail "pktkit-gen failed"
# MPLS: pktkit-gen writes none, so the test puts a two-label stack (RFC 3032; the bottom label
# varies by frame) between the Ethernet header and IP on every untagged frame of its trace.
mpls=$(python3 - "$WORK/gen.pcap" "$WORK/gen-mpls.pcap" <<'PY'
import struct, sys
src = open(sys.argv[1], "rb").read()
e = "<" if src[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
out = bytearray(src[:24])
off, n = 24, 0
while off + 16 <= len(src):
    sec, frac, incl, orig = struct.unpack(e + "IIII", src[off:off + 16])
    frame = src[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(frame) >= 14 and frame[12:14] in (b"\x08\x00", b"\x86\xdd"):
        top = (100 << 12) | 64                          # label 100, TTL 64
        bottom = ((200 + n % 7) << 12) | (1 << 8) | 64  # S=1 (bottom of stack)
        frame = frame[:12] + b"\x88\x47" + struct.pack(">II", top, bottom) + frame[14:]
        incl, orig, n = incl + 8, orig + 8, n + 1
    out += struct.pack(e + "IIII", sec, frac, incl, orig) + frame
open(sys.argv[2], "wb").write(out)
print(n)
PY
)
[ "${mpls:-0}" -gt 0 ] || fail "could not write the MPLS trace"
TRACES=("$WORK/gen.pcap" "$WORK/gen-mpls.pcap")
for n in http-vlan-0.pcap http-qinq-0.pcap bro.org.pcap; do
  p=$(find_pcap "$n")
  if [ -n "$p" ]; then TRACES+=("$p"); else echo "SKIP: $n absent (../shared/pcaps not beside the checkout)"; fi
done
NAMED="$WORK/builtin-differences.txt"
: >"$NAMED"
for t in "${TRACES[@]}"; do
  name=$(basename "$t" .pcap)
  d="$WORK/cmp-$name"
  reference "$t" "$d/ref"
  start_zeek "$d/pktkit" pktkit_af_packet::veth1 -w "$d/pktkit.pcap" \
    -e 'redef PktKit::AF_Packet::enable_fanout = F;'
  start_zeek "$d/builtin" af_packet::veth1 -w "$d/builtin.pcap" -e 'redef AF_Packet::enable_fanout = F;'
  wait_started "$d/pktkit" "$d/builtin" || { fail "$name: Zeek did not start"; stop_all; continue; }
  replay "$t"
  stop_all
  nref=$(strip_log "$d/ref/conn.log" | wc -l)
  [ "$nref" -gt 0 ] || fail "$name: zeek -r wrote no connections"
  if diff <(strip_log "$d/ref/conn.log") <(strip_log "$d/pktkit/conn.log") >"$d/pktkit.diff"; then
    ok "$name: pktkit_af_packet:: conn.log equals zeek -r ($nref connections)"
  else
    fail "$name: pktkit_af_packet:: conn.log differs from zeek -r ($d/pktkit.diff)"; head -6 "$d/pktkit.diff"
  fi
  if grep -q '^#fields.*vlan' "$d/ref/conn.log" && [ "$(awk -F'\t' '/^#fields/{for(i=2;i<=NF;i++) if($i=="vlan") c=i-1} !/^#/ && c && $c != "-" {n++} END{print n+0}' "$d/pktkit/conn.log")" -eq 0 ] \
     && [ "$(awk -F'\t' '/^#fields/{for(i=2;i<=NF;i++) if($i=="vlan") c=i-1} !/^#/ && c && $c != "-" {n++} END{print n+0}' "$d/ref/conn.log")" -gt 0 ]; then
    fail "$name: vlan field empty in pktkit_af_packet:: conn.log"
  fi
  # -w: pktkit's frames are the frames `zeek -r -w` writes (tags back in place, real TPID).
  if [ -n "$(frames "$d/ref/dump.pcap" | head -1)" ] && diff <(frames "$d/ref/dump.pcap") <(frames "$d/pktkit.pcap") >"$d/pktkit-frames.diff"; then
    ok "$name: pktkit_af_packet:: -w dump equals zeek -r -w byte for byte ($(tags "$d/pktkit.pcap") VLAN tags)"
  else
    fail "$name: pktkit_af_packet:: -w dump differs from zeek -r -w ($d/pktkit-frames.diff)"; head -4 "$d/pktkit-frames.diff"
  fi
  # The built-in, same packets at the same time: every difference is named.
  if diff <(strip_log "$d/ref/conn.log") <(strip_log "$d/builtin/conn.log") >"$d/builtin.diff"; then
    echo "$name: built-in conn.log equals zeek -r" >>"$NAMED"
  else
    echo "$name: built-in conn.log differs from zeek -r in $(grep -c '^[<>]' "$d/builtin.diff") lines" >>"$NAMED"
  fi
  if ! diff -q <(frames "$d/ref/dump.pcap") <(frames "$d/builtin.pcap") >/dev/null; then
    rt=$(tags "$d/ref/dump.pcap"); bt=$(tags "$d/builtin.pcap")
    rq=$(outer_tpid "$d/ref/dump.pcap" '802.1Q-QinQ'); bq=$(outer_tpid "$d/builtin.pcap" '802.1Q-QinQ')
    # Take the tags out of both and the frames must agree: then the tags are the only difference.
    if [ "$bt" -lt "$rt" ] && diff -q <(tcpdump -nn -t -r "$d/ref/dump.pcap" 2>/dev/null | sed 's/^.*ethertype IPv[46][^,]*, //') \
                                       <(tcpdump -nn -t -r "$d/builtin.pcap" 2>/dev/null | sed 's/^.*ethertype IPv[46][^,]*, //') >/dev/null; then
      echo "$name: built-in -w dump lost the VLAN tag the kernel stripped: $bt of $rt tags left (PCP/DEI of the lost ones gone from the bytes), outer 802.1ad TPID (0x88a8) on $bq frames where zeek -r has it on $rq" >>"$NAMED"
    else
      fail "$name: built-in -w dump differs from zeek -r -w for a reason the test cannot name"
      diff <(frames "$d/ref/dump.pcap") <(frames "$d/builtin.pcap") | head -4
    fi
  fi
done
echo "--- built-in af_packet:: on the same traffic:"; cat "$NAMED"

# ---------------------------------------------------------------- 4. vlan capture filter
VL=$(find_pcap http-vlan-0.pcap)
if [ -n "$VL" ]; then
  d="$WORK/vlanfilter"
  vid=$(tcpdump -nn -e -r "$VL" 2>/dev/null | sed -n 's/.*vlan \([0-9]*\),.*/\1/p' | head -1)
  "$GEN" -w "$WORK/untagged.pcap" --flows 10 --seed 3 --vlan_share 0 --qinq_share 0 >/dev/null 2>&1
  start_zeek "$d/pktkit" pktkit_af_packet::veth1 -f "vlan $vid" -e 'redef PktKit::AF_Packet::enable_fanout = F;'
  start_zeek "$d/builtin" af_packet::veth1 -f "vlan $vid" -e 'redef AF_Packet::enable_fanout = F;'
  wait_started "$d/pktkit" "$d/builtin" || fail "vlan filter: Zeek did not start"
  replay "$VL"; replay "$WORK/untagged.pcap"
  stop_all
  want=$(strip_log "$WORK/cmp-http-vlan-0/ref/conn.log" | wc -l)
  got=$(strip_log "$d/pktkit/conn.log" | wc -l)
  filt=$(sed -n 's/.* \([0-9]*\) ([0-9.]*%) filtered.*/\1/p' "$d/pktkit/zeek.out" | tail -1)
  if [ "$got" -eq "$want" ] && [ "${filt:-0}" -gt 0 ]; then
    ok "-f 'vlan $vid' runs in the kernel: $got tagged connections kept, ${filt} untagged packets counted as filtered"
  else
    fail "-f 'vlan $vid': $got connections (want $want), filtered '${filt:-}'"; cat "$d/pktkit/zeek.out"
  fi
  bgot=$(strip_log "$d/builtin/conn.log" | wc -l)
  echo "vlan filter: the built-in af_packet:: with -f 'vlan $vid' logged $bgot of $want connections (its user-space filter reads frames whose tag the kernel removed)" >>"$NAMED"
  tail -1 "$NAMED"
fi

# ---------------------------------------------------------------- 5. link recovery
d="$WORK/recovery"
"$GEN" -w "$WORK/before.pcap" --flows 20 --seed 21 >/dev/null 2>&1
"$GEN" -w "$WORK/after.pcap" --flows 20 --seed 22 >/dev/null 2>&1
reference "$WORK/after.pcap" "$d/ref-after"
start_zeek "$d/pktkit" pktkit_af_packet::veth1
ZP=$LAST_PID
wait_started "$d/pktkit" || fail "recovery: Zeek did not start"
replay "$WORK/before.pcap"
sleep 1
ip link del veth0
sleep 3
kill -0 "$ZP" 2>/dev/null || fail "recovery: Zeek exited when the interface was deleted"
make_veth || fail "recovery: cannot re-create the veth pair"
sleep 3  # back-off (at most link_retry_max = 2 s) then re-open
replay "$WORK/after.pcap"
kill -0 "$ZP" 2>/dev/null || fail "recovery: Zeek is not running after the interface came back"
stop_all
gone=$(grep -c 'interface down or removed' "$d/pktkit/reporter.log" 2>/dev/null)
back=$(grep -c 're-opened; no packets were captured for' "$d/pktkit/reporter.log" 2>/dev/null)
lines=$(grep -vc '^#' "$d/pktkit/reporter.log" 2>/dev/null)
missing=$(comm -23 <(strip_log "$d/ref-after/conn.log" | cut -f1-5 | sort -u) <(strip_log "$d/pktkit/conn.log" | cut -f1-5 | sort -u) | wc -l)
if [ "$gone" = 1 ] && [ "$back" = 1 ] && [ "$missing" -eq 0 ]; then
  ok "interface deleted and re-created: Zeek kept running, gap logged once ($lines reporter lines), every connection sent afterwards captured"
else
  fail "recovery: 'went away' lines $gone, 're-opened' lines $back (want 1 and 1), $missing connections sent afterwards missing"
  grep -v '^#' "$d/pktkit/reporter.log" | head -10
fi

# ---------------------------------------------------------------- 6. two fanout workers
d="$WORK/fanout"
"$GEN" -w "$WORK/many.pcap" --flows 300 --seed 31 >/dev/null 2>&1
reference "$WORK/many.pcap" "$d/ref"
start_zeek "$d/w1" pktkit_af_packet::veth1 -e 'redef PktKit::AF_Packet::fanout_id = 77;'
start_zeek "$d/w2" pktkit_af_packet::veth1 -e 'redef PktKit::AF_Packet::fanout_id = 77;'
wait_started "$d/w1" "$d/w2" || fail "fanout: Zeek did not start"
replay "$WORK/many.pcap"
stop_all
n1=$(strip_log "$d/w1/conn.log" | wc -l); n2=$(strip_log "$d/w2/conn.log" | wc -l)
both=$(comm -12 <(strip_log "$d/w1/conn.log" | cut -f1-5 | sort -u) <(strip_log "$d/w2/conn.log" | cut -f1-5 | sort -u) | wc -l)
if diff <(strip_log "$d/ref/conn.log") <(cat <(strip_log "$d/w1/conn.log") <(strip_log "$d/w2/conn.log") | sort) >"$d/union.diff" \
   && [ "$both" -eq 0 ] && [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]; then
  ok "two fanout workers: $n1 + $n2 connections, union equals zeek -r, none in both"
else
  fail "fanout: $n1 + $n2 connections, $both in both, union diff $d/union.diff"; head -6 "$d/union.diff"
fi
# A fanout id already used with another mode: the error says so.
start_zeek "$d/w3" pktkit_af_packet::veth1 -e 'redef PktKit::AF_Packet::fanout_id = 78;'
wait_started "$d/w3" || true
out=$(timeout 30 "$ZEEK" -i pktkit_af_packet::veth1 -e 'redef PktKit::AF_Packet::fanout_id = 78; redef PktKit::AF_Packet::fanout_mode = PktKit::AF_Packet::FANOUT_LB;' 2>&1)
stop_all
echo "$out" | grep -q 'group id 78 is already used' && ok "fanout-id collision explained: $(echo "$out" | grep -o 'group id 78[^;]*' | head -1)" \
  || fail "fanout-id collision not explained: $out"

[ "$FAILS" -eq 0 ] && echo "PASS" || { echo "$FAILS failure(s)"; exit 1; }
