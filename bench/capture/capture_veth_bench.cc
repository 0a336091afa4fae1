// End-to-end capture benchmark: pktkit's AF_PACKET ring versus libpcap (also TPACKET_V3) on
// the same traffic, in the same run. Needs root: it creates its own network namespace with a
// veth pair, blasts frames into one end as fast as one sender thread can (sendmmsg on an
// AF_PACKET socket with PACKET_QDISC_BYPASS), and captures at the other end with both readers
// at once, each on its own thread. Reports packets captured, packets/s, kernel drops and CPU
// time per packet (CLOCK_THREAD_CPUTIME_ID of the reading thread). Sender on CPU 0, both
// readers on CPU 1 (see PinTo).
//
//   bazel run --config=bench //bench/capture:capture_veth_bench -- --seconds=5 --frame=64
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "pktkit/io/af_packet.h"
#include "tests/capture/netns.h"

namespace {

std::atomic<bool> g_stop{false};

// Pins the calling thread. The sender (whose CPU also runs the softirq that copies each frame
// into both rings) gets CPU 0 and both readers CPU 1, so neither reader finds the frames warm in
// its own cache by luck of placement; each ring is separate memory, so both miss alike.
void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

struct Result {
  uint64_t packets = 0;
  uint64_t drops = 0;
  double cpu_s = 0;
  std::string error;
};

void RunPktkit(size_t ring_bytes, Result* r) {
  PinTo(1);
  pktkit::AfPacketConfig c;
  c.interface = "v1";
  c.buffer_bytes = ring_bytes;
  auto src = pktkit::AfPacketSource::Open(c);
  if (!src.ok()) {
    r->error = src.status().ToString();
    return;
  }
  const double cpu0 = ThreadCpuSeconds();
  uint64_t sum = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {
    auto b = (*src)->NextBatch(10);
    if (!b.ok()) break;
    for (const pktkit::PacketView& p : *b) sum += p.data[0];  // touch each packet
    r->packets += b->size;
    (*src)->ReleaseBatch();
  }
  r->cpu_s = ThreadCpuSeconds() - cpu0;
  r->drops = (*src)->Stats().kernel_drops;
  if (sum == 1) std::fprintf(stderr, " ");
}

void Count(u_char* user, const pcap_pkthdr*, const u_char* bytes) {
  uint64_t* n = reinterpret_cast<uint64_t*>(user);
  n[0] += 1;
  n[1] += bytes[0];
}

void RunLibpcap(size_t ring_bytes, Result* r) {
  PinTo(1);
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create("v1", err);
  if (p == nullptr) {
    r->error = err;
    return;
  }
  pcap_set_snaplen(p, 262144);
  pcap_set_buffer_size(p, static_cast<int>(ring_bytes));
  pcap_set_timeout(p, 10);
  pcap_set_promisc(p, 1);
  pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
  if (pcap_activate(p) < 0) {
    r->error = pcap_geterr(p);
    pcap_close(p);
    return;
  }
  const double cpu0 = ThreadCpuSeconds();
  uint64_t n[2] = {0, 0};
  // Non-blocking dispatch plus our own poll: libpcap's TPACKET_V3 reader otherwise polls with
  // no timeout and would never see the stop flag once traffic ends.
  pcap_setnonblock(p, 1, err);
  pollfd pfd = {pcap_get_selectable_fd(p), POLLIN, 0};
  while (!g_stop.load(std::memory_order_relaxed)) {
    const int got = pcap_dispatch(p, -1, Count, reinterpret_cast<u_char*>(n));
    if (got < 0) break;
    if (got == 0) poll(&pfd, 1, 10);
  }
  r->cpu_s = ThreadCpuSeconds() - cpu0;
  r->packets = n[0];
  pcap_stat st = {};
  if (pcap_stats(p, &st) == 0) r->drops = st.ps_drop;
  pcap_close(p);
}

uint64_t Send(double seconds, size_t frame_len) {
  PinTo(0);
  const int fd = socket(AF_PACKET, SOCK_RAW, 0);
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  sockaddr_ll sll = {};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = static_cast<int>(if_nametoindex("v0"));
  sll.sll_halen = 6;
  constexpr int kBurst = 64;
  std::vector<std::vector<uint8_t>> frames;
  for (int i = 0; i < kBurst; ++i) {
    frames.push_back(pktkit::testing::UdpFrame(0x11, 0x0a000001 + i, 0x0a000100, 1000 + i, 80,
                                               frame_len > 42 ? frame_len - 42 : 0));
  }
  std::vector<iovec> iov(kBurst);
  std::vector<mmsghdr> msgs(kBurst);
  for (int i = 0; i < kBurst; ++i) {
    iov[i] = {frames[i].data(), frames[i].size()};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &sll;
    msgs[i].msg_hdr.msg_namelen = sizeof sll;
  }
  uint64_t sent = 0;
  timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    const int n = sendmmsg(fd, msgs.data(), kBurst, 0);
    if (n > 0) sent += static_cast<uint64_t>(n);
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) * 1e-9 < seconds);
  close(fd);
  return sent;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  size_t frame = 64;
  size_t ring_mb = 32;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--seconds=", 0) == 0) seconds = std::atof(a.c_str() + 10);
    if (a.rfind("--frame=", 0) == 0) frame = std::strtoul(a.c_str() + 8, nullptr, 10);
    if (a.rfind("--ring_mb=", 0) == 0) ring_mb = std::strtoul(a.c_str() + 10, nullptr, 10);
  }
  std::string why;
  if (!pktkit::testing::EnterNewNetns(&why) || !pktkit::testing::MakeVeth("v0", "v1", 9000)) {
    std::fprintf(stderr, "cannot set up the namespace: %s\n", why.c_str());
    return 1;
  }
  Result pk, lp;
  // Threads inherit the namespace of the thread that creates them (this one).
  std::thread tp(RunPktkit, ring_mb << 20, &pk);
  std::thread tl(RunLibpcap, ring_mb << 20, &lp);
  usleep(500 * 1000);  // both rings open
  const uint64_t sent = Send(seconds, frame);
  usleep(300 * 1000);
  g_stop = true;
  tp.join();
  tl.join();
  if (!pk.error.empty() || !lp.error.empty()) {
    std::fprintf(stderr, "pktkit: %s libpcap: %s\n", pk.error.c_str(), lp.error.c_str());
    return 1;
  }
  std::printf("frame=%zu bytes, ring=%zu MiB each, %.1f s, sent %llu (%.0f pkt/s)\n", frame,
              ring_mb, seconds, static_cast<unsigned long long>(sent), sent / seconds);
  std::printf("%-8s %12s %12s %10s %10s %12s\n", "reader", "captured", "pkt/s", "drops", "cpu_s",
              "cpu_ns/pkt");
  for (auto [name, r] : {std::pair<const char*, Result*>{"pktkit", &pk}, {"libpcap", &lp}}) {
    std::printf("%-8s %12llu %12.0f %10llu %10.3f %12.1f\n", name,
                static_cast<unsigned long long>(r->packets), r->packets / seconds,
                static_cast<unsigned long long>(r->drops), r->cpu_s,
                r->packets ? r->cpu_s * 1e9 / r->packets : 0.0);
  }
  std::printf("ratios pktkit/libpcap: captured %.3f, cpu per packet %.3f\n",
              lp.packets ? static_cast<double>(pk.packets) / lp.packets : 0.0,
              (lp.packets && pk.packets) ? (pk.cpu_s / pk.packets) / (lp.cpu_s / lp.packets) : 0.0);
  return 0;
}
