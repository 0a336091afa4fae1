#!/bin/bash
# pktkit demo: `bazel run //tools/demo` — no arguments, loopback only, about half a minute.
#
# 1. pktkit-gen writes a trace (TCP, HTTP, DNS, ICMP, fragments, IPv4/IPv6, 802.1Q/QinQ).
# 2. For VXLAN and GENEVE, and for the recvmmsg and io_uring receivers: pktkit-recv listens on
#    127.0.0.1, pktkit-fwd replays the trace to it, and pcap-compare checks that the received
#    pcap holds exactly the packets that were sent (count, bytes, every packet's contents).
# 3. A table: packets, bytes, packets/s, drops by cause, for each combination.
# 4. With Zeek (zeek on PATH or $ZEEK_PREFIX/bin/zeek): conn.log of the original and of a
#    received trace are compared, then Zeek receives the GENEVE tunnel itself through the
#    PktKit::UDP plugin (pktkit_udp::) and its conn.log is compared too.
# Environment knobs: DEMO_FLOWS (default 3000), DEMO_PPS (default 100000; 0 = --top-speed),
# DEMO_ZEEK_PPS (default 5000, the pace into the live Zeek),
# DEMO_KEEP=1 keeps the work folder.
set -uo pipefail

RUNFILES="${RUNFILES_DIR:-$0.runfiles}"
bin() {
  local p
  for p in "$RUNFILES/pktkit/$1" "$(dirname "$0")/../../$1"; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  echo "demo: cannot find $1 (run it with: bazel run //tools/demo)" >&2
  exit 1
}
GEN=$(bin tools/gen/pktkit-gen)
FWD=$(bin tools/fwd/pktkit-fwd)
RECV=$(bin tools/recv/pktkit-recv)
CMP=$(bin tools/demo/pcap-compare)

