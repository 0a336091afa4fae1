// plugins/zeek/udp/plugin.cc — the PktKit::UDP Zeek plugin: the `pktkit_udp::` packet source
// and the VNI ConnKey factories. Named so it never collides with Zeek's built-ins (`udp::`,
// `af_packet::`, Zeek::*).
#include "plugins/zeek/udp/conn_key.h"
#include "plugins/zeek/udp/udp_source.h"
#include "zeek/conn_key/Component.h"
#include "zeek/iosource/Component.h"
#include "zeek/plugin/Plugin.h"

namespace plugin::PktKit_UDP {

class Plugin : public zeek::plugin::Plugin {
 protected:
  zeek::plugin::Configuration Configure() override {
    AddComponent(new zeek::iosource::PktSrcComponent(
        "PktKitUDP", "pktkit_udp", zeek::iosource::PktSrcComponent::LIVE, UdpSource::Instantiate));
    AddComponent(new zeek::conn_key::Component("PKTKIT_UDP_VXLAN_VNI_FIVETUPLE",
                                               VxlanVniFactory::Instantiate));
    AddComponent(new zeek::conn_key::Component("PKTKIT_UDP_GENEVE_VNI_FIVETUPLE",
                                               GeneveVniFactory::Instantiate));
    AddComponent(new zeek::conn_key::Component("PKTKIT_UDP_GENEVE_VXLAN_VNI_FIVETUPLE",
                                               GeneveVxlanVniFactory::Instantiate));
    zeek::plugin::Configuration config;
    config.name = "PktKit::UDP";
    config.description =
        "pktkit UDP tunnel packet source (pktkit_udp::ADDR:PORT[:vxlan|geneve|geneve+vxlan|raw|"
        "skip=N][:dlt=en10mb|raw|ppp]) and VNI ConnKeys";
    config.version.major = 0;
    config.version.minor = 1;
    config.version.patch = 0;
    return config;
  }
};

Plugin plugin;

}  // namespace plugin::PktKit_UDP
