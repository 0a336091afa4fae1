# ZeekControl plugin for pktkit's AF_PACKET source (PktKit::AF_Packet, `pktkit_af_packet::`).
#
# Install: copy this file into a ZeekControl plugin directory (`<prefix>/lib/zeek/python/zeekctl/
# plugins/`, or a directory named in zeekctl.cfg's SitePluginPath), then `zeekctl deploy`.
#
# node.cfg, as existing AF_PACKET deployments write it, with the interface prefix swapped:
#
#   [worker-1]
#   type=worker
#   host=localhost
#   interface=eth0
#   lb_method=custom                       # with lb_custom.InterfacePrefix=pktkit_af_packet::
#   lb_procs=4                             #   in zeekctl.cfg, or: lb_method=pktkit_af_packet
#   pktkit_af_packet_fanout_id=23
#   pktkit_af_packet_buffer_size=268435456
#   pktkit_af_packet_fanout_mode=FANOUT_HASH
#
# Every `pktkit_af_packet_<option>` key becomes `redef PktKit::AF_Packet::<option> = <value>;` on
# that worker's processes (worker-1-1 ... worker-1-4), like ZeekControl's own af_packet plugin
# does for AF_Packet::. Enum values may be written bare (FANOUT_LB, CHECKSUM_KERNEL); string
# options are quoted when they are not already.
# The file name starts with zzz_ so it runs after lb_custom, which adds the interface prefix.

import ZeekControl.plugin

PREFIX = "pktkit_af_packet::"
STRING_KEYS = ("fanout_cbpf_program", "fanout_ebpf_pinned_path")


class PktKitAfPacket(ZeekControl.plugin.Plugin):
    def __init__(self):
        super().__init__(apiversion=1)

    def name(self):
        return "pktkit_af_packet"

    def pluginVersion(self):
        return 1

    def init(self):
        # Active when a worker captures with pktkit_af_packet:: (lb_custom or interfaces), or
        # names lb_method=pktkit_af_packet (then the prefix is added here).
        used = False
        for nn in self.nodes():
            if nn.type != "worker":
                continue
            if nn.lb_method == "pktkit_af_packet":
                if nn.interface.startswith(PREFIX):
                    self.error(f"unexpected {PREFIX} prefix for interface {nn.interface} of {nn}")
                    return False
                nn.interface = PREFIX + nn.interface
            if nn.interface.startswith(PREFIX):
                used = True
        return used

    def nodeKeys(self):
        return [
            # Zeek::AF_Packet's options, same names.
            "buffer_size",
            "block_size",
            "block_timeout",
            "enable_hw_timestamping",
            "enable_fanout",
            "enable_defrag",
            "fanout_mode",
            "fanout_id",
            "link_type",
            "checksum_validation_mode",
            # pktkit's additions.
            "auto_block_size",
            "enable_fanout_rollover",
            "ignore_outgoing",
            "loopback_dedup",
            "promiscuous",
            "kernel_filter",
            "hw_timestamp_fallback",
            "fanout_cbpf_program",
            "fanout_ebpf_pinned_path",
            "link_retry_initial",
            "link_retry_max",
        ]

    @staticmethod
    def _value(key, v):
        v = v.strip()
        if key in STRING_KEYS and not v.startswith('"'):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if v.startswith("FANOUT_") or v.startswith("CHECKSUM_"):
            return "PktKit::AF_Packet::" + v
        return v

    def zeekctl_config(self):
        script = ""
        for nn in self.nodes():
            if nn.type != "worker" or not nn.interface.startswith(PREFIX):
                continue
            params = ""
            for key in self.nodeKeys():
                v = getattr(nn, f"{self.prefix()}_{key}", None)
                if v and v.strip():
                    params += f"\n  redef PktKit::AF_Packet::{key} = {self._value(key, v)};"
            if params:
                script += f'\n@if ( peer_description == "{nn.name}" ){params}\n@endif'
        return script
