// tx_ring_send — drives pktkit::TunnelTxSink from a capture file (pktkit::PcapMmapReader), for
// the transmit-ring integration test and the end-to-end benchmark (bench/e2e).
//
//   tx_ring_send FILE DEST_IP:PORT [--backend auto|tx_ring|sendmmsg] [--geneve] [--vni N]
//                [--loop N] [--pps N] [--ipv4-udp-checksum]
//
// --pps paces the sends (one packet per Write) so that a capturing peer keeps up; without it
// the file is sent flat out in batches of 64.
// Prints one line "backend=<tx_ring|sendmmsg_raw|sendmmsg_udp> bypass=<0|1> reason=<...>" and,
// at the end, "sent=N dropped=N packets_per_s=X seconds=S" plus the drops by cause, the
// next-hop refreshes that changed something and the backend in use at the end. Exit 1 with
// one line on a fatal error, 2 on bad usage.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "pktkit/io/pcap_mmap_reader.h"
#include "pktkit/io/tunnel_tx_sink.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: tx_ring_send FILE DEST_IP:PORT [--backend auto|tx_ring|sendmmsg] "
               "[--geneve] [--vni N] [--loop N] [--pps N] [--ipv4-udp-checksum]\n");
  return 2;
}

double Now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  pktkit::TunnelTxOptions o;
  o.encap.vni = pktkit::Vni::FromMasked(42);
  long loops = 1;
  double pps = 0;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--backend" && has_value) {
      const std::string b = argv[++i];
      if (b == "tx_ring") {
        o.backend = pktkit::TunnelTxOptions::Backend::kTxRing;
      } else if (b == "sendmmsg") {
        o.backend = pktkit::TunnelTxOptions::Backend::kSendmmsg;
      } else if (b != "auto") {
        return Usage();
      }
    } else if (a == "--geneve") {
      o.encap.mode = pktkit::EncapMode::kGeneve;
    } else if (a == "--vni" && has_value) {
      o.encap.vni = pktkit::Vni::FromMasked(static_cast<uint32_t>(std::atol(argv[++i])));
    } else if (a == "--loop" && has_value) {
      loops = std::atol(argv[++i]);
    } else if (a == "--pps" && has_value) {
      pps = std::atof(argv[++i]);
    } else if (a == "--ipv4-udp-checksum") {
      o.ipv4_udp_checksum = true;
    } else {
      return Usage();
    }
  }
  absl::StatusOr<pktkit::TunnelDestination> dest = pktkit::ParseTunnelDestination(
      argv[2], o.encap.mode == pktkit::EncapMode::kGeneve ? 6081 : 4789);
  if (!dest.ok()) return Usage();
  o.dests = {*dest};
  auto sink = pktkit::TunnelTxSink::Open(o);
  if (!sink.ok()) {
    std::fprintf(stderr, "tx_ring_send: %s\n", std::string(sink.status().message()).c_str());
    return 1;
  }
  std::printf("backend=%s bypass=%d reason=%s\n", (*sink)->backend(), (*sink)->qdisc_bypass(),
              (*sink)->fallback_reason().c_str());
  std::fflush(stdout);
  const double t0 = Now();
  uint64_t paced = 0;
  auto src = pktkit::PcapMmapReader::Open(argv[1]);
  if (!src.ok()) {
    std::fprintf(stderr, "tx_ring_send: %s\n", std::string(src.status().message()).c_str());
    return 1;
  }
  for (long l = 0; l < loops; ++l) {
    // Later passes on the same mapping, as pktkit-fwd --loop (pages already touched).
    if (l > 0 && !(*src)->Rewind().ok()) return 1;
    while (true) {
      absl::StatusOr<pktkit::PacketBatch> b = (*src)->NextBatch(0);
      if (absl::IsOutOfRange(b.status())) break;
      if (!b.ok()) {
        std::fprintf(stderr, "tx_ring_send: %s\n", std::string(b.status().message()).c_str());
        return 1;
      }
      for (size_t k = 0; k < (pps > 0 ? b->size : 1); ++k) {
        pktkit::PacketBatch part = pps > 0 ? pktkit::PacketBatch{b->packets + k, 1} : *b;
        if (pps > 0) {
          const double due = t0 + static_cast<double>(paced++) / pps;
          while (Now() < due) {
          }
        }
        absl::Status s = (*sink)->Write(part);
        if (!s.ok()) {
          std::fprintf(stderr, "tx_ring_send: %s\n", std::string(s.message()).c_str());
          return 1;
        }
      }
      (*src)->ReleaseBatch();
    }
  }
  (*sink)->Flush().IgnoreError();
  const double secs = Now() - t0;
  const pktkit::TunnelTxStats d = (*sink)->detailed_stats();
  const pktkit::SinkStats s = (*sink)->stats();
  std::printf(
      "sent=%llu dropped=%llu packets_per_s=%.0f seconds=%.3f unsupported_link_type=%llu "
      "too_big_for_udp=%llu too_big_for_mtu=%llu ring_stalled=%llu wrong_format=%llu "
      "send_errors=%llu oversize=%llu next_hop_changes=%llu ring_suspensions=%llu "
      "backend_at_end=%s\n",
      static_cast<unsigned long long>(s.packets), static_cast<unsigned long long>(s.dropped),
      secs > 0 ? static_cast<double>(s.packets) / secs : 0.0, secs,
      static_cast<unsigned long long>(d.unsupported_link_type),
      static_cast<unsigned long long>(d.too_big_for_udp),
      static_cast<unsigned long long>(d.too_big_for_mtu),
      static_cast<unsigned long long>(d.ring_stalled),
      static_cast<unsigned long long>(d.wrong_format),
      static_cast<unsigned long long>(d.send_errors), static_cast<unsigned long long>(d.oversize),
      static_cast<unsigned long long>(d.next_hop_changes),
      static_cast<unsigned long long>(d.ring_suspensions), (*sink)->backend());
  return 0;
}
