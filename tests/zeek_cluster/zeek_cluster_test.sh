#!/usr/bin/env bash
# One-host Zeek clusters fed by pktkit's packet sources, started the Zeek 8 ways (tagged
# integration; runs whenever Bazel found a Zeek). Needs root: a private network namespace
# (unshare -n) with a veth pair and its own loopback; nothing leaves it.
#   A. `zeek -j plugins/zeek/cluster/pktkit-cluster.zeek` (Zeek's supervisor): manager, logger
#      and 2 workers on pktkit_af_packet::veth1 (one AF_PACKET fanout group); a trace replayed
#      into the veth: the logger's conn.log equals `zeek -r` (uids and times aside), both workers
#      saw traffic, no connection twice.
#   B. The zeek.conf of Zeek's systemd generator (`interface = pktkit_udp::0.0.0.0:4789:vxlan`,
#      `workers = 2`): the generator's units are run as systemd would run them (setup, logger,
#      manager, worker@1, worker@2: their ExecStart, Environment and WorkingDirectory); pktkit-fwd
#      tunnels the trace to the SO_REUSEPORT workers; the same checks.
#   C. Across hosts, as three network namespaces on a bridge: pktkit-fwd --dest A --dest B
#      spreads flows by symmetric hash over two sensor namespaces, each running a Zeek worker on
#      pktkit_udp::; manager and logger run in a third; Zeek's own cluster transport (ZeroMQ)
#      carries logs between them. The logger's conn.log equals `zeek -r`.
# Arguments: PktKit::AF_Packet's marker, Zeek bin dir, pktkit-gen, pktkit-fwd, the cluster
# script, PktKit::UDP's marker.
set -uo pipefail
AFP_MARKER="$1"; ZEEK_BIN="$2"; GEN="$3"; FWD="$4"; CLUSTER_SCRIPT="$5"; UDP_MARKER="$6"
MARKERS=("$AFP_MARKER" "$UDP_MARKER")
ZEEK="$ZEEK_BIN/zeek"

if [ "$(id -u)" != 0 ] || ! command -v tcpreplay >/dev/null || ! unshare -n true 2>/dev/null; then
  echo "SKIP: needs root, unshare -n and tcpreplay (private network namespace with a veth pair)"
  [ "${PKTKIT_REQUIRE_ZEEK:-0}" = 1 ] && { echo "FAIL: PKTKIT_REQUIRE_ZEEK=1"; exit 1; }
  exit 0
fi
if [ -z "${PKTKIT_IN_NETNS:-}" ]; then
  export PKTKIT_IN_NETNS=1
  exec unshare -n "$0" "$@"
fi
GEN=$(readlink -f "$GEN"); FWD=$(readlink -f "$FWD"); CLUSTER_SCRIPT=$(readlink -f "$CLUSTER_SCRIPT")

