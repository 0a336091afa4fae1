#!/usr/bin/env bash
# The ZeekControl plugin plugins/zeek/cluster/zeekctl/zzz_pktkit_af_packet.py inside the
# installation's own ZeekControl plugin API (ZeekControl.plugin, and its lb_custom plugin adding
# lb_custom.InterfacePrefix=pktkit_af_packet::), on the nodes ZeekControl makes of a node.cfg
# with two interfaces, lb_procs=2 each, per-node fanout id, mode and buffer size. The redefs it
# generates are then loaded by a real Zeek as each worker process (peer_description) and the
# options read back. Not covered: `zeekctl deploy` itself (it writes into the installation).
# Arguments: PktKit::AF_Packet's marker, Zeek bin dir, the ZeekControl plugin file.
set -uo pipefail
MARKER=$(readlink -f "$1"); ZEEK_BIN="$2"; PLUGIN=$(readlink -f "$3")
ZEEK="$ZEEK_BIN/zeek"
ZCTL_PY="$("$ZEEK_BIN/zeek-config" --prefix)/lib/zeek/python/zeekctl"
if [ ! -f "$ZCTL_PY/ZeekControl/plugin.py" ] || [ ! -f "$ZCTL_PY/plugins/lb_custom.py" ]; then
  echo "SKIP: ZeekControl is not installed with this Zeek ($ZCTL_PY)"
  exit 0
fi
WORK=$(mktemp -d /tmp/pktkit-zeekctl.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/plugins" && cp -rL "$(dirname "$MARKER")" "$WORK/plugins/"
export ZEEK_PLUGIN_PATH="$WORK/plugins"

python3 - "$ZCTL_PY" "$PLUGIN" "$WORK/zeekctl-config.zeek" <<'PY' || { echo "FAIL: plugin run"; exit 1; }
import importlib.util, sys
zctl, plugin_path, out = sys.argv[1:4]
sys.path.insert(0, zctl)
import ZeekControl.config as config
import ZeekControl.plugin  # noqa: F401  (the base class the plugins import)

class Node:  # what ZeekControl's config makes of node.cfg after lb_procs expansion
    def __init__(self, name, interface, **keys):
        self.name, self.type, self.interface = name, "worker", interface
        self.lb_method, self.lb_procs = "custom", "2"
        for k, v in keys.items():
            setattr(self, k, v)
    def __str__(self):
        return self.name

nodes = [Node("manager", "")]
nodes[0].type = "manager"
for n in ("1", "2"):
    nodes.append(Node(f"worker-1-{n}", "eth0", pktkit_af_packet_fanout_id="23",
                      pktkit_af_packet_buffer_size="268435456"))
    nodes.append(Node(f"worker-2-{n}", "eth1", pktkit_af_packet_fanout_id="24",
                      pktkit_af_packet_fanout_mode="FANOUT_LB",
                      pktkit_af_packet_checksum_validation_mode="CHECKSUM_KERNEL"))
options = {"lb_custom.InterfacePrefix": "pktkit_af_packet::", "lb_custom.InterfaceSuffix": ""}
class FakeConfig:
    def nodes(self): return nodes
    def get_option(self, name): return options.get(name)
config.Config = FakeConfig()

def load(path, cls):
    spec = importlib.util.spec_from_file_location(cls, path)
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return getattr(m, cls)()
lb = load(zctl + "/plugins/lb_custom.py", "LBCustom")
mine = load(plugin_path, "PktKitAfPacket")
assert lb.init(), "lb_custom did not activate"
assert mine.init(), "pktkit_af_packet plugin did not activate"
assert [n.interface for n in nodes[1:]] == ["pktkit_af_packet::eth0", "pktkit_af_packet::eth1"] * 2, [n.interface for n in nodes]
open(out, "w").write(mine.zeekctl_config() + "\n")
PY
FAILS=0
check() {  # node expected-output
  printf 'redef peer_description = "%s";\n' "$1" >"$WORK/node.zeek"
  got=$(cd "$WORK" && "$ZEEK" "$WORK/node.zeek" "$WORK/zeekctl-config.zeek" -e 'print PktKit::AF_Packet::fanout_id, PktKit::AF_Packet::buffer_size, PktKit::AF_Packet::fanout_mode, PktKit::AF_Packet::checksum_validation_mode' 2>&1)
  if [ "$got" = "$2" ]; then echo "ok: $1: $got"; else echo "FAIL: $1: got '$got', want '$2'"; FAILS=$((FAILS + 1)); fi
}
check worker-1-1 "23, 268435456, PktKit::AF_Packet::FANOUT_HASH, PktKit::AF_Packet::CHECKSUM_ON"
check worker-1-2 "23, 268435456, PktKit::AF_Packet::FANOUT_HASH, PktKit::AF_Packet::CHECKSUM_ON"
check worker-2-1 "24, 134217728, PktKit::AF_Packet::FANOUT_LB, PktKit::AF_Packet::CHECKSUM_KERNEL"
check worker-2-2 "24, 134217728, PktKit::AF_Packet::FANOUT_LB, PktKit::AF_Packet::CHECKSUM_KERNEL"
check manager "23, 134217728, PktKit::AF_Packet::FANOUT_HASH, PktKit::AF_Packet::CHECKSUM_ON"
[ "$FAILS" -eq 0 ] && echo PASS || { cat "$WORK/zeekctl-config.zeek"; exit 1; }
