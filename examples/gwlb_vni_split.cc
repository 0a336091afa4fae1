// gwlb-vni-split: a sensor composed from pktkit's public targets, the way a user's own program is.
//
//   UDP tunnel receiver (recvmmsg; GENEVE decapsulated, critical options understood: the AWS
//   Gateway Load Balancer's, class 0x0108; others dropped and counted, RFC 8926 §3.5)
//     -> RunPipeline -> VniSplitSink: one PcapSink per VNI, OUTDIR/vni-<VNI>.pcap
//
//   gwlb-vni-split 'udp::0.0.0.0:6081:geneve' /var/tmp/by-vni   # until SIGINT/SIGTERM
//
// On exit it prints, per VNI, the packets written and the GWLB option values last seen (type 1
// GWLB endpoint id, 2 attachment id, 3 flow cookie), then the drops by cause. At most kMaxVnis
// files are opened (the sender chooses the VNIs); packets of further VNIs are counted, not kept.
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/pcap_sink.h"
#include "pktkit/io/run.h"
#include "pktkit/io/sink.h"
#include "pktkit/io/udp_tunnel_source.h"
#include "pktkit/spec/interface_spec.h"
#include "pktkit/wire/geneve.h"

namespace {

class VniSplitSink : public pktkit::PacketSink {
 public:
  static constexpr size_t kMaxVnis = 256;
  explicit VniSplitSink(std::string dir) : dir_(std::move(dir)) {}

  absl::Status Write(const pktkit::PacketBatch& batch) override {
    for (const pktkit::PacketView& p : batch) {
      if (!p.tunnel.vni.has_value()) {
        ++no_vni_;
        continue;
      }
      const uint32_t vni = p.tunnel.vni.value().value();
      auto it = by_vni_.find(vni);
      if (it == by_vni_.end()) {
        if (by_vni_.size() == kMaxVnis) {
          ++too_many_vnis_;
          continue;
        }
        pktkit::PcapSinkOptions o;
        o.link_type_from_first_packet = true;  // Ethernet (0x6558) or raw IP, as GWLB sends
        auto sink = pktkit::PcapSink::Open(absl::StrCat(dir_, "/vni-", vni, ".pcap"), o);
        if (!sink.ok()) return sink.status();
        it = by_vni_.emplace(vni, PerVni{std::move(*sink), {}}).first;
      }
      RememberGwlbOptions(p.tunnel.geneve_options, &it->second);
      // One packet at a time keeps the example short; a batch per VNI would save calls.
      if (absl::Status s = it->second.sink->Write(pktkit::PacketBatch{&p, 1}); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Flush() override {
    for (auto& [vni, v] : by_vni_) {
      if (absl::Status s = v.sink->Flush(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  pktkit::SinkStats stats() const override {
    pktkit::SinkStats total;
    for (const auto& [vni, v] : by_vni_) {
      total.packets += v.sink->stats().packets;
      total.dropped += v.sink->stats().dropped;
    }
    total.dropped += no_vni_ + too_many_vnis_;
    return total;
  }

  absl::Status Close(bool commit) {
    absl::Status first;
    for (auto& [vni, v] : by_vni_) {
      first.Update(v.sink->Close(commit));
      std::fprintf(stderr, "vni %u: %llu packets, endpoint=%s attachment=%s cookie=%s dropped=%llu\n",
                   vni, static_cast<unsigned long long>(v.sink->stats().packets),
                   v.gwlb[1].c_str(), v.gwlb[2].c_str(), v.gwlb[3].c_str(),
                   static_cast<unsigned long long>(v.sink->stats().dropped));
    }
    std::fprintf(stderr, "no vni %llu, too many vnis %llu\n",
                 static_cast<unsigned long long>(no_vni_),
                 static_cast<unsigned long long>(too_many_vnis_));
    return first;
  }

 private:
  struct PerVni {
    std::unique_ptr<pktkit::PcapSink> sink;
    std::string gwlb[4];  // hex of option types 1..3 of class 0x0108, last seen
  };

  static void RememberGwlbOptions(pktkit::ByteSpan options, PerVni* v) {
    pktkit::GeneveOption opt;
    for (pktkit::GeneveOptionIterator it(options); !it.Done();) {
      if (it.Next(&opt) != pktkit::GeneveError::kOk) break;
      const uint8_t type = opt.type & ~pktkit::kGeneveOptionTypeCritical;
      if (opt.option_class == pktkit::kGeneveClassAwsGwlb && type >= 1 && type <= 3) {
        v->gwlb[type] = absl::BytesToHexString(
            absl::string_view(reinterpret_cast<const char*>(opt.data.data), opt.data.size));
      }
    }
  }

  std::string dir_;
  std::map<uint32_t, PerVni> by_vni_;
  uint64_t no_vni_ = 0, too_many_vnis_ = 0;
};

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

absl::Status Run(const std::string& spec_text, const std::string& outdir) {
  auto spec = pktkit::ParseInterfaceSpec(spec_text);
  if (!spec.ok()) return spec.status();
  if (spec->kind != pktkit::InterfaceKind::kUdp || spec->decap.mode != pktkit::EncapMode::kGeneve) {
    return absl::InvalidArgumentError("want udp::ADDR:PORT:geneve");
  }
  pktkit::UdpReceiverOptions options;
  options.decap = spec->decap;  // geneve_known = nullptr: the AWS GWLB options (class 0x0108)
  auto source = pktkit::OpenUdpReceiver(spec->address, pktkit::UdpReceiverKind::kRecvmmsg,
                                        pktkit::UdpSocketOptions(), options, nullptr);
  if (!source.ok()) return source.status();
  VniSplitSink sink(outdir);

  pktkit::RunOptions run_options;
  run_options.flush_on_tick = true;
  absl::Status run = pktkit::RunPipeline(**source, {}, sink, g_stop, run_options, nullptr);
  absl::Status close = sink.Close(/*commit=*/run.ok());

  const pktkit::UdpReceiverStats& st = (*source)->stats();
  std::string malformed;
  for (size_t i = 1; i < static_cast<size_t>(pktkit::DecapError::kCount); ++i) {
    if (st.malformed_by[i] != 0) {
      absl::StrAppend(&malformed, " ", pktkit::DecapErrorName(static_cast<pktkit::DecapError>(i)),
                      "=", st.malformed_by[i]);
    }
  }
  std::fprintf(stderr, "datagrams %llu, dropped: malformed %llu (%s ), truncated %llu\n",
               static_cast<unsigned long long>(st.datagrams),
               static_cast<unsigned long long>(st.malformed), malformed.c_str(),
               static_cast<unsigned long long>(st.truncated));
  return run.ok() ? close : run;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: gwlb-vni-split udp::ADDR:PORT:geneve OUTDIR\n");
    return 2;
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  absl::Status s = Run(argv[1], argv[2]);
  if (!s.ok()) {
    std::fprintf(stderr, "gwlb-vni-split: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
