// plugins/zeek/udp/conn_key.cc — see conn_key.h.
#include "plugins/zeek/udp/conn_key.h"

#include <cstring>

#include "plugins/zeek/udp/udp_source.h"
#include "zeek/ID.h"
#include "zeek/Val.h"
#include "zeek/packet_analysis/protocol/ip/conn_key/IPBasedConnKey.h"

namespace plugin::PktKit_UDP {

namespace {

constexpr uint32_t kNoVni = 0xffffffff;  // a VNI is 24 bits, so this never collides

int CtxField(const char* name) {
  return zeek::id::conn_id_ctx->FieldOffset(name);
}

template <VniFields F>
class VniConnKey : public zeek::IPBasedConnKey {
 public:
  VniConnKey() {
    // The session key is the struct's bytes: zero the padding.
    std::memset(static_cast<void*>(&key_), 0, sizeof key_);
    key_.vxlan_vni = kNoVni;
    key_.geneve_vni = kNoVni;
  }

  zeek::detail::PackedConnTuple& PackedTuple() override { return key_.tuple; }
  const zeek::detail::PackedConnTuple& PackedTuple() const override { return key_.tuple; }

  static constexpr bool kVxlan = (static_cast<int>(F) & static_cast<int>(VniFields::kVxlan)) != 0;
  static constexpr bool kGeneve =
      (static_cast<int>(F) & static_cast<int>(VniFields::kGeneve)) != 0;

  static int VxlanOffset() {
    static const int off = CtxField("vxlan_vni");
    return off;
  }
  static int GeneveOffset() {
    static const int off = CtxField("geneve_vni");
    return off;
  }

  void SetFromCtx(const zeek::RecordVal& ctx) {
    if (kVxlan && VxlanOffset() >= 0 && ctx.HasField(VxlanOffset())) {
      key_.vxlan_vni = static_cast<uint32_t>(ctx.GetFieldAs<zeek::CountVal>(VxlanOffset()));
    }
    if (kGeneve && GeneveOffset() >= 0 && ctx.HasField(GeneveOffset())) {
      key_.geneve_vni = static_cast<uint32_t>(ctx.GetFieldAs<zeek::CountVal>(GeneveOffset()));
    }
  }

 protected:
  zeek::session::detail::Key DoSessionKey() const override {
    return {reinterpret_cast<const void*>(&key_), sizeof key_,
            zeek::session::detail::Key::CONNECTION_KEY_TYPE};
  }

  void DoInit(const zeek::Packet& pkt) override {
    const pktkit::TunnelMeta* m = UdpSource::CurrentMeta(&pkt);
    if (m == nullptr) return;
    using pktkit::TunnelType;
    if (kVxlan && (m->type == TunnelType::kVxlan || m->type == TunnelType::kGeneveVxlan) &&
        m->vni.has_value()) {
      key_.vxlan_vni = m->vni.value().value();
    }
    if (kGeneve) {
      const pktkit::OptionalVni& g = m->type == TunnelType::kGeneve        ? m->vni
                                     : m->type == TunnelType::kGeneveVxlan ? m->outer_vni
                                                                           : pktkit::OptionalVni();
      if (g.has_value()) key_.geneve_vni = g.value().value();
    }
  }

  void DoPopulateConnIdVal(zeek::RecordVal& conn_id, zeek::RecordVal& ctx) override {
    zeek::IPBasedConnKey::DoPopulateConnIdVal(conn_id, ctx);
    if (conn_id.GetType() != zeek::id::conn_id) return;
    if (kVxlan && key_.vxlan_vni != kNoVni && VxlanOffset() >= 0) {
      ctx.Assign(VxlanOffset(), static_cast<zeek_uint_t>(key_.vxlan_vni));
    }
    if (kGeneve && key_.geneve_vni != kNoVni && GeneveOffset() >= 0) {
      ctx.Assign(GeneveOffset(), static_cast<zeek_uint_t>(key_.geneve_vni));
    }
  }

 private:
  struct {
    zeek::detail::PackedConnTuple tuple;
    uint32_t vxlan_vni;
    uint32_t geneve_vni;
  } __attribute__((packed, aligned)) key_;
};

}  // namespace

template <VniFields F>
zeek::ConnKeyPtr VniConnKeyFactory<F>::DoNewConnKey() const {
  return std::make_unique<VniConnKey<F>>();
}

template <VniFields F>
zeek::expected<zeek::ConnKeyPtr, std::string> VniConnKeyFactory<F>::DoConnKeyFromVal(
    const zeek::Val& v) const {
  if (v.GetType() != zeek::id::conn_id) {
    return zeek::unexpected<std::string>{"expected a conn_id"};
  }
  // The five-tuple factory fills the tuple of a key made by our DoNewConnKey.
  auto ck = zeek::conn_key::fivetuple::Factory::DoConnKeyFromVal(v);
  if (!ck.has_value()) return ck;
  auto* k = dynamic_cast<VniConnKey<F>*>(ck.value().get());
  if (k == nullptr) return zeek::unexpected<std::string>{"unexpected ConnKey type"};
  static const int ctx_offset = zeek::id::conn_id->FieldOffset("ctx");
  if (ctx_offset < 0) return ck;
  const auto* rec = v.AsRecordVal();
  if (!rec->HasField(ctx_offset)) return ck;
  k->SetFromCtx(*rec->GetFieldAs<zeek::RecordVal>(ctx_offset));
  return ck;
}

template class VniConnKeyFactory<VniFields::kVxlan>;
template class VniConnKeyFactory<VniFields::kGeneve>;
template class VniConnKeyFactory<VniFields::kBoth>;

}  // namespace plugin::PktKit_UDP
