##! `@load PktKit/UDP` — nothing beyond what the plugin always loads (scripts/__load__.zeek).
##! The VNI ConnKeys are separate, explicit loads:
##!   @load PktKit/UDP/conn_key/vxlan_vni
##!   @load PktKit/UDP/conn_key/geneve_vni
##!   @load PktKit/UDP/conn_key/geneve_vxlan_vni
