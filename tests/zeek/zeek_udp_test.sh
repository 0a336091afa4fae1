#!/usr/bin/env bash
# PktKit::UDP end to end against a real Zeek (tagged integration; runs whenever Bazel found a
# Zeek, see third_party/zeek/zeek.bzl). Loopback only, no root needed (one check runs Zeek as an
# unprivileged user when started as root).
#   1. `zeek -NN` lists the plugin, its packet source and every option of scripts/__load__.zeek.
#   2. Bad specs fail `zeek -i` with a message naming the bad token.
#   3. A real trace (shared captures when present, and pktkit-gen output) sent by pktkit-fwd as
#      VXLAN, GENEVE, geneve+vxlan (IPv4 and IPv6 outer) gives conn.log, http.log and dns.log
#      equal to `zeek -r` (uids and times aside), with the recvmmsg and io_uring receivers.
#   4. The VNI ConnKey separates two VNIs carrying the same 5-tuples; without it they merge.
#   5. `zeek -f 'tcp port 80'` keeps only port 80 (inner filter), counted as filtered.
#   6. GENEVE options of the current packet reach scripts (AWS GWLB flow cookie); malformed
#      datagrams are counted by cause in Zeek's telemetry, Zeek keeps running.
#   7. A flood past a small receive buffer shows the kernel's drops in Zeek's `dropped`.
# Arguments: plugin marker, Zeek bin dir, pktkit-fwd, pktkit-gen, then capture files (optional).
set -uo pipefail
abs() { echo "$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"; }
MARKER=$(abs "$1"); ZEEK_BIN="$2"; FWD=$(abs "$3"); GEN=$(abs "$4"); shift 4
PCAPS=()
for p in "$@"; do PCAPS+=("$(abs "$p")"); done
ZEEK="$ZEEK_BIN/zeek"
WORK=$(mktemp -d /tmp/pktkit-zeek-test.XXXXXX)
chmod 755 "$WORK"
# The plugin directory, copied so an unprivileged Zeek can read it too.
mkdir -p "$WORK/plugins"
cp -rL "$(dirname "$MARKER")" "$WORK/plugins/"
chmod -R a+rX "$WORK/plugins"
export ZEEK_PLUGIN_PATH="$WORK/plugins"
FAILS=0
ZPID=""
cleanup() {
  [ -n "$ZPID" ] && kill "$ZPID" 2>/dev/null
  if [ "$FAILS" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "files kept in $WORK"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

# ---------------------------------------------------------------- 1. zeek -NN
NN=$("$ZEEK" -NN PktKit::UDP 2>&1)
echo "$NN" | grep -q '^PktKit::UDP - ' || fail "zeek -NN does not list PktKit::UDP: $NN"
echo "$NN" | grep -q '\[Packet Source\] PktKitUDP (interface prefix "pktkit_udp"' \
  || fail "zeek -NN lists no pktkit_udp packet source"
n_opts=0
for o in $(grep -oE '^\s*const [a-z_]+' "$WORK/plugins/PktKit_UDP/scripts/__load__.zeek" | awk '{print $2}'); do
  n_opts=$((n_opts + 1))
  echo "$NN" | grep -q "\[Constant\] PktKit::UDP::$o\$" || fail "zeek -NN does not list option $o"
done
[ "$n_opts" -ge 10 ] || fail "only $n_opts options found in scripts/__load__.zeek"
for f in current_vni current_outer_vni current_geneve_option current_gwlb_flow_cookie; do
  echo "$NN" | grep -q "\[Function\] PktKit::UDP::$f\$" || fail "zeek -NN does not list BIF $f"
done
for k in VXLAN_VNI GENEVE_VNI GENEVE_VXLAN_VNI; do
  echo "$NN" | grep -q "ConnKey Factory\] PKTKIT_UDP_${k}_FIVETUPLE" || fail "no ConnKey $k"
done
[ "$FAILS" -eq 0 ] && ok "zeek -NN lists PktKit::UDP, its source, $n_opts options, 4 BIFs, 3 ConnKeys"

# ---------------------------------------------------------------- 2. bad specs
cd "$WORK"
for bad in "127.0.0.1:4789:bogus|bogus" "127.0.0.1:99999|99999" "no.such.host:4789|no.such.host" \
           "127.0.0.1:4789:vxlan:dlt=foo|dlt=foo" "127.0.0.1:4789:skip=x|skip=x" \
           "[::1:4789|[::1:4789" "127.0.0.1|127.0.0.1"; do
  spec="${bad%%|*}"; token="${bad##*|}"
  out=$(timeout 20 "$ZEEK" -i "pktkit_udp::$spec" 2>&1); rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
    fail "zeek -i pktkit_udp::$spec exited $rc"
  elif ! echo "$out" | grep -qF "'$token'"; then
    fail "zeek -i pktkit_udp::$spec: message does not name '$token': $out"
  fi
done
[ "$FAILS" -eq 0 ] && ok "bad specs fail zeek -i naming the bad token"

# ---------------------------------------------------------------- helpers
port_hex() { printf '%04X' "$1"; }
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    grep -q ":$(port_hex $p) " /proc/net/udp /proc/net/udp6 2>/dev/null || { echo "$p"; return; }
  done
  echo 47999
}
# start_zeek DIR SPEC PORT [zeek args...]: Zeek in DIR, waits until it listens on PORT.
start_zeek() {
  local dir="$1" spec="$2" port="$3"; shift 3
  mkdir -p "$dir"
  (cd "$dir" && exec "$ZEEK" -C -i "pktkit_udp::$spec" "$@" >zeek.out 2>&1) &
  ZPID=$!
  for _ in $(seq 1 300); do
    grep -q ":$(port_hex "$port") " /proc/net/udp /proc/net/udp6 2>/dev/null && return 0
    kill -0 "$ZPID" 2>/dev/null || break
    sleep 0.05
  done
  echo "zeek did not start listening on $spec:"; cat "$dir/zeek.out"
  return 1
}
# Zeek may be slower than the sender (a loaded machine): stop it once the socket queue of the
# port it listens on is empty (at most 60 s), then give it a moment for what it holds.
stop_zeek() {
  local port="${1:-}"
  if [ -n "$port" ]; then
    for _ in $(seq 1 600); do
      [ "$(ss -Hlun "sport = :$port" 2>/dev/null | awk '{print $2}' | head -1)" = 0 ] && break
      sleep 0.1
    done
  fi
  sleep 1
  kill -INT "$ZPID" 2>/dev/null
  wait "$ZPID" 2>/dev/null
  ZPID=""
}
# Log contents without uid and time columns, sorted.
strip_log() {
  local f="$1"
  [ -f "$f" ] || return 0
  awk -F'\t' '
    /^#fields/ { for (i = 2; i <= NF; i++) { n[i-1] = $i; if ($i ~ /^(ts|uid|duration|rtt|uids|conn_uids|fuid|orig_fuids|resp_fuids)$/) drop[i-1] = 1 } next }
    /^#/ { next }
    { line = ""; for (i = 1; i <= NF; i++) if (!drop[i]) line = line $i "\t"; print line }' "$f" | sort
}
compare_logs() {  # ref_dir got_dir label
  local r=0 log
  for log in conn http dns; do
    if ! diff <(strip_log "$1/$log.log") <(strip_log "$2/$log.log") >"$2/$log.diff"; then
      fail "$3: $log.log differs from zeek -r ($(grep -c '^[<>]' "$2/$log.diff") lines; $2/$log.diff)"
      head -6 "$2/$log.diff"
      r=1
    fi
  done
  return $r
}

# ---------------------------------------------------------------- 3. equality with zeek -r
"$GEN" -w "$WORK/gen.pcap" --flows 200 --seed 7 --ipv6_share 0.3 --vlan_share 0.2 \
  --qinq_share 0.1 2>/dev/null || fail "pktkit-gen"
TRACES=("$WORK/gen.pcap")
for p in "${PCAPS[@]}"; do
  case "$(basename "$p")" in bro.org.pcap|ipv6-fragmented-dns.pcap) TRACES+=("$p") ;; esac
