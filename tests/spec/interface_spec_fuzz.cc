// Fuzzes ParseInterfaceSpec. Properties: never crashes; every failure is InvalidArgument and
// names the spec; every accepted udp:: spec re-rendered in canonical form
// ("udp::<addr>:<port>:<encap>:dlt=<dlt>") parses again to the same address, port, mode,
// skip count and inner link type; af_packet:: names are non-empty and < IFNAMSIZ.
#include <net/if.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_check.h"
#include "pktkit/spec/interface_spec.h"

namespace {

const char* DltName(pktkit::LinkType lt) {
  switch (lt) {
    case pktkit::LinkType::kRaw:
      return "raw";
    case pktkit::LinkType::kPpp:
      return "ppp";
    default:
      return "en10mb";
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<pktkit::InterfaceSpec> s = pktkit::ParseInterfaceSpec(text);
  if (!s.ok()) {
    PKTKIT_FUZZ_CHECK(s.status().code() == absl::StatusCode::kInvalidArgument);
    PKTKIT_FUZZ_CHECK(!s.status().message().empty());
    return 0;
  }
  if (s->kind == pktkit::InterfaceKind::kAfPacket) {
    PKTKIT_FUZZ_CHECK(!s->iface.empty() && s->iface.size() < IFNAMSIZ);
    return 0;
  }
  if (s->kind == pktkit::InterfaceKind::kPcap) {
    PKTKIT_FUZZ_CHECK(!s->path.empty());
    return 0;
  }
  const std::string canon = "udp::" + s->address.ToString() + ":" + s->encap_name +
                            ":dlt=" + DltName(s->decap.raw_link_type);
  absl::StatusOr<pktkit::InterfaceSpec> t = pktkit::ParseInterfaceSpec(canon);
  PKTKIT_FUZZ_CHECK(t.ok());
  PKTKIT_FUZZ_CHECK(t->address.family() == s->address.family());
  PKTKIT_FUZZ_CHECK(t->address.port() == s->address.port());
  PKTKIT_FUZZ_CHECK(t->address.ToString() == s->address.ToString());
  PKTKIT_FUZZ_CHECK(t->decap.mode == s->decap.mode);
  PKTKIT_FUZZ_CHECK(t->decap.skip_bytes == s->decap.skip_bytes);
  PKTKIT_FUZZ_CHECK(t->decap.raw_link_type == s->decap.raw_link_type);
  return 0;
}
