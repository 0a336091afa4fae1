// tools/gen/generator.h — a deterministic traffic generator for tests, benchmarks and demos.
//
// Builds complete Ethernet frames with correct IPv4 header, TCP, UDP, ICMP and ICMPv6 checksums:
// TCP connections (handshake, data both ways, FIN teardown), HTTP/1.1 over TCP, DNS over UDP
// (query + answer), ICMP echo, fragmented UDP datagrams (IPv4 fragments and the IPv6 Fragment
// header), fixed-size UDP frames (for benchmarks), IPv4 and IPv6, untagged, 802.1Q and QinQ
// (802.1ad S-tag + C-tag). The same options and seed always give the same bytes (own
// splitmix64 PRNG; no std::*_distribution, whose output differs between standard libraries).
//
//   pktkit::gen::GenOptions o;
//   o.flows = 100;
//   o.seed = 7;
//   for (const pktkit::gen::GenPacket& p : pktkit::gen::Generate(o)) Write(p.bytes,
//   p.timestamp_ns);
//
// References: RFC 791, RFC 793, RFC 768, RFC 792, RFC 8200 (§4.5 fragments), RFC 4443, RFC 1035,
// IEEE 802.1Q-2018 (C-tag 0x8100, S-tag 0x88a8).
#ifndef PKTKIT_TOOLS_GEN_GENERATOR_H_
#define PKTKIT_TOOLS_GEN_GENERATOR_H_

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <utility>
#include <vector>

#include "tools/gen/flow_builder.h"
#include "tools/gen/gen_options.h"

namespace pktkit::gen {

// All packets of the trace, timestamps strictly increasing by gap_ns. Flows are interleaved
// round-robin (one packet from each active flow in turn), so the trace looks like concurrent
// traffic while each flow's own packets stay in order.
inline std::vector<GenPacket> Generate(const GenOptions& o) {
  static const FlowKind kDefault[] = {FlowKind::kTcp, FlowKind::kHttp, FlowKind::kDns,
                                      FlowKind::kIcmp, FlowKind::kUdpFragments};
  std::vector<FlowKind> kinds = o.kinds;
  if (kinds.empty()) kinds.assign(std::begin(kDefault), std::end(kDefault));
  Rng rng(o.seed);
  std::vector<std::vector<GenPacket>> flows;
  size_t total = 0;
  for (uint32_t i = 0;
       (o.flows == 0 || i < o.flows) && (o.max_packets == 0 || total < o.max_packets); ++i) {
    if (o.flows == 0 && o.max_packets == 0) break;
    const FlowKind kind = kinds[rng.Below(kinds.size())];
    internal::FlowCtx f = internal::MakeFlow(o, &rng, i);
    f.server_port = kind == FlowKind::kHttp  ? 80
                    : kind == FlowKind::kTcp ? 443
                    : kind == FlowKind::kDns ? 53
                                             : static_cast<uint16_t>(61000 + rng.Below(1000));
    std::vector<GenPacket> pkts;
    internal::FlowBuilder b(f, o, &rng, i, &pkts);
    switch (kind) {
      case FlowKind::kTcp:
        b.TcpConnection(false);
        break;
      case FlowKind::kHttp:
        b.TcpConnection(true);
        break;
      case FlowKind::kDns:
        b.Dns();
        break;
      case FlowKind::kIcmp:
        b.Icmp();
        break;
      case FlowKind::kUdpFragments:
        b.UdpFragments();
        break;
      case FlowKind::kUdpFixed:
        b.UdpFixed();
        break;
    }
    total += pkts.size();
    flows.push_back(std::move(pkts));
  }
  std::vector<GenPacket> out;
  out.reserve(total);
  for (size_t round = 0; out.size() < total; ++round) {
    for (auto& fl : flows) {
      if (round < fl.size()) out.push_back(std::move(fl[round]));
    }
  }
  if (o.max_packets != 0 && out.size() > o.max_packets) out.resize(o.max_packets);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].timestamp_ns = o.start_ns + static_cast<int64_t>(i) * o.gap_ns;
  }
  return out;
}

}  // namespace pktkit::gen

#endif  // PKTKIT_TOOLS_GEN_GENERATOR_H_