done
[ ${#TRACES[@]} -eq 1 ] && echo "note: shared captures absent; using pktkit-gen output only"

for T in "${TRACES[@]}"; do
  name=$(basename "$T" .pcap)
  ref="$WORK/ref-$name"; mkdir -p "$ref"
  (cd "$ref" && "$ZEEK" -C -r "$T" >zeek.out 2>&1) || fail "zeek -r $T"
  nconn=$(strip_log "$ref/conn.log" | wc -l)
  # geneve+vxlan inputs: the trace as VXLAN frames (outer IPv4 or IPv6), Ethernet cut off, so
  # pktkit-fwd --encap geneve carries raw IP (Protocol Type 0x0800/0x86DD) to the VXLAN port.
  "$FWD" -r "$T" --encap vxlan --vni 5 -w "$WORK/$name-vx4.pcap" --top-speed --progress 0 >/dev/null 2>&1
  "$FWD" -r "$T" --encap vxlan --vni 5 -w "$WORK/$name-vx6.pcap" --source-ip 2001:db8::1 \
    --dest '[2001:db8::2]' --top-speed --progress 0 >/dev/null 2>&1
  editcap -C 14 -T rawip "$WORK/$name-vx4.pcap" "$WORK/$name-vx4raw.pcap" >/dev/null 2>&1
  editcap -C 14 -T rawip "$WORK/$name-vx6.pcap" "$WORK/$name-vx6raw.pcap" >/dev/null 2>&1
  for case in "vxlan|127.0.0.1|$T" "geneve|127.0.0.1|$T" "geneve+vxlan|127.0.0.1|$WORK/$name-vx4raw.pcap" \
              "geneve+vxlan|[::1]|$WORK/$name-vx6raw.pcap"; do
    IFS='|' read -r encap host input <<<"$case"
    fwd_encap=vxlan; [ "$encap" != vxlan ] && fwd_encap=geneve
    for rx in RECVMMSG IO_URING; do
      port=$(free_port)
      got="$WORK/got-$name-${encap/+/_}-${host//[^0-9a-z.]/}-$rx"
      start_zeek "$got" "$host:$port:$encap" "$port" "PktKit::UDP::implementation=PktKit::UDP::$rx" \
        || { fail "$name $encap $rx: start"; stop_zeek; continue; }
      "$FWD" -r "$input" --encap "$fwd_encap" --vni 42 --dest "$host:$port" --pps 20000 \
        --progress 0 >"$got/fwd.out" 2>&1 || fail "$name $encap $rx: pktkit-fwd: $(tail -1 "$got/fwd.out")"
      stop_zeek "$port"
      stats=$(grep -E 'packets received on interface' "$got/zeek.out")
      if compare_logs "$ref" "$got" "$name $encap ($host) $rx"; then
        ok "$name via $encap ($host, $rx): $nconn connections, logs equal to zeek -r; $stats"
      fi
    done
  done
done

# ---------------------------------------------------------------- 4. VNI ConnKeys
T="$WORK/gen.pcap"
name=$(basename "$T" .pcap)
nref=$(strip_log "$WORK/ref-$name/conn.log" | wc -l)
for keyed in yes no; do
  port=$(free_port)
  d="$WORK/vni-$keyed"
  load=(); [ $keyed = yes ] && load=(PktKit/UDP/conn_key/vxlan_vni)
  start_zeek "$d" "127.0.0.1:$port:vxlan" "$port" "${load[@]}" || { fail "vni start"; continue; }
  for vni in 1 2; do
    "$FWD" -r "$T" --encap vxlan --vni $vni --dest "127.0.0.1:$port" --pps 20000 --progress 0 >/dev/null 2>&1
  done
  stop_zeek "$port"
  if [ $keyed = yes ]; then
    col=$(head -20 "$d/conn.log" | grep '^#fields' | tr '\t' '\n' | grep -n '^id.ctx.vxlan_vni$' | cut -d: -f1)
    n1=$(awk -F'\t' -v c=$((col - 1)) '!/^#/ && $c == 1' "$d/conn.log" | wc -l)
    n2=$(awk -F'\t' -v c=$((col - 1)) '!/^#/ && $c == 2' "$d/conn.log" | wc -l)
    if [ -n "$col" ] && [ "$n1" -eq "$nref" ] && [ "$n2" -eq "$nref" ]; then
      ok "vxlan_vni ConnKey: VNI 1 and VNI 2 each hold all $nref connections of $name"
    else
      fail "vxlan_vni ConnKey: want $nref connections per VNI, got vni1=$n1 vni2=$n2 (column ${col:-none})"
    fi
  else
    n=$(strip_log "$d/conn.log" | wc -l)
    if [ "$n" -lt $((2 * nref)) ]; then
      ok "without the ConnKey the two VNIs merge: $n connections (< $((2 * nref)))"
    else
      fail "without the ConnKey: $n connections, expected the VNIs to merge"
    fi
  fi
done

# ---------------------------------------------------------------- 5. capture filter on the inner packet
port=$(free_port)
d="$WORK/filter"
start_zeek "$d" "127.0.0.1:$port:vxlan" "$port" -f 'tcp port 80' || fail "filter start"
"$FWD" -r "$WORK/gen.pcap" --encap vxlan --dest "127.0.0.1:$port" --pps 20000 --progress 0 >/dev/null 2>&1
stop_zeek "$port"
n80=$(awk -F'\t' '!/^#/ && ($4 == 80 || $6 == 80) && $7 == "tcp"' "$d/conn.log" 2>/dev/null | wc -l)
nother=$(awk -F'\t' '!/^#/ && !(($4 == 80 || $6 == 80) && $7 == "tcp")' "$d/conn.log" 2>/dev/null | wc -l)
filtered=$(grep -oE '[0-9]+ \([0-9.]+%\) filtered' "$d/zeek.out" | awk '{print $1}')
if [ "$n80" -gt 0 ] && [ "$nother" -eq 0 ] && [ "${filtered:-0}" -gt 0 ]; then
  ok "zeek -f 'tcp port 80': $n80 port-80 connections, nothing else, ${filtered} packets filtered"
else
  fail "zeek -f 'tcp port 80': port80=$n80 other=$nother filtered=${filtered:-?}"
fi

# ---------------------------------------------------------------- 6. GENEVE options, malformed datagrams, telemetry
cat >"$WORK/probe.zeek" <<'ZEOF'
@load-plugin PktKit::UDP
@load base/frameworks/telemetry
global cookies: set[int];
global vnis: set[int];
event new_connection(c: connection) {
	add cookies[PktKit::UDP::current_gwlb_flow_cookie()];
	add vnis[PktKit::UDP::current_vni()];
}
event zeek_done() {
	for ( k in cookies ) print fmt("cookie %d", k);
	for ( v in vnis ) print fmt("vni %d", v);
	for ( _, m in Telemetry::collect_metrics("pktkit", "udp_*") )
		if ( m?$value && m$value > 0 && m?$label_values )
			print fmt("metric %s %s %.0f", m$opts$name, join_string_vec(m$label_values, ","), m$value);
}
ZEOF
port=$(free_port)
d="$WORK/geneve-opts"
start_zeek "$d" "127.0.0.1:$port:geneve" "$port" "$WORK/probe.zeek" || fail "probe start"
"$FWD" -r "$WORK/gen.pcap" --encap geneve --vni 77 --geneve-opt 0x0108:3:12345678 \
  --dest "127.0.0.1:$port" --pps 20000 --progress 0 >/dev/null 2>&1
for i in 1 2 3; do printf 'not a tunnel header at all' >/dev/udp/127.0.0.1/$port; done   # bad version
printf '\x00\x00' >/dev/udp/127.0.0.1/$port                                             # truncated
stop_zeek "$port"
grep -q '^cookie 305419896$' "$d/zeek.out" && ! grep -q '^cookie -1$' "$d/zeek.out" \
  && ok "current_gwlb_flow_cookie() = 0x12345678 for every connection" \
  || fail "flow cookie: $(grep '^cookie' "$d/zeek.out" | head -3)"
grep -q '^vni 77$' "$d/zeek.out" && [ "$(grep -c '^vni' "$d/zeek.out")" -eq 1 ] \
  && ok "current_vni() = 77" || fail "current_vni: $(grep '^vni' "$d/zeek.out")"
grep -qE 'metric pktkit_udp_malformed[a-z_]* ([^ ]*,)?bad_geneve_version(,[^ ]*)? 3$' "$d/zeek.out" \
  && grep -qE 'metric pktkit_udp_malformed[a-z_]* ([^ ]*,)?truncated(,[^ ]*)? 1$' "$d/zeek.out" \
  && ok "malformed datagrams counted by cause in telemetry: $(grep -oE 'malformed[a-z_]* [^ ]* [0-9]+' "$d/zeek.out" | paste -sd';')" \
  || { fail "malformed telemetry"; grep metric "$d/zeek.out"; }

# ---------------------------------------------------------------- 7. flood: kernel drops reach Zeek's stats
"$GEN" -w "$WORK/flood.pcap" --kinds udp_fixed --flows 200 --fixed_packets 400 --frame_size 1400 \
  2>/dev/null || fail "pktkit-gen flood"
port=$(free_port)
d="$WORK/flood"
start_zeek "$d" "127.0.0.1:$port:vxlan" "$port" -b "$WORK/probe.zeek" \
  'PktKit::UDP::udp_recv_buffer_size=65536' 'PktKit::UDP::recvmmsg_buffers=8' || fail "flood start"
"$FWD" -r "$WORK/flood.pcap" --encap vxlan --dest "127.0.0.1:$port" --top-speed --progress 0 >/dev/null 2>&1
stop_zeek "$port"
dropped=$(grep -oE '[0-9]+ \([0-9.]+%\) dropped' "$d/zeek.out" | awk '{print $1}')
ovfl=$(grep -E 'metric pktkit_udp_dropped[a-z_]* ([^ ]*,)?socket_overflow(,[^ ]*)? [0-9]+$' "$d/zeek.out" | awk '{print $NF}')
if [ "${dropped:-0}" -gt 0 ] && [ "${ovfl:-0}" -gt 0 ]; then
  ok "flood: Zeek reports ${dropped} dropped, telemetry socket_overflow=${ovfl}"
else
  fail "flood: dropped=${dropped:-?} socket_overflow=${ovfl:-?}"; tail -3 "$d/zeek.out"
fi

# ---------------------------------------------------------------- 8. unprivileged
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  port=$(free_port)
  d="$WORK/nobody"; mkdir -p "$d"; chmod 777 "$d"
  (cd "$d" && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
     env ZEEK_PLUGIN_PATH="$WORK/plugins" "$ZEEK" -C -i "pktkit_udp::127.0.0.1:$port:vxlan" >zeek.out 2>&1) &
  ZPID=$!
  for _ in $(seq 1 300); do grep -q ":$(port_hex "$port") " /proc/net/udp && break; sleep 0.05; done
  "$FWD" -r "$WORK/gen.pcap" --encap vxlan --dest "127.0.0.1:$port" --pps 20000 --progress 0 >/dev/null 2>&1
  stop_zeek "$port"
  n=$(strip_log "$d/conn.log" | wc -l)
  nref=$(strip_log "$WORK/ref-gen/conn.log" | wc -l)
  [ "$n" -eq "$nref" ] && [ "$n" -gt 0 ] && ok "as user nobody: $n connections (warning kept: $(grep -c 'receive buffer' "$d/zeek.out") receive-buffer line)" \
    || { fail "as user nobody: $n connections, want $nref"; cat "$d/zeek.out"; }
else
  echo "note: not root, the unprivileged-user check is implied (this run is unprivileged)"
fi

echo
if [ "$FAILS" -eq 0 ]; then echo "PASS"; exit 0; fi
echo "$FAILS failure(s)"; exit 1
