#!/bin/bash
# nflog-pcap-recv and nflog-zmq-send after a fatal poll error: exit status 1 and one line
# "<program>: <message>" on stderr (before issue 9 both exited 0). The errors are injected with
# an LD_PRELOAD shim (fault_shim.cc): zmq_poll() failing with ETERM for the receiver, poll() on
# the NFLOG netlink socket failing with EIO for the sender. The sender part needs root and a
# private network namespace (unshare -n) for its NFLOG socket; it is skipped without them.
# The rate-control stage (nflog-zmq-compress) gets the same zmq_poll failure (it too exited 0).
# Usage: fatal_error_test.sh <nflog-pcap-recv> <nflog-zmq-send> <fault_shim.so> <nflog-zmq-compress>
set -u
RECV=$(realpath "$1"); SEND=$(realpath "$2"); SHIM=$(realpath "$3"); STAGE=$(realpath "$4")
T=${TEST_TMPDIR:-$(mktemp -d)}
fail=0

check() {  # name rc stderr-file program expected-text
  local name=$1 rc=$2 err=$3 prog=$4 want=$5
  local lines
  lines=$(grep -c "^$prog: .*$want" "$err")
  if [ "$rc" -ne 1 ] || [ "$lines" -ne 1 ]; then
    echo "FAIL $name: exit $rc (want 1), $lines line(s) '^$prog: .*$want' (want 1); stderr:"
    cat "$err"
    fail=1
  else
    echo "ok   $name: exit 1, '$(grep "^$prog: .*$want" "$err")'"
  fi
}

# Under --config=asan the tools link the ASan runtime, which insists on coming first in the
# library list; the preloaded shim comes before it on purpose.
export ASAN_OPTIONS="${ASAN_OPTIONS:+${ASAN_OPTIONS}:}verify_asan_link_order=0"

# Receiver: bind a loopback endpoint, the 3rd zmq_poll fails.
PORT=$((20000 + RANDOM % 20000))
LD_PRELOAD="$SHIM" PKTKIT_FAULT_ZMQ_POLL_AFTER=2 timeout 20 "$RECV" --interval=0 \
  "tcp://127.0.0.1:$PORT" "$T/out.pcap" 2>"$T/recv.err"
check nflog-pcap-recv $? "$T/recv.err" nflog-pcap-recv "zmq_poll"

# Stage: PULL bound on one loopback port, PUSH towards another; the 3rd zmq_poll fails.
LD_PRELOAD="$SHIM" PKTKIT_FAULT_ZMQ_POLL_AFTER=2 timeout 20 "$STAGE" --interval=0 \
  "tcp://127.0.0.1:$((PORT + 1))" "tcp://127.0.0.1:$((PORT + 2))" 2>"$T/stage.err"
check nflog-zmq-compress $? "$T/stage.err" nflog-zmq-compress "zmq_poll"

# Sender: its NFLOG socket's 31st poll fails, after the set-up acks (root + private netns).
if [ "$(id -u)" -ne 0 ] || ! unshare -n true 2>/dev/null; then
  echo "SKIP nflog-zmq-send: needs root and unshare -n (network namespace)"
else
  unshare -n env LD_PRELOAD="$SHIM" PKTKIT_FAULT_NETLINK_POLL_AFTER=30 timeout 20 "$SEND" \
    --interval=0 31 "tcp://127.0.0.1:$PORT" 2>"$T/send.err"
  check nflog-zmq-send $? "$T/send.err" nflog-zmq-send "poll(NFLOG socket)"
fi
exit $fail
