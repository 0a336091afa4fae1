// sendmmsg-limit: the limit pktkit-fwd is measured against — a bare sendmmsg loop over prebuilt
// VXLAN datagrams (8-byte VXLAN header + each frame of a pcap), batches of 64, over loopback.
//
//   sendmmsg-limit send <in.pcap> <port> <seconds>   # prints "packets/s <n>"
//   sendmmsg-limit sink <port> <seconds>             # binds 127.0.0.1:<port>, never reads
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "pktkit/io/pcap.h"

namespace {
double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::string(argv[1]) == "sink") {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa = {};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      std::perror("bind");
      return 1;
    }
    sleep(static_cast<unsigned>(std::atoi(argv[3])));
    return 0;
  }
  if (argc != 5 || std::string(argv[1]) != "send") {
    std::fprintf(stderr,
                 "usage: sendmmsg-limit send <in.pcap> <port> <seconds> | sink <port> <s>\n");
    return 2;
  }
  auto r = pktkit::PcapReader::Open(argv[2]);
  if (!r.ok()) return 1;
  std::vector<std::vector<uint8_t>> dgrams;
  while (true) {
    auto b = (*r)->NextBatch(0);
    if (!b.ok()) break;
    for (const auto& p : *b) {
      std::vector<uint8_t> d = {0x08, 0, 0, 0, 0, 0, 42, 0};  // VXLAN, I flag, VNI 42
      d.insert(d.end(), p.data, p.data + p.caplen);
      dgrams.push_back(std::move(d));
    }
  }
  if (dgrams.empty()) return 1;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[3])));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  constexpr size_t kBatch = 64;
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  const double seconds = std::atof(argv[4]);
  uint64_t sent = 0;
  size_t next = 0;
  const double start = Now();
  double now = start;
  while (now - start < seconds) {
    for (size_t k = 0; k < kBatch; ++k) {
      auto& d = dgrams[next];
      next = next + 1 == dgrams.size() ? 0 : next + 1;
      iov[k] = {d.data(), d.size()};
      msgs[k] = mmsghdr();
      msgs[k].msg_hdr.msg_name = &sa;
      msgs[k].msg_hdr.msg_namelen = sizeof sa;
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    const int n = sendmmsg(fd, msgs, kBatch, 0);
    if (n > 0) sent += static_cast<uint64_t>(n);
    now = Now();
  }
  std::printf("packets/s %.0f\n", static_cast<double>(sent) / (now - start));
  return 0;
}
