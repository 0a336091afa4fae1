// pktkit-gen: writes a deterministic pcap of generated traffic (see docs/gen.md).
//
//   pktkit-gen -w out.pcap --flows 100 --seed 7 --ipv6_share 0.3
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "pktkit/io/pcap.h"
#include "tools/gen/generator.h"
#include "tools/common/cli.h"

ABSL_FLAG(std::string, w, "", "output pcap ('-' for stdout)");
ABSL_FLAG(uint64_t, flows, 10, "number of flows");
ABSL_FLAG(uint64_t, packets, 0, "stop after this many packets (0: all packets of all flows)");
ABSL_FLAG(uint64_t, seed, 1, "PRNG seed: same seed and flags, same bytes");
ABSL_FLAG(double, ipv6_share, 0.25, "fraction of flows over IPv6");
ABSL_FLAG(double, vlan_share, 0.2, "fraction of flows with one 802.1Q tag");
ABSL_FLAG(double, qinq_share, 0.1, "fraction of flows with QinQ (802.1ad + 802.1Q) tags");
ABSL_FLAG(std::string, kinds, "",
          "comma-separated flow kinds: tcp,http,dns,icmp,udp_fragments,udp_fixed "
          "(default: all but udp_fixed)");
ABSL_FLAG(uint64_t, data_segments, 3, "TCP/HTTP: server data segments per connection");
ABSL_FLAG(uint64_t, frame_size, 64, "udp_fixed: Ethernet frame bytes");
ABSL_FLAG(uint64_t, fixed_packets, 10, "udp_fixed: packets per flow");
ABSL_FLAG(uint64_t, gap_us, 100, "microseconds between consecutive packets");

int main(int argc, char** argv) {
  const std::string usage_text = "pktkit-gen -w out.pcap [--flows N] [--seed S] [...]";
  pktkit::tools::ParseCommandLine(argc, argv, usage_text);
  const std::string out = absl::GetFlag(FLAGS_w);
  if (out.empty()) {
    std::fprintf(stderr, "pktkit-gen: -w <out.pcap> is required\n");
    return 2;
  }
  pktkit::gen::GenOptions o;
  o.flows = absl::GetFlag(FLAGS_flows);
  o.max_packets = absl::GetFlag(FLAGS_packets);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.ipv6_share = absl::GetFlag(FLAGS_ipv6_share);
  o.vlan_share = absl::GetFlag(FLAGS_vlan_share);
  o.qinq_share = absl::GetFlag(FLAGS_qinq_share);
  o.data_segments = absl::GetFlag(FLAGS_data_segments);
  o.fixed_frame_bytes = absl::GetFlag(FLAGS_frame_size);
  o.fixed_packets = absl::GetFlag(FLAGS_fixed_packets);
  o.gap_ns = static_cast<int64_t>(absl::GetFlag(FLAGS_gap_us)) * 1000;
  for (const std::string& k : std::vector<std::string>(
           absl::StrSplit(absl::GetFlag(FLAGS_kinds), ',', absl::SkipEmpty()))) {
    pktkit::gen::FlowKind kind;
    if (!pktkit::gen::ParseFlowKind(k, &kind)) {
      std::fprintf(stderr, "pktkit-gen: unknown flow kind '%s'\n", k.c_str());
      return 2;
    }
    o.kinds.push_back(kind);
  }
  if (o.flows == 0 && o.max_packets == 0) {
    std::fprintf(stderr, "pktkit-gen: --flows or --packets must be > 0\n");
    return 2;
  }
  const std::vector<pktkit::gen::GenPacket> pkts = pktkit::gen::Generate(o);
  auto w = pktkit::PcapWriter::Open(out, pktkit::LinkType::kEthernet);
  if (!w.ok()) {
    std::fprintf(stderr, "pktkit-gen: %s\n", std::string(w.status().message()).c_str());
    return 1;
  }
  uint64_t bytes = 0;
  for (const auto& p : pkts) {
    absl::Status s = (*w)->Write(pktkit::ByteSpan(p.bytes.data(), p.bytes.size()),
                                 static_cast<uint32_t>(p.bytes.size()), p.timestamp_ns);
    if (!s.ok()) {
      std::fprintf(stderr, "pktkit-gen: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    bytes += p.bytes.size();
  }
  absl::Status s = (*w)->Close();
  if (!s.ok()) {
    std::fprintf(stderr, "pktkit-gen: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  if (out != "-") {
    std::fprintf(stderr, "pktkit-gen: wrote %zu packets, %llu bytes to %s\n", pkts.size(),
                 static_cast<unsigned long long>(bytes), out.c_str());
  }
  return 0;
}
