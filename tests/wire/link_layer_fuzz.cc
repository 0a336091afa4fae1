// Fuzzes ParseLinkLayer over every link type it knows. The first input byte picks the link
// type. Properties: the network layer lies inside the input and ends where the input ends (no
// link type pads after the packet), raw IP and NFLOG give only IPv4/IPv6, tags <= kMaxVlanTags.
#include <cstddef>
#include <cstdint>

#include "pktkit/wire/link_layer.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pktkit;
  if (size == 0) return 0;
  static constexpr LinkType kTypes[] = {LinkType::kEthernet, LinkType::kRaw, LinkType::kLinuxSll,
                                        LinkType::kLinuxSll2, LinkType::kNflog, LinkType::kPpp};
  const LinkType lt = kTypes[data[0] % (sizeof kTypes / sizeof kTypes[0])];
  const ByteSpan frame(data + 1, size - 1);
  LinkLayer ll;
  const LinkLayerError e = ParseLinkLayer(frame, lt, &ll);
  PKTKIT_FUZZ_CHECK(ll.vlan_count <= kMaxVlanTags);
  if (e != LinkLayerError::kOk) {
    PKTKIT_FUZZ_CHECK(e != LinkLayerError::kCount);
    return 0;
  }
  PKTKIT_FUZZ_CHECK(IsKnownLinkType(lt));
  if (!ll.l3.empty()) {
    PKTKIT_FUZZ_CHECK(ll.l3.data >= frame.data);
    PKTKIT_FUZZ_CHECK(ll.l3.size <= frame.size);
    PKTKIT_FUZZ_CHECK(static_cast<size_t>(ll.l3.data - frame.data) <= frame.size - ll.l3.size);
  }
  if (lt != LinkType::kNflog && !ll.l3.empty()) {
    PKTKIT_FUZZ_CHECK(ll.l3.data + ll.l3.size == frame.data + frame.size);
  }
  if (lt == LinkType::kRaw || lt == LinkType::kNflog) PKTKIT_FUZZ_CHECK(IsIp(ll));
  return 0;
}
