// Uses pktkit's io and spec layers (libpcap, Abseil): parses an interface spec, writes three
// packets to a nanosecond pcap and reads them back. Prints "io ok ..." and exits 0.
//   io_consumer FILE.pcap
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "pktkit/io/pcap.h"
#include "pktkit/spec/interface_spec.h"

int main(int argc, char** argv) {
  if (argc != 2) return std::puts("usage: io_consumer FILE.pcap"), 2;
  auto spec = pktkit::ParseInterfaceSpec("udp::[::1]:6081:geneve");
  if (!spec.ok() || spec->decap.mode != pktkit::EncapMode::kGeneve) {
    return std::puts("spec: udp::[::1]:6081:geneve not parsed"), 1;
  }
  auto bad = pktkit::ParseInterfaceSpec("udp::1.2.3.4:99999");
  if (bad.ok()) return std::puts("spec: bad port accepted"), 1;

  const unsigned char frame[60] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x88, 0xb5};
  {
    auto w = pktkit::PcapWriter::Open(argv[1], pktkit::LinkType::kEthernet);
    if (!w.ok()) return std::printf("%s\n", std::string(w.status().message()).c_str()), 1;
    for (int i = 0; i < 3; ++i) {
      absl::Status s = (*w)->Write(pktkit::ByteSpan(frame, sizeof frame), 60, 1'000'000'007LL * i);
      if (!s.ok()) return std::printf("%s\n", std::string(s.message()).c_str()), 1;
    }
    if (!(*w)->Close().ok()) return 1;
  }
  auto r = pktkit::PcapReader::Open(argv[1]);
  if (!r.ok()) return std::printf("%s\n", std::string(r.status().message()).c_str()), 1;
  int n = 0;
  int64_t last_ns = -1;
  while (true) {
    auto b = (*r)->NextBatch(0);
    if (absl::IsOutOfRange(b.status())) break;
    if (!b.ok()) return std::printf("%s\n", std::string(b.status().message()).c_str()), 1;
    for (const pktkit::PacketView& p : *b) {
      ++n;
      last_ns = p.timestamp_ns;
    }
  }
  if (n != 3 || last_ns != 2'000'000'014LL) return std::printf("read back %d packets\n", n), 1;
  std::printf("io ok: %d packets read back, last at %lld ns (%s)\n", n,
              static_cast<long long>(last_ns), spec->encap_name.c_str());
  return 0;
}
