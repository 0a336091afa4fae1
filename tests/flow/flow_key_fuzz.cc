// Fuzzes ExtractFlowKey and SymmetricFlowHash (Ethernet and raw). Properties: a key is
// canonical; swapping the source and destination addresses and ports in the frame's own bytes
// gives the same key, the opposite direction flag (unless both endpoints are equal) and the
// same hash in both modes; offsets lie inside the frame.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "pktkit/flow/flow_hash.h"
#include "pktkit/flow/flow_key.h"
#include "pktkit/flow/toeplitz.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void SwapBytes(uint8_t* a, uint8_t* b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

void Check(const uint8_t* data, size_t size, pktkit::LinkType lt) {
  using namespace pktkit;
  FlowKeyInfo info;
  if (ExtractFlowKey(ByteSpan(data, size), lt, &info) != FlowKeyError::kOk) return;
  PKTKIT_FUZZ_CHECK(info.key.IsCanonical());
  PKTKIT_FUZZ_CHECK(info.network_offset < size && info.transport_offset <= size);
  std::vector<uint8_t> swapped(data, data + size);
  const size_t ip = info.network_offset;
  const bool v6 = info.key.family == 6;
  const size_t alen = v6 ? 16 : 4;
  const size_t src = ip + (v6 ? 8 : 12);
  SwapBytes(&swapped[src], &swapped[src + alen], alen);
  const bool ports_in_frame =
      !info.is_fragment && (info.key.protocol == kIpProtoTcp || info.key.protocol == kIpProtoUdp ||
                            info.key.protocol == kIpProtoSctp);
  if (ports_in_frame) {
    SwapBytes(&swapped[info.transport_offset], &swapped[info.transport_offset + 2], 2);
  }
  FlowKeyInfo other;
  PKTKIT_FUZZ_CHECK(ExtractFlowKey(ByteSpan(swapped.data(), size), lt, &other) ==
                    FlowKeyError::kOk);
  PKTKIT_FUZZ_CHECK(other.key == info.key);
  const bool same_endpoint = std::memcmp(info.key.addr_lo, info.key.addr_hi, 16) == 0 &&
                             info.key.port_lo == info.key.port_hi;
  if (!same_endpoint) {
    PKTKIT_FUZZ_CHECK(other.reversed != info.reversed);
  }
  for (FlowHashFields f : {FlowHashFields::kAddressesAndProtocol, FlowHashFields::kFiveTuple}) {
    const FlowHashResult a = SymmetricFlowHash(ByteSpan(data, size), lt, 99, f);
    const FlowHashResult b = SymmetricFlowHash(ByteSpan(swapped.data(), size), lt, 99, f);
    PKTKIT_FUZZ_CHECK(a.error == FlowKeyError::kOk && a.hash == b.hash);
  }
  PKTKIT_FUZZ_CHECK(SymmetricToeplitzHash(info.key, true) ==
                    SymmetricToeplitzHash(other.key, true));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Check(data, size, pktkit::LinkType::kEthernet);
  Check(data, size, pktkit::LinkType::kRaw);
  return 0;
}
