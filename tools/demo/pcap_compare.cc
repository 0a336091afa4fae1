// pcap-compare: do two capture files hold the same packets? Compares count, bytes and the
// multiset of packet contents (order-free: a receiver may legally reorder), and prints one line.
//
//   pcap-compare sent.pcap received.pcap   # exit 0 when equal, 1 when not, 2 on errors
#include <cstdio>
#include <map>
#include <string>

#include "pktkit/io/pcap.h"

namespace {

struct Summary {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  std::map<std::string, int64_t> contents;  // packet bytes -> count
};

bool Load(const char* path, Summary* s) {
  auto r = pktkit::PcapReader::Open(path);
  if (!r.ok()) {
    std::fprintf(stderr, "pcap-compare: %s\n", std::string(r.status().message()).c_str());
    return false;
  }
  while (true) {
    auto b = (*r)->NextBatch(0);
    if (absl::IsOutOfRange(b.status())) return true;
    if (!b.ok()) {
      std::fprintf(stderr, "pcap-compare: %s\n", std::string(b.status().message()).c_str());
      return false;
    }
    for (const pktkit::PacketView& p : *b) {
      ++s->packets;
      s->bytes += p.caplen;
      ++s->contents[std::string(reinterpret_cast<const char*>(p.data), p.caplen)];
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: pcap-compare a.pcap b.pcap\n");
    return 2;
  }
  Summary a, b;
  if (!Load(argv[1], &a) || !Load(argv[2], &b)) return 2;
  uint64_t missing = 0, extra = 0;
  for (const auto& [bytes, n] : a.contents) {
    auto it = b.contents.find(bytes);
    const int64_t m = it == b.contents.end() ? 0 : it->second;
    if (n > m) missing += static_cast<uint64_t>(n - m);
  }
  for (const auto& [bytes, n] : b.contents) {
    auto it = a.contents.find(bytes);
    const int64_t m = it == a.contents.end() ? 0 : it->second;
    if (n > m) extra += static_cast<uint64_t>(n - m);
  }
  const bool same = missing == 0 && extra == 0;
  std::printf("%s packets %llu/%llu bytes %llu/%llu missing %llu extra %llu\n",
              same ? "MATCH" : "DIFFER", static_cast<unsigned long long>(a.packets),
              static_cast<unsigned long long>(b.packets), static_cast<unsigned long long>(a.bytes),
              static_cast<unsigned long long>(b.bytes), static_cast<unsigned long long>(missing),
              static_cast<unsigned long long>(extra));
  return same ? 0 : 1;
}
