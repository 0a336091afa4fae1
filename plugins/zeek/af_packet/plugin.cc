// plugins/zeek/af_packet/plugin.cc — the PktKit::AF_Packet Zeek plugin: the `pktkit_af_packet::`
// packet source. Named so it never collides with Zeek's built-in Zeek::AF_Packet
// (`af_packet::`), which keeps working beside it.
#include "zeek/plugin/Plugin.h"

#include "plugins/zeek/af_packet/af_packet_source.h"
#include "zeek/iosource/Component.h"

namespace plugin::PktKit_AF_Packet {

class Plugin : public zeek::plugin::Plugin {
 protected:
  zeek::plugin::Configuration Configure() override {
    AddComponent(new zeek::iosource::PktSrcComponent("PktKitAF_Packet", "pktkit_af_packet",
                                                     zeek::iosource::PktSrcComponent::LIVE,
                                                     AfPacketPktSrc::Instantiate));
    zeek::plugin::Configuration config;
    config.name = "PktKit::AF_Packet";
    config.description =
        "pktkit AF_PACKET TPACKET_V3 packet source (pktkit_af_packet::IFACE): Zeek::AF_Packet's "
        "options plus every fanout mode, in-kernel capture filter, VLAN tags back in the frame, "
        "link recovery";
    config.version.major = 0;
    config.version.minor = 1;
    config.version.patch = 0;
    return config;
  }
};

Plugin plugin;

}  // namespace plugin::PktKit_AF_Packet
