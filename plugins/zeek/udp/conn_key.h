// plugins/zeek/udp/conn_key.h — ConnKey factories that add the tunnel's VNI to Zeek's
// connection key and to conn_id$ctx: the VXLAN VNI, the GENEVE VNI, or both (geneve+vxlan).
// Two flows with the same 5-tuple in different VNIs become two connections.
//
// Loaded explicitly, never automatically (scripts/PktKit/UDP/conn_key/*.zeek):
//   @load PktKit/UDP/conn_key/vxlan_vni          # conn_id_ctx$vxlan_vni
//   @load PktKit/UDP/conn_key/geneve_vni         # conn_id_ctx$geneve_vni
//   @load PktKit/UDP/conn_key/geneve_vxlan_vni   # both
//
// The VNI is the one of the packet being keyed (UdpSource::CurrentMeta checks its identity);
// packets that did not come through pktkit_udp:: (or had no such VNI) get none.
#ifndef PLUGINS_ZEEK_UDP_CONN_KEY_H_
#define PLUGINS_ZEEK_UDP_CONN_KEY_H_

#include <string>

#include "zeek/conn_key/Factory.h"
#include "zeek/packet_analysis/protocol/ip/conn_key/fivetuple/Factory.h"

namespace plugin::PktKit_UDP {

enum class VniFields : uint8_t { kVxlan = 1, kGeneve = 2, kBoth = 3 };

template <VniFields F>
class VniConnKeyFactory : public zeek::conn_key::fivetuple::Factory {
 public:
  static zeek::conn_key::FactoryPtr Instantiate() {
    return std::make_unique<VniConnKeyFactory<F>>();
  }

 private:
  zeek::ConnKeyPtr DoNewConnKey() const override;
  zeek::expected<zeek::ConnKeyPtr, std::string> DoConnKeyFromVal(const zeek::Val& v) const override;
};

using VxlanVniFactory = VniConnKeyFactory<VniFields::kVxlan>;
using GeneveVniFactory = VniConnKeyFactory<VniFields::kGeneve>;
using GeneveVxlanVniFactory = VniConnKeyFactory<VniFields::kBoth>;

}  // namespace plugin::PktKit_UDP

#endif  // PLUGINS_ZEEK_UDP_CONN_KEY_H_
