// gwlb-vni-split: a sensor composed from pktkit's public targets, the way a user's own program is.
//
//   UDP tunnel socket (recvmmsg) -> GENEVE decapsulation (critical options understood: the AWS
//   Gateway Load Balancer's, class 0x0108) -> OUTDIR/vni-<VNI>.pcap, one file per VNI
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

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/pcap.h"
#include "pktkit/io/udp_tunnel_source.h"
#include "pktkit/spec/interface_spec.h"
#include "pktkit/wire/geneve.h"

namespace {

constexpr size_t kMaxVnis = 256;
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

struct PerVni {
  std::unique_ptr<pktkit::PcapWriter> writer;
  pktkit::LinkType link_type = pktkit::LinkType::kEthernet;
  uint64_t packets = 0;
  uint64_t link_type_mismatch = 0;
  std::string gwlb[4];  // hex of option types 1..3 of class 0x0108, last seen
};

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

  std::map<uint32_t, PerVni> by_vni;
  uint64_t no_vni = 0, too_many_vnis = 0;
  while (!g_stop) {
    auto batch = (*source)->NextBatch(/*timeout_ms=*/100);
    if (!batch.ok()) return batch.status();
    for (const pktkit::PacketView& p : *batch) {
      if (!p.tunnel.vni.has_value()) {
        ++no_vni;
        continue;
      }
      const uint32_t vni = p.tunnel.vni.value().value();
      auto it = by_vni.find(vni);
      if (it == by_vni.end()) {
        if (by_vni.size() == kMaxVnis) {
          ++too_many_vnis;
          continue;
        }
        PerVni v;
        v.link_type = p.link_type;  // Ethernet (0x6558) or raw IP (0x0800/0x86DD, as GWLB sends)
        auto w = pktkit::PcapWriter::Open(absl::StrCat(outdir, "/vni-", vni, ".pcap"), p.link_type);
        if (!w.ok()) return w.status();
        v.writer = std::move(*w);
        it = by_vni.emplace(vni, std::move(v)).first;
      }
      PerVni& v = it->second;
      if (p.link_type != v.link_type) {
        ++v.link_type_mismatch;
        continue;
      }
      pktkit::GeneveOption opt;
      for (pktkit::GeneveOptionIterator o(p.tunnel.geneve_options); !o.Done();) {
        if (o.Next(&opt) != pktkit::GeneveError::kOk) break;
        const uint8_t type = opt.type & ~pktkit::kGeneveOptionTypeCritical;
        if (opt.option_class == pktkit::kGeneveClassAwsGwlb && type >= 1 && type <= 3) {
          v.gwlb[type] = absl::BytesToHexString(absl::string_view(
              reinterpret_cast<const char*>(opt.data.data), opt.data.size));
        }
      }
      if (absl::Status s = v.writer->Write(p); !s.ok()) return s;
      ++v.packets;
    }
    (*source)->ReleaseBatch();
  }

  for (auto& [vni, v] : by_vni) {
    if (absl::Status s = v.writer->Close(); !s.ok()) return s;
    std::fprintf(stderr, "vni %u: %llu packets, endpoint=%s attachment=%s cookie=%s mismatch=%llu\n",
                 vni, static_cast<unsigned long long>(v.packets), v.gwlb[1].c_str(),
                 v.gwlb[2].c_str(), v.gwlb[3].c_str(),
                 static_cast<unsigned long long>(v.link_type_mismatch));
  }
  const pktkit::UdpReceiverStats& st = (*source)->stats();
  std::string malformed;
  for (size_t i = 1; i < static_cast<size_t>(pktkit::DecapError::kCount); ++i) {
    if (st.malformed_by[i] != 0) {
      absl::StrAppend(&malformed, " ", pktkit::DecapErrorName(static_cast<pktkit::DecapError>(i)),
                      "=", st.malformed_by[i]);
    }
  }
  std::fprintf(stderr, "datagrams %llu, dropped: malformed %llu (%s ), truncated %llu, "
               "no vni %llu, too many vnis %llu\n",
               static_cast<unsigned long long>(st.datagrams),
               static_cast<unsigned long long>(st.malformed), malformed.c_str(),
               static_cast<unsigned long long>(st.truncated),
               static_cast<unsigned long long>(no_vni),
               static_cast<unsigned long long>(too_many_vnis));
  return absl::OkStatus();
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
