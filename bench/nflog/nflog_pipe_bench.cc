// End-to-end NFLOG pipe benchmark (needs root; builds its own network namespace).
//
// An nftables rule logs UDP to port 9999 into NFLOG group 7; the benchmark blasts N packets of
// S bytes over loopback with sendmmsg and measures, in the same run:
//   limit     a bare libnetfilter_log reader (the kernel's NFLOG delivery rate)
//   pipe      nflog-zmq-send -> nflog-pcap-recv (raw messages), pcap to /dev/null
//   pipe+zstd the same with --low_watermark=1 (every packet compressed)
// For each: packets delivered / (last delivery - first send), and drops (sent - delivered).
// Run: bazel run --config=bench //bench/nflog:nflog_pipe_bench -- [packets] [size] [pps]
// (pps 0 = as fast as possible; otherwise paced).
#include <libnetfilter_log/libnetfilter_log.h>
#include <libnfnetlink/libnfnetlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/tool_process.h"

namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Sends `n` packets of `size` bytes to 127.0.0.1:9999, paced at `pps` (0 = flat out).
void Blast(size_t n, size_t size, double pps) {
  const int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(9999);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<char> payload(size, 'x');
  constexpr size_t kBurst = 32;
  mmsghdr msgs[kBurst] = {};
  iovec iov[kBurst];
  for (size_t i = 0; i < kBurst; ++i) {
    iov[i] = {payload.data(), payload.size()};
    msgs[i].msg_hdr.msg_name = &a;
    msgs[i].msg_hdr.msg_namelen = sizeof a;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  const int64_t start = NowNs();
  size_t sent = 0;
  while (sent < n) {
    if (pps > 0) {
      const int64_t due = start + static_cast<int64_t>(static_cast<double>(sent) * 1e9 / pps);
      while (NowNs() < due) {
      }
    }
    const size_t k = n - sent < kBurst ? n - sent : kBurst;
    const int r = sendmmsg(s, msgs, static_cast<unsigned>(k), 0);
    if (r > 0) sent += static_cast<size_t>(r);
  }
  close(s);
}

struct Result {
  size_t delivered = 0;
  double seconds = 0;
};

// The limit: a bare libnetfilter_log reader counting packets in a thread.
Result BareReader(size_t n, size_t size, double pps) {
  nflog_handle* h = nflog_open();
  nflog_unbind_pf(h, AF_INET);
  nflog_bind_pf(h, AF_INET);
  nflog_g_handle* gh = nflog_bind_group(h, 7);
  nflog_set_mode(gh, NFULNL_COPY_PACKET, 0xffff);
  nflog_set_timeout(gh, 1);                   // same flush timeout as the pipe's sender below
  nfnl_rcvbufsiz(nflog_nfnlh(h), 64u << 20);  // same buffer as the pipe's sender
  std::atomic<size_t> count{0};
  std::atomic<int64_t> last{0};
  nflog_callback_register(
      gh,
      [](nflog_g_handle*, nfgenmsg*, nflog_data* d, void* data) -> int {
        char* payload;
        if (nflog_get_payload(d, &payload) >= 0) {
          static_cast<std::atomic<size_t>*>(data)->fetch_add(1, std::memory_order_relaxed);
        }
        return 0;
      },
      &count);
  std::atomic<bool> stop{false};
  const int fd = nflog_fd(h);
  timeval tv = {0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::thread reader([&] {
    std::vector<char> buf(1 << 18);
    while (!stop) {
      const ssize_t r = recv(fd, buf.data(), buf.size(), 0);
      if (r > 0) {
        nflog_handle_packet(h, buf.data(), static_cast<int>(r));
        last = NowNs();
      }
    }
  });
  const int64_t start = NowNs();
  Blast(n, size, pps);
  size_t prev = ~size_t{0};
  while (count.load() != prev) {  // until deliveries stop for 1.5 s (kernel flush is 1 s)
    prev = count.load();
    usleep(1500000);
  }
  stop = true;
  reader.join();
  nflog_unbind_group(gh);
  nflog_close(h);
  return Result{count.load(), static_cast<double>(last.load() - start) / 1e9};
}

double Metric(int port, const std::string& series) {
  return pktkit::testing::MetricValue(static_cast<uint16_t>(port), series);
}

// NFLOG_BENCH_RCVBUF sets the sender's --rcvbuf (bytes; default 64 MiB, as the tool's).
std::string RcvbufFlag() {
  const char* v = std::getenv("NFLOG_BENCH_RCVBUF");
  return std::string("--rcvbuf=") + (v != nullptr ? v : "67108864");
}

pid_t Spawn(std::vector<std::string> argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

Result Pipe(size_t n, size_t size, double pps, bool compress, uint64_t* sender_drops) {
  const pid_t recv = Spawn({"tools/nflog/nflog-pcap-recv", "--interval=0", "--linktype=raw",
                            "--metrics=127.0.0.1:9701", "tcp://127.0.0.1:5700", "/dev/null"});
  std::vector<std::string> sargs = {"tools/nflog/nflog-zmq-send", "--interval=0",
                                    "--metrics=127.0.0.1:9702",   "--sndhwm=100000",
                                    "--flush_timeout_cs=1",       RcvbufFlag()};
  if (compress) sargs.push_back("--low_watermark=1");
  sargs.push_back("7");
  sargs.push_back("tcp://127.0.0.1:5700");
  const pid_t send = Spawn(sargs);
  while (Metric(9702, "pktkit_nflog_send_in_packets_total") < 0 ||
         Metric(9701, "pktkit_nflog_recv_out_packets_total") < 0) {
    usleep(20000);
  }
  const int64_t start = NowNs();
  Blast(n, size, pps);
  double prev = -1, cur = 0;
  int64_t last_change = NowNs(), last_ns = NowNs();
  while (true) {  // until the receiver's count stops moving for 1.5 s
    cur = Metric(9701, "pktkit_nflog_recv_out_packets_total");
    if (cur != prev) {
      prev = cur;
      last_change = NowNs();
      last_ns = last_change;
    } else if (NowNs() - last_change > 1500000000) {
      break;
    }
    usleep(20000);
  }
  *sender_drops = static_cast<uint64_t>(
      Metric(9702, "pktkit_nflog_send_dropped_packets_total{cause=\"hwm\"}") +
      Metric(9702, "pktkit_nflog_send_dropped_packets_total{cause=\"kernel_overrun\"}") +
      Metric(9702, "pktkit_nflog_send_dropped_packets_total{cause=\"rate\"}"));
  kill(send, SIGTERM);
  waitpid(send, nullptr, 0);
  kill(recv, SIGTERM);
  waitpid(recv, nullptr, 0);
  return Result{static_cast<size_t>(cur), static_cast<double>(last_ns - start) / 1e9};
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200000;
  const size_t size = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 512;
  const double pps = argc > 3 ? std::strtod(argv[3], nullptr) : 0;
  if (unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare(CLONE_NEWNET) (run as root)");
    return 1;
  }
  if (std::system("ip link set lo up") != 0 ||
      std::system("nft add table inet b && nft add chain inet b out "
                  "'{ type filter hook output priority 0; }' && "
                  "nft add rule inet b out udp dport 9999 log group 7") != 0) {
    std::fprintf(stderr, "namespace/nftables set-up failed\n");
    return 1;
  }
  std::printf("packets=%zu payload=%zu offered_pps=%s\n", n, size,
              pps > 0 ? std::to_string(static_cast<long>(pps)).c_str() : "max");
  const Result limit = BareReader(n, size, pps);
  const double limit_pps = static_cast<double>(limit.delivered) / limit.seconds;
  std::printf("%-22s delivered=%zu drops=%zu pps=%.0f ratio=1.00\n", "limit(libnetfilter_log)",
              limit.delivered, n - limit.delivered, limit_pps);
  for (bool compress : {false, true}) {
    uint64_t sdrops = 0;
    const Result r = Pipe(n, size, pps, compress, &sdrops);
    const double p = static_cast<double>(r.delivered) / r.seconds;
    std::printf("%-22s delivered=%zu drops=%zu (counted by sender: %lu) pps=%.0f ratio=%.2f\n",
                compress ? "pipe+zstd" : "pipe", r.delivered, n - r.delivered,
                static_cast<unsigned long>(sdrops), p, p / limit_pps);
  }
  return 0;
}