WORK=$(mktemp -d /tmp/pktkit-zeek-cluster.XXXXXX)
mkdir -p "$WORK/plugins"
for m in "${MARKERS[@]}"; do [ -f "$m" ] || { echo "FAIL: no plugin marker $m"; exit 1; }; done
for m in "${MARKERS[@]}"; do cp -rL "$(dirname "$(readlink -f "$m")")" "$WORK/plugins/"; done
export ZEEK_PLUGIN_PATH="$WORK/plugins"
FAILS=0
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  if [ "$FAILS" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "files kept in $WORK"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link set lo up
ip link add veth0 type veth peer name veth1 && ip link set veth0 mtu 9000 up && ip link set veth1 mtu 9000 up \
  || { fail "cannot create a veth pair"; exit 1; }

# Connections still open when the cluster stops would be flushed by workers while the logger
# shuts down: short inactivity timeouts log them while the cluster runs (the trace lasts well
# under a second, so `zeek -r` is not affected).
cat >"$WORK/tune.zeek" <<'Z'
redef udp_inactivity_timeout = 3 sec;
redef icmp_inactivity_timeout = 3 sec;
redef tcp_inactivity_timeout = 3 sec;
Z
"$GEN" -w "$WORK/trace.pcap" --flows 150 --seed 41 >/dev/null 2>&1 || fail "pktkit-gen failed"
mkdir -p "$WORK/ref" && (cd "$WORK/ref" && "$ZEEK" -r "$WORK/trace.pcap" local "$WORK/tune.zeek" >zeek.out 2>&1)

strip_log() {
  [ -f "$1" ] || return 0
  awk -F'\t' '
    /^#fields/ { for (i = 2; i <= NF; i++) { n[i-1] = $i; if ($i ~ /^(ts|uid|duration)$/) drop[i-1] = 1 } next }
    /^#/ { next }
    { line = ""; for (i = 1; i <= NF; i++) if (!drop[i]) line = line $i "\t"; print line }' "$1" | sort
}
# The logger's conn.log: rotated files in its log queue plus the open one.
merged_conn() {
  local d="$1" f
  for f in "$d"/conn.log "$d"/conn.*.log "$d"/log-queue/conn__*.log "$d"/../log-queue/conn__*.log; do
    [ -f "$f" ] && strip_log "$f"
  done | sort
}
check_cluster() {  # label logger_dir worker_out...
  local label="$1" ldir="$2"; shift 2
  local nref got dup w busy=0
  nref=$(strip_log "$WORK/ref/conn.log" | wc -l)
  got=$(merged_conn "$ldir" | wc -l)
  dup=$(merged_conn "$ldir" | cut -f1-5 | sort | uniq -d | wc -l)
  for w in "$@"; do
    n=$(sed -n 's/.* \([0-9]*\) packets received on interface.*/\1/p' "$w" | tail -1)
    [ "${n:-0}" -gt 0 ] && busy=$((busy + 1))
    echo "  $(basename "$(dirname "$w")"): ${n:-0} packets"
  done
  if diff <(strip_log "$WORK/ref/conn.log") <(merged_conn "$ldir") >"$WORK/$label.diff" && [ "$dup" -eq 0 ] \
     && [ "$busy" -eq "$#" ] && [ "$nref" -gt 0 ]; then
    ok "$label: the logger's conn.log equals zeek -r ($nref connections), $busy workers all busy, none twice"
  else
    fail "$label: logger has $got of $nref connections, $dup twice, $busy of $# workers busy ($WORK/$label.diff)"
    head -6 "$WORK/$label.diff"
  fi
}
wait_for() {  # file pattern count
  for _ in $(seq 1 300); do
    [ "$(cat $1 2>/dev/null | grep -c "$2")" -ge "$3" ] && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- A. zeek -j (supervisor)
A="$WORK/supervisor"
mkdir -p "$A"
(cd "$A" && exec "$ZEEK" -j "$CLUSTER_SCRIPT" PktKit::Cluster::interface=pktkit_af_packet::veth1 \
   PktKit::Cluster::workers=2 PktKit::Cluster::directory="$A" PktKit::Cluster::base_port=27760/tcp \
   "PktKit::Cluster::scripts=local $WORK/tune.zeek" >supervisor.out 2>&1) &
SUP=$!; PIDS+=($SUP)
if wait_for "$A/worker-*/stderr.log" 'capturing on pktkit_af_packet::veth1' 2; then
  sleep 3  # workers connect to the manager and logger
  tcpreplay -q -i veth0 --pps 2000 "$WORK/trace.pcap" >/dev/null 2>&1 || fail "tcpreplay"
  sleep 6  # inactivity timeouts (3 s) fire, logs reach the logger
  kill -TERM "$SUP"; wait "$SUP"
  check_cluster "zeek -j, 2 pktkit_af_packet:: workers (fanout)" "$A/logger" "$A"/worker-*/stderr.log
else
  fail "zeek -j: workers did not start capturing"; cat "$A/supervisor.out" "$A"/worker-*/stderr.log 2>/dev/null | head -20
  kill -TERM "$SUP"; wait "$SUP"
fi
PIDS=()

# ---------------------------------------------------------------- B. systemd generator
B="$WORK/systemd"
mkdir -p "$B/base" "$B/units" "$B/early" "$B/late"
for d in bin share lib; do ln -s "$(readlink -f "$ZEEK_BIN/..")/$d" "$B/base/$d"; done
cat >"$B/zeek.conf" <<Z
# The deployment under test, as an operator writes it.
interface = pktkit_udp::0.0.0.0:4789:vxlan
workers = 2
proxies = 0
base_dir = $B/base
port = 28760
metrics_port = 29760
archiver = 0
args = local $WORK/tune.zeek
Z
"$ZEEK_BIN/zeek-systemd-generator" --config "$B/zeek.conf" "$B/units" "$B/early" "$B/late" \
  || fail "zeek-systemd-generator failed"
# Runs a generated unit the way systemd does: its Environment, WorkingDirectory, ExecStart (%i
# and ${VAR} substituted); User=/Group= and the chown lines are left out (this test is root).
unit_value() { grep -h "^$2=" "$1" 2>/dev/null | sed "s/^$2=//"; }
run_unit() {  # template instance
  local tpl="$B/units/$1" inst="$2" envs=() wd cmd line
  local files=("$tpl")
  [ -d "$B/units/${1%@.service}@$inst.service.d" ] && files+=("$B/units/${1%@.service}@$inst.service.d"/*.conf)
  for f in "${files[@]}"; do
    while IFS= read -r line; do envs+=("${line//%i/$inst}"); done < <(unit_value "$f" Environment)
  done
  wd=$(unit_value "$tpl" WorkingDirectory); wd=${wd//%i/$inst}
  cmd=$(unit_value "$tpl" ExecStart); cmd=${cmd//%i/$inst}
  mkdir -p "$wd"
  (cd "$wd" && exec env "${envs[@]}" bash -c "exec $cmd" >stdout.log 2>stderr.log) &
  PIDS+=($!)
}
while IFS= read -r cmd; do
  case "$cmd" in chown*) continue ;; esac
  bash -c "$cmd" || fail "zeek-setup: $cmd"
done < <(unit_value "$B/units/zeek-setup.service" ExecStart)
[ -f "$B/base/var/spool/zeek/generated-scripts/cluster-layout.zeek" ] || fail "no cluster layout generated"
run_unit zeek-logger@.service 1
run_unit zeek-manager.service ""
for w in 1 2; do run_unit zeek-worker@.service "$w"; done
S="$B/base/var/spool/zeek"
if wait_for "$S/worker-*/stderr.log" 'listening on pktkit_udp::0.0.0.0:4789' 2; then
  sleep 3
  "$FWD" -r "$WORK/trace.pcap" --encap vxlan --dest 127.0.0.1:4789 --pps 2000 --progress 0 >/dev/null 2>&1 \
    || fail "pktkit-fwd failed"
  sleep 6
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  check_cluster "systemd generator, 2 pktkit_udp:: workers (SO_REUSEPORT)" "$S/logger-1" "$S"/worker-*/stderr.log
else
  fail "systemd units: workers did not start"; tail -n 5 "$S"/*/stderr.log
fi
PIDS=()

# ---------------------------------------------------------------- C. three namespaces
C="$WORK/hosts"
mkdir -p "$C/layout"
NS="pk$$"
NETNS=()
cleanup_ns() { for n in "${NETNS[@]}"; do ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null; ip netns del "$n" 2>/dev/null; done; }
trap 'cleanup_ns; cleanup' EXIT
ip link add br-pk type bridge && ip addr add 10.77.0.254/24 dev br-pk && ip link set br-pk up \
  || fail "cannot create a bridge"
i=0
for host in mgr s1 s2; do
  i=$((i + 1))
  ip netns add "$NS-$host" || { fail "ip netns add $NS-$host"; break; }
  NETNS+=("$NS-$host")
  ip link add "pk-$host" type veth peer name eth0 netns "$NS-$host"
  ip link set "pk-$host" master br-pk up
  ip -n "$NS-$host" addr add "10.77.0.$i/24" dev eth0
  ip -n "$NS-$host" link set eth0 up
  ip -n "$NS-$host" link set lo up
done
# The cluster layout every node loads (what zeek-cluster-layout-generator writes, with each
# node's address), and the ZeroMQ endpoints on the manager's host (loaded after the backend).
cat >"$C/layout/cluster-layout.zeek" <<Z
redef Cluster::manager_is_logger = F;
redef Cluster::nodes += {
    ["manager"] = [\$node_type=Cluster::MANAGER, \$ip=10.77.0.1, \$p=27760/tcp],
    ["logger-1"] = [\$node_type=Cluster::LOGGER, \$ip=10.77.0.1, \$p=27761/tcp, \$manager="manager"],
    ["worker-1"] = [\$node_type=Cluster::WORKER, \$ip=10.77.0.2, \$manager="manager"],
    ["worker-2"] = [\$node_type=Cluster::WORKER, \$ip=10.77.0.3, \$manager="manager"],
};
Z
cat >"$C/layout/zmq-endpoints.zeek" <<Z
redef Cluster::Backend::ZeroMQ::listen_xpub_endpoint = "tcp://10.77.0.1:5555";
redef Cluster::Backend::ZeroMQ::listen_xsub_endpoint = "tcp://10.77.0.1:5556";
redef Cluster::Backend::ZeroMQ::connect_xpub_endpoint = "tcp://10.77.0.1:5556";
redef Cluster::Backend::ZeroMQ::connect_xsub_endpoint = "tcp://10.77.0.1:5555";
Z
ZP="$C/layout:$("$ZEEK_BIN/zeek-config" --zeekpath)"
node() {  # netns name [zeek args]
  local ns="$1" name="$2"; shift 2
  mkdir -p "$C/$name"
  (cd "$C/$name" && exec ip netns exec "$NS-$ns" env CLUSTER_NODE="$name" ZEEKPATH="$ZP" \
     "$ZEEK" "$@" local "$WORK/tune.zeek" policy/frameworks/cluster/backend/zeromq \
     "$C/layout/zmq-endpoints.zeek" >stdout.log 2>stderr.log) &
  PIDS+=($!)
}
node mgr logger-1
node mgr manager
node s1 worker-1 -i pktkit_udp::0.0.0.0:4789:vxlan
node s2 worker-2 -i pktkit_udp::0.0.0.0:4789:vxlan
if wait_for "$C/worker-*/stderr.log" 'listening on pktkit_udp::0.0.0.0:4789' 2; then
  sleep 4  # workers join the cluster
  "$FWD" -r "$WORK/trace.pcap" --encap vxlan --dest 10.77.0.2:4789 --dest 10.77.0.3:4789 --pps 2000 \
    --progress 0 >"$C/fwd.out" 2>&1 || { fail "pktkit-fwd failed"; cat "$C/fwd.out"; }
  sleep 6
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  check_cluster "three namespaces, pktkit-fwd --dest A --dest B, workers on pktkit_udp::" "$C/logger-1" "$C"/worker-*/stderr.log
else
  fail "three namespaces: workers did not start"; tail -n 5 "$C"/*/stderr.log
fi
PIDS=()

[ "$FAILS" -eq 0 ] && echo "PASS" || { echo "$FAILS failure(s)"; exit 1; }
