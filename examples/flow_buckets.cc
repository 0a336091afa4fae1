// flow-buckets: a sensor composed from pktkit's public targets, the way a user's own program is.
//
//   AF_PACKET TPACKET_V3 ring (VLAN tags the kernel stripped are put back into the bytes)
//     -> symmetric flow hash (addresses + protocol: both directions and every fragment agree)
//     -> one of N buckets -> OUTDIR/bucket-<i>.pcap
//
//   flow-buckets eth0 4 /var/tmp/buckets      # runs until SIGINT/SIGTERM, then flushes
//
// Each bucket could be a worker process; here it is a file, so a test can check that every
// packet lands in exactly one bucket and every flow in one bucket only.
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "pktkit/flow/flow_hash.h"
#include "pktkit/io/af_packet.h"
#include "pktkit/io/pcap.h"

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

absl::Status Run(const std::string& interface, size_t buckets, const std::string& outdir) {
  pktkit::AfPacketConfig config;
  config.interface = interface;
  config.buffer_bytes = size_t{8} << 20;  // a small ring: this is an example
  auto source = pktkit::AfPacketSource::Open(config);
  if (!source.ok()) return source.status();

  std::vector<std::unique_ptr<pktkit::PcapWriter>> out;
  for (size_t i = 0; i < buckets; ++i) {
    auto w = pktkit::PcapWriter::Open(outdir + "/bucket-" + std::to_string(i) + ".pcap",
                                      pktkit::LinkType::kEthernet);
    if (!w.ok()) return w.status();
    out.push_back(std::move(*w));
  }

  std::vector<uint64_t> per_bucket(buckets, 0);
  uint64_t no_flow_key = 0;  // not IP (ARP, LLDP, ...): bucket 0, counted
  constexpr uint64_t kSeed = 0x706b746b6974;
  while (!g_stop) {
    auto batch = (*source)->NextBatch(/*timeout_ms=*/100);
    if (!batch.ok()) return batch.status();
    for (const pktkit::PacketView& p : *batch) {
      pktkit::FlowHashResult h = pktkit::SymmetricFlowHash(p.bytes(), p.link_type, kSeed);
      size_t b = 0;
      if (h.error == pktkit::FlowKeyError::kOk) {
        b = static_cast<size_t>((uint64_t{h.hash} * buckets) >> 32);  // no modulo bias
      } else {
        ++no_flow_key;
      }
      if (absl::Status s = out[b]->Write(p); !s.ok()) return s;
      ++per_bucket[b];
    }
    (*source)->ReleaseBatch();
  }

  pktkit::AfPacketStats st = (*source)->Stats();
  for (size_t i = 0; i < buckets; ++i) {
    if (absl::Status s = out[i]->Close(); !s.ok()) return s;
    std::fprintf(stderr, "bucket %zu: %llu packets\n", i,
                 static_cast<unsigned long long>(per_bucket[i]));
  }
  std::fprintf(stderr, "vlan tags reinserted %llu, no flow key %llu, kernel drops %llu\n",
               static_cast<unsigned long long>(st.ring.vlan_reinserted),
               static_cast<unsigned long long>(no_flow_key),
               static_cast<unsigned long long>(st.kernel_drops));
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || std::atoi(argv[2]) < 1 || std::atoi(argv[2]) > 64) {
    std::fprintf(stderr, "usage: flow-buckets INTERFACE N(1-64) OUTDIR\n");
    return 2;
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  absl::Status s = Run(argv[1], static_cast<size_t>(std::atoi(argv[2])), argv[3]);
  if (!s.ok()) {
    std::fprintf(stderr, "flow-buckets: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
