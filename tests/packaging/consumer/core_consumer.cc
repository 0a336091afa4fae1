// Uses pktkit's wire and flow layers the way vendored code would: VXLAN-encapsulate a frame,
// decapsulate it again, and check the symmetric flow hash of both directions. Needs only C++17
// and Linux headers. Prints "core ok ..." and exits 0, or says what failed and exits 1.
#include <cstdio>
#include <cstring>

#include "pktkit/flow/flow_hash.h"
#include "pktkit/wire/decap.h"
#include "pktkit/wire/encap.h"

namespace {

// Ethernet / IPv4 (10.0.0.1 -> 10.0.0.2) / UDP 1234 -> 53, 4 payload bytes.
unsigned char kFrame[] = {
    0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,  // dst, src, IPv4
    0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0,                    // IPv4, len 32, UDP
    10, 0, 0, 1, 10, 0, 0, 2,                                    // addresses
    0x04, 0xd2, 0, 53, 0, 12, 0, 0,                              // UDP 1234 -> 53, len 12
    'p', 'k', 't', 'k'};

}  // namespace

int main() {
  pktkit::EncapSpec spec;  // VXLAN
  spec.vni = pktkit::Vni::FromMasked(42);
  unsigned char datagram[pktkit::kMaxTunnelHeaderSize + sizeof kFrame];
  pktkit::ByteWriter w(datagram, sizeof datagram);
  if (!pktkit::WriteTunnelHeader(spec, &w)) return std::puts("WriteTunnelHeader failed"), 1;
  const size_t header = w.size();
  std::memcpy(datagram + header, kFrame, sizeof kFrame);

  pktkit::DecapConfig config;  // VXLAN
  pktkit::DecapResult r =
      pktkit::Decapsulate(pktkit::ByteSpan(datagram, header + sizeof kFrame), config);
  if (r.error != pktkit::DecapError::kOk) {
    return std::printf("decap: %s\n", pktkit::DecapErrorName(r.error)), 1;
  }
  if (!r.meta.vni.has_value() || r.meta.vni.value().value() != 42 ||
      r.inner.size != sizeof kFrame || std::memcmp(r.inner.data, kFrame, sizeof kFrame) != 0) {
    return std::puts("decap: wrong VNI or inner frame"), 1;
  }

  unsigned char reply[sizeof kFrame];  // the other direction: addresses and ports swapped
  std::memcpy(reply, kFrame, sizeof kFrame);
  std::memcpy(reply + 26, kFrame + 30, 4);
  std::memcpy(reply + 30, kFrame + 26, 4);
  std::memcpy(reply + 34, kFrame + 36, 2);
  std::memcpy(reply + 36, kFrame + 34, 2);
  pktkit::FlowHashResult a = pktkit::SymmetricFlowHash(
      pktkit::ByteSpan(kFrame, sizeof kFrame), pktkit::LinkType::kEthernet, 7,
      pktkit::FlowHashFields::kFiveTuple);
  pktkit::FlowHashResult b = pktkit::SymmetricFlowHash(
      pktkit::ByteSpan(reply, sizeof reply), pktkit::LinkType::kEthernet, 7,
      pktkit::FlowHashFields::kFiveTuple);
  if (a.error != pktkit::FlowKeyError::kOk || a.hash != b.hash || a.hash == 0) {
    return std::puts("flow hash: not symmetric"), 1;
  }
  std::printf("core ok: vni %u, %zu-byte inner frame, symmetric hash %08x\n",
              r.meta.vni.value().value(), r.inner.size, a.hash);
  return 0;
}
