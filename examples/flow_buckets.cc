// flow-buckets: a sensor composed from pktkit's public targets, the way a user's own program is.
//
//   AfPacketSource (TPACKET_V3 ring; VLAN tags the kernel stripped go back into the bytes)
//     -> RunPipeline -> FlowBucketSink: symmetric flow hash (addresses + protocol, so both
//        directions and every fragment agree) picks one of N PcapSinks: OUTDIR/bucket-<i>.pcap
//
//   flow-buckets eth0 4 /var/tmp/buckets      # runs until SIGINT/SIGTERM, then flushes
//
// Each bucket could be a worker process; here it is a file, so a test can check that every
// packet lands in exactly one bucket and every flow in one bucket only. FlowBucketSink is the
// part a user writes: a PacketSink over other sinks.
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
#include "pktkit/io/pcap_sink.h"
#include "pktkit/io/run.h"
#include "pktkit/io/sink.h"

namespace {

class FlowBucketSink : public pktkit::PacketSink {
 public:
  static constexpr uint64_t kSeed = 0x706b746b6974;

  static absl::StatusOr<std::unique_ptr<FlowBucketSink>> Open(size_t n, const std::string& dir) {
    std::unique_ptr<FlowBucketSink> s(new FlowBucketSink);
    for (size_t i = 0; i < n; ++i) {
      auto sink = pktkit::PcapSink::Open(dir + "/bucket-" + std::to_string(i) + ".pcap", {});
      if (!sink.ok()) return sink.status();
      s->buckets_.push_back(std::move(*sink));
    }
    s->views_.resize(n);
    return s;
  }

  absl::Status Write(const pktkit::PacketBatch& batch) override {
    for (auto& v : views_) v.clear();
    for (const pktkit::PacketView& p : batch) {
      pktkit::FlowHashResult h = pktkit::SymmetricFlowHash(p.bytes(), p.link_type, kSeed);
      size_t b = 0;  // no flow key (ARP, LLDP, ...): bucket 0, counted
      if (h.error == pktkit::FlowKeyError::kOk) {
        b = static_cast<size_t>((uint64_t{h.hash} * buckets_.size()) >> 32);  // no modulo bias
      } else {
        ++no_flow_key_;
      }
      views_[b].push_back(p);
    }
    for (size_t i = 0; i < buckets_.size(); ++i) {
      if (views_[i].empty()) continue;
      absl::Status s = buckets_[i]->Write(pktkit::PacketBatch{views_[i].data(), views_[i].size()});
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Flush() override {
    for (auto& b : buckets_) {
      if (absl::Status s = b->Flush(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  pktkit::SinkStats stats() const override {
    pktkit::SinkStats total;
    for (const auto& b : buckets_) {
      total.packets += b->stats().packets;
      total.bytes += b->stats().bytes;
      total.dropped += b->stats().dropped;
    }
    return total;
  }

  // Renames every bucket file into place (commit) or removes it.
  absl::Status Close(bool commit) {
    absl::Status first;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      first.Update(buckets_[i]->Close(commit));
      std::fprintf(stderr, "bucket %zu: %llu packets\n", i,
                   static_cast<unsigned long long>(buckets_[i]->stats().packets));
    }
    return first;
  }
  uint64_t no_flow_key() const { return no_flow_key_; }

 private:
  FlowBucketSink() = default;
  std::vector<std::unique_ptr<pktkit::PcapSink>> buckets_;
  std::vector<std::vector<pktkit::PacketView>> views_;  // this batch's views, per bucket
  uint64_t no_flow_key_ = 0;
};

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

absl::Status Run(const std::string& interface, size_t n, const std::string& outdir) {
  pktkit::AfPacketConfig config;
  config.interface = interface;
  config.buffer_bytes = size_t{8} << 20;  // a small ring: this is an example
  auto source = pktkit::AfPacketSource::Open(config);
  if (!source.ok()) return source.status();
  auto sink = FlowBucketSink::Open(n, outdir);
  if (!sink.ok()) return sink.status();

  pktkit::RunOptions options;
  options.flush_on_tick = true;  // a live source: readers see packets within ~100 ms
  absl::Status run = pktkit::RunPipeline(**source, {}, **sink, g_stop, options, nullptr);
  absl::Status close = (*sink)->Close(/*commit=*/run.ok());
  pktkit::AfPacketStats st = (*source)->Stats();
  std::fprintf(stderr, "vlan tags reinserted %llu, no flow key %llu, kernel drops %llu\n",
               static_cast<unsigned long long>(st.ring.vlan_reinserted),
               static_cast<unsigned long long>((*sink)->no_flow_key()),
               static_cast<unsigned long long>(st.kernel_drops));
  return run.ok() ? close : run;
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