FLOWS="${DEMO_FLOWS:-3000}"
PPS="${DEMO_PPS:-100000}"
WORK=$(mktemp -d /tmp/pktkit-demo.XXXXXX)
RECV_PID=""
cleanup() {
  [ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null
  if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "demo: files kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== pktkit demo (work folder $WORK)"
"$GEN" -w "$WORK/trace.pcap" --flows "$FLOWS" --seed 1 --ipv6_share 0.3 --vlan_share 0.2 \
  --qinq_share 0.1 2>"$WORK/gen.log" || { cat "$WORK/gen.log"; exit 1; }
TOTAL=$("$CMP" "$WORK/trace.pcap" "$WORK/trace.pcap" | awk '{print $3}' | cut -d/ -f1)
echo "generated $TOTAL packets in $FLOWS flows: $(cat "$WORK/gen.log" | sed 's/^pktkit-gen: //')"

# A free UDP port on 127.0.0.1.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! ss -Hlun "sport = :$p" 2>/dev/null | grep -q .; then echo "$p"; return; fi
  done
  echo 47999
}

# Prometheus text → "cause=n,cause=n" for the dropped-packets counters (non-zero ones).
drops_of() {
  [ -f "$1" ] || { echo "-"; return; }
  local d
  d=$(grep -E '^[a-z_]*(drop|dropped|error|errors)[a-z_]*(\{[^}]*\})? [0-9]' "$1" \
        | awk '$2 > 0' | sed -E 's/^[a-z_]*\{cause="([^"]*)"\} /\1=/; s/^([a-z_]*) /\1=/' \
        | paste -sd, -)
  echo "${d:-none}"
}

# pktkit-recv's last counter line ("k=v ...") → its non-zero drop/error counters.
recv_drops() {
  local d
  d=$(tail -n 5 "$1" | tr ' ' '\n' | grep -E '(drop|error|trunc|bad|short|unknown).*=[0-9]+$' \
        | awk -F= '$NF > 0' | sort -u | paste -sd, -)
  echo "${d:-none}"
}

ROWS=()
FAIL=0
for ENCAP in vxlan geneve; do
  for RX in recvmmsg io_uring; do
    PORT=$(free_port)
    OUT="$WORK/recv-$ENCAP-$RX.pcap"
    "$RECV" -i "udp::127.0.0.1:$PORT:$ENCAP" -w "$OUT" -c "$TOTAL" --receiver "$RX" \
      --stats_interval 0 >"$WORK/recv-$ENCAP-$RX.log" 2>&1 &
    RECV_PID=$!
    # Wait until the receiver's socket is bound (at most 10 s).
    for _ in $(seq 1 200); do
      ss -Hlun "sport = :$PORT" 2>/dev/null | grep -q . && break
      kill -0 "$RECV_PID" 2>/dev/null || break
      sleep 0.05
    done
    if ! kill -0 "$RECV_PID" 2>/dev/null; then
      echo "demo: pktkit-recv ($ENCAP, $RX) did not start:"; sed 's/^/  /' "$WORK/recv-$ENCAP-$RX.log"
      ROWS+=("$ENCAP|$RX|-|-|-|receiver failed|FAIL"); FAIL=1; RECV_PID=""; continue
    fi
    PACE=(--pps "$PPS"); [ "$PPS" = 0 ] && PACE=(--top-speed)
    "$FWD" -r "$WORK/trace.pcap" --encap "$ENCAP" --vni 42 --dest "127.0.0.1:$PORT" "${PACE[@]}" \
      --progress 0 --metrics_file "$WORK/fwd-$ENCAP-$RX.prom" >"$WORK/fwd-$ENCAP-$RX.log" 2>&1
    FWD_RC=$?
    # The receiver stops by itself after $TOTAL packets; give it 5 s for stragglers.
    for _ in $(seq 1 100); do kill -0 "$RECV_PID" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$RECV_PID" 2>/dev/null; then kill -INT "$RECV_PID"; fi
    wait "$RECV_PID" 2>/dev/null
    RECV_PID=""
    RESULT=$("$CMP" "$WORK/trace.pcap" "$OUT" 2>&1)
    CMP_RC=$?
    PPS_DONE=$(grep -oE '[0-9]+ packets/s' "$WORK/fwd-$ENCAP-$RX.log" | awk '{print $1}')
    PKTS=$(echo "$RESULT" | awk '{print $3}' | cut -d/ -f2)
    BYTES=$(echo "$RESULT" | awk '{print $5}' | cut -d/ -f2)
    DROPS="fwd:$(drops_of "$WORK/fwd-$ENCAP-$RX.prom") recv:$(recv_drops "$WORK/recv-$ENCAP-$RX.log")"
    VERDICT=OK
    if [ $FWD_RC -ne 0 ] || [ $CMP_RC -ne 0 ]; then
      VERDICT="FAIL"; FAIL=1
      echo "demo: $ENCAP/$RX: $RESULT (pktkit-fwd exit $FWD_RC)"
      sed 's/^/  fwd: /' "$WORK/fwd-$ENCAP-$RX.log" | tail -3
      sed 's/^/  recv: /' "$WORK/recv-$ENCAP-$RX.log" | tail -3
    fi
    ROWS+=("$ENCAP|$RX|${PKTS:-0}|${BYTES:-0}|${PPS_DONE:-?}|$DROPS|$VERDICT")
  done
done

echo
printf '%-7s %-9s %9s %11s %10s  %-40s %s\n' encap receiver packets bytes packets/s "drops by cause" "sent == received"
for r in "${ROWS[@]}"; do
  IFS='|' read -r e x p b s d v <<<"$r"
  printf '%-7s %-9s %9s %11s %10s  %-40s %s\n' "$e" "$x" "$p" "$b" "$s" "$d" "$v"
done
echo "(packets/s: pktkit-fwd's send rate, paced at ${PPS} packets/s; DEMO_PPS=0 for top speed)"

ZEEK=""
if command -v zeek >/dev/null 2>&1; then ZEEK=$(command -v zeek);
elif [ -n "${ZEEK_PREFIX:-}" ] && [ -x "$ZEEK_PREFIX/bin/zeek" ]; then ZEEK="$ZEEK_PREFIX/bin/zeek"; fi
if [ -z "$ZEEK" ]; then
  echo "Zeek: not found (no zeek on PATH, no \$ZEEK_PREFIX): conn.log comparison skipped."
else
  summary() {  # the connection summary of a conn.log, without uids and timestamps
    grep -v '^#' "$1/conn.log" | awk -F'\t' '{print $3,$4,$5,$6,$7,$8,$10,$11,$12,$16,$17,$19}' | sort
  }
  conn() {
    (cd "$1" && "$ZEEK" -C -r "$2" >/dev/null 2>&1)
    summary "$1"
  }
  mkdir -p "$WORK/zeek-orig" "$WORK/zeek-recv"
  conn "$WORK/zeek-orig" "$WORK/trace.pcap" >"$WORK/conn-orig.txt"
  conn "$WORK/zeek-recv" "$WORK/recv-geneve-io_uring.pcap" >"$WORK/conn-recv.txt"
  if cmp -s "$WORK/conn-orig.txt" "$WORK/conn-recv.txt"; then
    echo "Zeek ($ZEEK): conn.log of the original and of the received trace agree ($(wc -l <"$WORK/conn-orig.txt") connections)."
  else
    echo "Zeek ($ZEEK): conn.log differs between the original and the received trace:"
    diff "$WORK/conn-orig.txt" "$WORK/conn-recv.txt" | head -10
    FAIL=1
  fi
  # Live: Zeek itself terminates the GENEVE tunnel through the PktKit::UDP plugin
  # (pktkit_udp::, built when Bazel found Zeek; docs/zeek.md).
  PLUGIN="$RUNFILES/pktkit/plugins/zeek/udp/PktKit_UDP"
  if [ -f "$PLUGIN/__zeek_plugin__" ]; then
    mkdir -p "$WORK/zeek-plugins" "$WORK/zeek-live"
    cp -rL "$PLUGIN" "$WORK/zeek-plugins/"
    PORT=$(free_port)
    (cd "$WORK/zeek-live" && ZEEK_PLUGIN_PATH="$WORK/zeek-plugins" exec "$ZEEK" -C \
       -i "pktkit_udp::127.0.0.1:$PORT:geneve" >zeek.out 2>&1) &
    RECV_PID=$!
    for _ in $(seq 1 200); do
      ss -Hlun "sport = :$PORT" 2>/dev/null | grep -q . && break
      kill -0 "$RECV_PID" 2>/dev/null || break
      sleep 0.05
    done
    # Paced for a full Zeek on a small machine (DEMO_ZEEK_PPS): past what Zeek keeps up with,
    # the kernel drops datagrams (they show in Zeek's "dropped" and its telemetry).
    "$FWD" -r "$WORK/trace.pcap" --encap geneve --vni 42 --dest "127.0.0.1:$PORT" \
      --pps "${DEMO_ZEEK_PPS:-5000}" --progress 0 >"$WORK/fwd-zeek.log" 2>&1
    # Zeek may be slower than the sender: stop it once its socket queue is empty (at most 60 s).
    for _ in $(seq 1 600); do
      [ "$(ss -Hlun "sport = :$PORT" 2>/dev/null | awk '{print $2}' | head -1)" = 0 ] && break
      sleep 0.1
    done
    sleep 1
    kill -INT "$RECV_PID" 2>/dev/null; wait "$RECV_PID" 2>/dev/null; RECV_PID=""
    summary "$WORK/zeek-live" >"$WORK/conn-live.txt" 2>/dev/null
    STATS=$(grep -oE '[0-9]+ packets received on interface.*dropped' "$WORK/zeek-live/zeek.out" | sed 's/ on interface [^,]*//')
    if [ -s "$WORK/conn-live.txt" ] && cmp -s "$WORK/conn-orig.txt" "$WORK/conn-live.txt"; then
      echo "Zeek live (zeek -i pktkit_udp::127.0.0.1:$PORT:geneve, fed by pktkit-fwd): conn.log agrees with zeek -r ($(wc -l <"$WORK/conn-live.txt") connections; $STATS)."
    else
      echo "Zeek live (pktkit_udp::): conn.log differs from zeek -r ($STATS):"
      diff "$WORK/conn-orig.txt" "$WORK/conn-live.txt" | head -10
      tail -3 "$WORK/zeek-live/zeek.out"
      FAIL=1
    fi
  else
    echo "Zeek live: the PktKit::UDP plugin was not built (Bazel found no zeek-config): skipped."
  fi
fi

if [ $FAIL -ne 0 ]; then echo "demo: FAILED"; exit 1; fi
echo "demo: every combination delivered exactly the packets that were sent."
