// tools/gen/gen_options.h — options, packet type and PRNG of the traffic generator
// (tools/gen/generator.h has the overview).
//
//   pktkit::gen::GenOptions o;
//   o.kinds = {pktkit::gen::FlowKind::kDns};
//
// References: see tools/gen/generator.h.
#ifndef PKTKIT_TOOLS_GEN_GEN_OPTIONS_H_
#define PKTKIT_TOOLS_GEN_GEN_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pktkit::gen {

enum class FlowKind : uint8_t { kTcp, kHttp, kDns, kIcmp, kUdpFragments, kUdpFixed };

struct GenOptions {
  uint64_t seed = 1;
  size_t flows = 10;
  // Stop after this many packets in all (0: no limit; the last flow may be cut short).
  size_t max_packets = 0;
  double ipv6_share = 0.25;  // fraction of flows over IPv6
  double vlan_share = 0.2;   // fraction with one 802.1Q tag
  double qinq_share = 0.1;   // fraction with an 802.1ad S-tag + 802.1Q C-tag
  // Which kinds to draw from (uniformly). Empty: tcp, http, dns, icmp, udp fragments.
  std::vector<FlowKind> kinds;
  size_t data_segments = 3;       // TCP: data segments the server sends (client sends 1 + this/2)
  size_t icmp_pairs = 2;          // ICMP: echo request/reply pairs
  size_t fixed_packets = 10;      // kUdpFixed: packets per flow
  size_t fixed_frame_bytes = 64;  // kUdpFixed: Ethernet frame size (min 64 incl. headers)
  size_t fragment_datagram_bytes = 3000;  // kUdpFragments: UDP payload bytes
  size_t mtu = 1500;                      // fragmentation and TCP segment size limit
  int64_t start_ns = 1700000000LL * 1000000000LL;
  int64_t gap_ns = 100000;  // between consecutive packets of the trace
};

struct GenPacket {
  std::vector<uint8_t> bytes;  // a whole Ethernet frame
  int64_t timestamp_ns = 0;
  uint32_t flow = 0;  // index of the flow it belongs to
  bool from_client = true;
};

inline const char* FlowKindName(FlowKind k) {
  switch (k) {
    case FlowKind::kTcp:
      return "tcp";
    case FlowKind::kHttp:
      return "http";
    case FlowKind::kDns:
      return "dns";
    case FlowKind::kIcmp:
      return "icmp";
    case FlowKind::kUdpFragments:
      return "udp_fragments";
    case FlowKind::kUdpFixed:
      return "udp_fixed";
  }
  return "unknown";
}

inline bool ParseFlowKind(const std::string& s, FlowKind* out) {
  for (FlowKind k : {FlowKind::kTcp, FlowKind::kHttp, FlowKind::kDns, FlowKind::kIcmp,
                     FlowKind::kUdpFragments, FlowKind::kUdpFixed}) {
    if (s == FlowKindName(k)) {
      *out = k;
      return true;
    }
  }
  return false;
}

// splitmix64 (Steele, Lea, Flood 2014): tiny, fast and identical everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }

 private:
  uint64_t s_;
};

}  // namespace pktkit::gen

#endif  // PKTKIT_TOOLS_GEN_GEN_OPTIONS_H_
