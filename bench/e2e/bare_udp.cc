// bare-udp: the bare loops the end-to-end benchmark (bench/e2e) measures pktkit's tools against.
//
//   bare-udp send <in.pcap> <ip:port> <seconds>  # prebuilt VXLAN datagrams (8-byte header +
//                                                # the first 4096 frames, cycled), sendmmsg
//                                                # batches of 64, flat out; prints
//                                                # "sent <n> packets/s <x>"
//   bare-udp send-trace <in.pcap> <ip:port> <loops>
//                                                # every packet of the trace, <loops> times,
//                                                # straight from the mapping (PcapMmapReader,
//                                                # rewound per loop): 8-byte VXLAN header and
//                                                # packet as two iovecs, sendmmsg batches of 64
//   bare-udp recv <port> <idle_seconds>          # recvmmsg(MSG_WAITFORONE) batches of 64 on
//                                                # 0.0.0.0:<port>, 16 MiB SO_RCVBUF, counts until
//                                                # idle or SIGINT/SIGTERM; prints "received <n>"
//
// The send loop is bench/fwd's sendmmsg-limit with a destination address (that one only sends
// to 127.0.0.1) and at most 4096 prebuilt datagrams (building all of a 500k-packet trace of
// 1400-byte frames took seconds and 700 MB, which the first end-to-end run measured instead of
// the loop); the receive loop is the "bare MSG_WAITFORONE loop" of docs/bench/udp.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "pktkit/io/pcap_mmap_reader.h"
#include "pktkit/io/socket_address.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int Send(const char* file, const char* dest_text, double seconds) {
  auto r = pktkit::PcapMmapReader::Open(file);
  auto dest = pktkit::SocketAddress::ParseHostPort(dest_text);
  if (!r.ok() || !dest.ok()) return 2;
  std::vector<std::vector<uint8_t>> dgrams;
  while (dgrams.size() < 4096) {
    auto b = (*r)->NextBatch(0);
    if (!b.ok()) break;
    for (const auto& p : *b) {
      std::vector<uint8_t> d = {0x08, 0, 0, 0, 0, 0, 42, 0};  // VXLAN, I flag, VNI 42
      d.insert(d.end(), p.data, p.data + p.caplen);
      dgrams.push_back(std::move(d));
    }
  }
  if (dgrams.empty()) return 1;
  const int fd = socket(dest->family(), SOCK_DGRAM, 0);
  const int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  constexpr size_t kBatch = 64;
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  uint64_t sent = 0;
  size_t next = 0;
  const double start = Now();
  double now = start;
  while (now - start < seconds && !g_stop) {
    for (size_t k = 0; k < kBatch; ++k) {
      auto& d = dgrams[next];
      next = next + 1 == dgrams.size() ? 0 : next + 1;
      iov[k] = {d.data(), d.size()};
      msgs[k] = mmsghdr();
      msgs[k].msg_hdr.msg_name = const_cast<sockaddr*>(dest->addr());
      msgs[k].msg_hdr.msg_namelen = dest->length();
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    const int n = sendmmsg(fd, msgs, kBatch, 0);
    if (n > 0) sent += static_cast<uint64_t>(n);
    now = Now();
  }
  std::printf("sent %llu packets/s %.0f\n", static_cast<unsigned long long>(sent),
              static_cast<double>(sent) / (now - start));
  return 0;
}

// The second baseline: what sending the trace itself costs, with nothing of pktkit's between
// the mapping and sendmmsg (no flow hash, no per-packet checks, a UDP socket). The prebuilt loop
// above sends the same 4096 cache-hot datagrams over and over; a forwarder reads every packet of
// the trace once per pass, from memory the cache does not hold.
int SendTrace(const char* file, const char* dest_text, int loops) {
  auto r = pktkit::PcapMmapReader::Open(file);
  auto dest = pktkit::SocketAddress::ParseHostPort(dest_text);
  if (!r.ok() || !dest.ok()) return 2;
  const int fd = socket(dest->family(), SOCK_DGRAM, 0);
  const int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  static uint8_t vxlan[8] = {0x08, 0, 0, 0, 0, 0, 42, 0};  // VXLAN, I flag, VNI 42
  constexpr size_t kBatch = 64;
  mmsghdr msgs[kBatch];
  iovec iov[kBatch][2];
  uint64_t sent = 0;
  const double start = Now();
  for (int loop = 0; loop < loops && !g_stop; ++loop) {
    if (loop > 0 && !(*r)->Rewind().ok()) return 1;
    while (!g_stop) {
      auto b = (*r)->NextBatch(0);
      if (!b.ok()) break;
      size_t k = 0;
      for (const auto& p : *b) {
        iov[k][0] = {vxlan, sizeof vxlan};
        iov[k][1] = {const_cast<uint8_t*>(p.data), p.caplen};
        msgs[k] = mmsghdr();
        msgs[k].msg_hdr.msg_name = const_cast<sockaddr*>(dest->addr());
        msgs[k].msg_hdr.msg_namelen = dest->length();
        msgs[k].msg_hdr.msg_iov = iov[k];
        msgs[k].msg_hdr.msg_iovlen = 2;
        ++k;
      }
      for (size_t off = 0; off < k;) {
        const int n = sendmmsg(fd, msgs + off, static_cast<unsigned>(k - off), 0);
        if (n <= 0) {
          if (n < 0 && errno == EINTR) continue;
          ++off;  // as pktkit: a failed message is skipped, not retried
          continue;
        }
        off += static_cast<size_t>(n);
        sent += static_cast<uint64_t>(n);
      }
    }
  }
  const double now = Now();
  std::printf("sent %llu packets/s %.0f\n", static_cast<unsigned long long>(sent),
              static_cast<double>(sent) / (now - start));
  return 0;
}

int Recv(int port, double idle_s) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  const int rcvbuf = 16 << 20;  // SO_RCVBUF doubles it: a 32 MiB queue, as pktkit-recv --rcvbuf_mb 32
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::perror("bind");
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  constexpr size_t kBatch = 64;
  static uint8_t bufs[kBatch][9216];
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  uint64_t received = 0;
  bool started = false;
  while (!g_stop) {
    pollfd p = {fd, POLLIN, 0};
    const int pr = poll(&p, 1, started ? static_cast<int>(idle_s * 1000) : 200);
    if (pr == 0 && started) break;
    if (pr <= 0) continue;
    for (size_t k = 0; k < kBatch; ++k) {
      iov[k] = {bufs[k], sizeof bufs[k]};
      msgs[k] = mmsghdr();
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd, msgs, kBatch, MSG_WAITFORONE, nullptr);
    if (n > 0) {
      received += static_cast<uint64_t>(n);
      started = true;
    }
  }
  std::printf("received %llu\n", static_cast<unsigned long long>(received));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  if (argc == 5 && std::string(argv[1]) == "send") {
    return Send(argv[2], argv[3], std::atof(argv[4]));
  }
  if (argc == 5 && std::string(argv[1]) == "send-trace") {
    return SendTrace(argv[2], argv[3], std::atoi(argv[4]));
  }
  if (argc == 4 && std::string(argv[1]) == "recv") {
    return Recv(std::atoi(argv[2]), std::atof(argv[3]));
  }
  std::fprintf(stderr,
               "usage: bare-udp send <in.pcap> <ip:port> <seconds> | "
               "send-trace <in.pcap> <ip:port> <loops> | recv <port> <idle_s>\n");
  return 2;
}
