#!/bin/bash
# Builds examples/ — a workspace of its own that depends on this checkout through
# local_repository, as a user's would — with a second Bazel server, and runs its two sensors:
#   1. flow-buckets in a network namespace this test creates (unshare -n, veth pair; root):
#      tcpreplay sends a generated trace (802.1Q and QinQ tags, IPv4/IPv6, fragments) into one
#      end, the sensor captures the other through the AF_PACKET ring; the union of its N bucket
#      files must equal the trace and every flow must sit in exactly one bucket.
#   2. gwlb-vni-split on loopback, fed by pktkit-fwd --encap geneve with the AWS GWLB options:
#      each vni-<N>.pcap must hold exactly the packets sent with VNI N, the GWLB option values
#      must be reported, and a datagram with an unknown critical option must be dropped, counted.
# It also checks that examples/visibility's targets, which depend on private pktkit targets
# (pktkit/internal, tools/common), fail analysis with a visibility error.
# The nested server gets its own output base (kept in /tmp between runs, so rebuilds are
# incremental) and is shut down on exit; --max_idle_secs bounds it if the test is killed.
set -uo pipefail
FWD="$1"; GEN="$2"; CMP="$3"; CHECK="$4"
T="${TEST_TMPDIR:-$(mktemp -d)}"
ROOT="$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)"
[ -f "$ROOT/examples/WORKSPACE" ] || { echo "FAIL: no examples/WORKSPACE under $ROOT"; exit 1; }
export HOME="${HOME:-$T}"
unset RUNFILES_DIR RUNFILES_MANIFEST_FILE JAVA_RUNFILES TEST_SRCDIR

OB="/tmp/pktkit-examples-bazel-$(printf '%s' "$ROOT" | md5sum | cut -c1-12)"
nested() { (cd "$ROOT/examples" && bazel --output_base="$OB" --max_idle_secs=300 "$@"); }
trap 'nested shutdown >/dev/null 2>&1' EXIT

echo "== building $ROOT/examples (output base $OB)"
if ! nested build --symlink_prefix=/ --jobs=2 //:flow-buckets //:gwlb-vni-split >"$T/build.log" 2>&1; then
  tail -40 "$T/build.log"; echo "FAIL: the examples workspace does not build"; exit 1
fi
BIN="$(nested info bazel-bin 2>/dev/null)"
BUCKETS="$BIN/flow-buckets"; SPLIT="$BIN/gwlb-vni-split"
[ -x "$BUCKETS" ] && [ -x "$SPLIT" ] || { echo "FAIL: built binaries not found in $BIN"; exit 1; }
rc=0

echo "== what a user must not depend on is private"
for t in uses_internal uses_tools_common; do
  if nested build --symlink_prefix=/ "//visibility:$t" >"$T/vis.log" 2>&1; then
    echo "FAIL: //visibility:$t built: a private pktkit target is visible to users"; rc=1
  elif ! grep -q "is not visible from target '//visibility:$t'" "$T/vis.log"; then
    tail -5 "$T/vis.log"; echo "FAIL: //visibility:$t failed for another reason than visibility"; rc=1
  else
    echo "//visibility:$t: refused (not visible), as it should be"
  fi
done

echo "== 2. UDP GENEVE (AWS GWLB options) -> per-VNI pcap, sender pktkit-fwd on loopback"
"$GEN" -w "$T/a.pcap" --flows 40 --seed 21 >/dev/null 2>&1 || exit 1
"$GEN" -w "$T/b.pcap" --flows 40 --seed 22 --ipv6_share 0.6 >/dev/null 2>&1 || exit 1
mkdir -p "$T/vni"
PORT=$((20000 + RANDOM % 20000))
"$SPLIT" "udp::127.0.0.1:$PORT:geneve" "$T/vni" 2>"$T/split.log" &
S=$!
sleep 1
send() { "$FWD" --encap geneve --dest "127.0.0.1:$PORT" --mtu 9000 --pps 20000 --progress 0 "$@" 2>>"$T/fwd.log"; }
send -r "$T/a.pcap" --vni 100 --geneve-opt 0x0108:1:0011223344556677 \
  --geneve-opt 0x0108:2:8899aabbccddeeff --geneve-opt 0x0108:3:0a0b0c0d || rc=1
send -r "$T/b.pcap" --vni 200 --geneve-opt 0x0108:1:1111222233334444 || rc=1
# A critical option nobody understands (RFC 8926 §3.5): the receiver must drop these.
send -r "$T/b.pcap" --vni 300 --geneve-opt 0x0999:0x81:00000000 || rc=1
sleep 1
kill -TERM $S; wait $S || { echo "FAIL: gwlb-vni-split exited $?"; rc=1; }
cat "$T/split.log"
"$CMP" "$T/a.pcap" "$T/vni/vni-100.pcap" || { echo "FAIL: vni-100.pcap != packets sent with VNI 100"; rc=1; }
"$CMP" "$T/b.pcap" "$T/vni/vni-200.pcap" || { echo "FAIL: vni-200.pcap != packets sent with VNI 200"; rc=1; }
[ ! -e "$T/vni/vni-300.pcap" ] || { echo "FAIL: unknown critical option was not dropped"; rc=1; }
[ "$(ls "$T/vni" | wc -l)" = 2 ] || { echo "FAIL: unexpected files: $(ls "$T/vni")"; rc=1; }
grep -q "vni 100: .* endpoint=0011223344556677 attachment=8899aabbccddeeff cookie=0a0b0c0d" "$T/split.log" \
  || { echo "FAIL: GWLB options of VNI 100 not reported"; rc=1; }
nb=$(grep -c . <(tcpdump -nr "$T/b.pcap" 2>/dev/null))
grep -q "unknown_critical_option=$nb " "$T/split.log" \
  || { echo "FAIL: expected $nb drops by unknown_critical_option"; rc=1; }

echo "== 1. AF_PACKET ring -> symmetric flow hash -> 4 bucket pcaps, in a network namespace"
if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
  echo "SKIP (part 1): needs root and unshare -n (network namespaces)"
else
  "$GEN" -w "$T/trace.pcap" --flows 150 --seed 13 --ipv6_share 0.4 --vlan_share 0.3 \
    --qinq_share 0.2 >/dev/null 2>&1 || exit 1
  mkdir -p "$T/buckets"
  export BUCKETS T
  unshare -n bash -c '
    set -u
    sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip link add name exa type veth peer name exb || exit 1
    ip link set exa mtu 9000 up; ip link set exb mtu 9000 up
    "$BUCKETS" exb 4 "$T/buckets" 2>"$T/buckets.log" &
    B=$!
    sleep 1
    tcpreplay -q -i exa --pps 5000 "$T/trace.pcap" >/dev/null 2>&1 || { echo "tcpreplay failed"; exit 1; }
    sleep 1
    kill -TERM $B; wait $B
  ' || { echo "FAIL: flow-buckets run"; rc=1; }
  cat "$T/buckets.log"
  python3 "$CHECK" "$T/trace.pcap" "$T"/buckets/bucket-{0,1,2,3}.pcap || rc=1
  grep -q "vlan tags reinserted [1-9]" "$T/buckets.log" || { echo "FAIL: no VLAN tag reinserted"; rc=1; }
fi

[ $rc = 0 ] && echo PASS || echo FAIL
exit $rc
