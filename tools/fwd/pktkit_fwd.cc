// pktkit-fwd: mirrors captured packets to UDP sensors, VXLAN- or GENEVE-encapsulated
// (see docs/fwd.md).
//
//   pktkit-fwd -r trace.pcap --encap vxlan --vni 42 --dest 10.0.0.5 --dest 10.0.0.6:4789
//   pktkit-fwd -i eth0 --encap geneve --geneve-opt 0x0108:1:0011223344556677 --dest [fd00::5]
//   pktkit-fwd -r trace.pcap --encap geneve --top-speed -w encapsulated.pcap
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pktkit/io/af_packet.h"
#include "pktkit/io/pcap.h"
#include "tools/common/metrics.h"
#include "tools/common/progress.h"
#include "tools/common/signals.h"
#include "tools/fwd/forwarder.h"
#include "tools/common/cli.h"
#include "tools/common/privileges.h"
#include "tools/common/fifo.h"

ABSL_FLAG(std::string, r, "", "read packets from this pcap/pcapng file");
ABSL_FLAG(std::string, i, "", "capture live from this interface (AF_PACKET ring)");
ABSL_FLAG(std::string, bpf, "", "BPF filter expression (libpcap syntax)");
ABSL_FLAG(std::string, encap, "vxlan", "vxlan or geneve");
ABSL_FLAG(uint32_t, vni, 0, "VNI (24 bits)");
ABSL_FLAG(std::string, vni_map, "",
          "per-VLAN VNIs: vid=vni,vid=vni (outer tag's VID; others: --vni)");
ABSL_FLAG(std::string, w, "",
          "write the encapsulated frames (outer Ethernet/IP/UDP) to this pcap "
          "instead of sending them");
ABSL_FLAG(std::string, source_ip, "",
          "-w only: outer source address (default 192.0.2.1 / 2001:db8::1)");
ABSL_FLAG(std::string, port_range, "49152-65535", "outer UDP source ports (RFC 7348 §5)");
ABSL_FLAG(uint64_t, hash_seed, 0, "flow hash seed");
ABSL_FLAG(double, speed, 1.0, "replay at this multiple of the original speed");
ABSL_FLAG(double, pps, 0, "replay at this many packets per second (overrides --speed)");
ABSL_FLAG(bool, top_speed, false, "replay as fast as possible");
ABSL_FLAG(uint64_t, loop, 1, "replay the file this many times (0: until stopped)");
ABSL_FLAG(uint32_t, mtu, 1500, "outer path MTU (IP packet bytes) for the oversize policy");
ABSL_FLAG(std::string, oversize, "fragment",
          "datagrams over --mtu: 'fragment' (send; the kernel fragments the outer IP packet) or "
          "'drop'");
ABSL_FLAG(uint32_t, retries, 3, "retries of a send that failed with ENOBUFS/EAGAIN");
ABSL_FLAG(std::string, sender, "auto",
          "raw (raw IP socket: the outer source port carries the flow hash; needs CAP_NET_RAW), "
          "udp (plain UDP socket: the kernel picks one source port), auto (raw if permitted)");
ABSL_FLAG(std::string, metrics, "", "serve Prometheus metrics on this address (e.g. :9101)");
ABSL_FLAG(std::string, metrics_file, "", "write the final Prometheus text to this file");
ABSL_FLAG(double, progress, 5.0, "seconds between progress lines on stderr (0: none)");

namespace {

using pktkit::ByteSpan;
using pktkit::ByteWriter;
using pktkit::tools::Counter;
using pktkit::tools::MetricsRegistry;
namespace fwd = pktkit::fwd;

constexpr size_t kBatch = 64;
constexpr size_t kHdrRoom = 8 + pktkit::kGeneveHeaderSize + pktkit::kGeneveMaxOptionsBytes + 14;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void SleepUntil(int64_t t_ns) {
  timespec ts;
  ts.tv_sec = t_ns / 1000000000;
  ts.tv_nsec = t_ns % 1000000000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    if (pktkit::tools::StopRequested()) return;
  }
}

struct Dest {
  std::string text;
  int family = 4;
  uint8_t ip[16] = {};
  uint16_t port = 4789;
  uint64_t key = 0;
  sockaddr_storage sa = {};
  socklen_t sa_len = 0;
};

absl::StatusOr<Dest> ParseDest(const std::string& text, uint16_t default_port) {
  Dest d;
  d.text = text;
  std::string host = text, port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) return absl::InvalidArgumentError("bad --dest " + text);
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return absl::InvalidArgumentError("bad --dest " + text);
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  d.port = default_port;
  if (!port.empty()) {
    uint32_t p = 0;
    if (!absl::SimpleAtoi(port, &p) || p == 0 || p > 65535) {
      return absl::InvalidArgumentError("bad port in --dest " + text);
    }
    d.port = static_cast<uint16_t>(p);
  }
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve --dest ", text, ": ", gai_strerror(rc)));
  }
  std::memcpy(&d.sa, res->ai_addr, res->ai_addrlen);
  d.sa_len = res->ai_addrlen;
  freeaddrinfo(res);
  if (d.sa.ss_family == AF_INET) {
    auto* s = reinterpret_cast<sockaddr_in*>(&d.sa);
    d.family = 4;
    std::memcpy(d.ip, &s->sin_addr, 4);
    s->sin_port = htons(d.port);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&d.sa);
    d.family = 6;
    std::memcpy(d.ip, &s->sin6_addr, 16);
    s->sin6_port = htons(d.port);
  }
  d.key = fwd::DestinationKey(absl::StrCat(host, "|", d.port).c_str());
  return d;
}

// Counters by cause; names are stable (docs/fwd.md).
struct Counters {
  Counter* read;
  Counter* sent;
  Counter* sent_bytes;
  Counter* synthesized_ethernet;
  Counter* oversize;
  Counter* retries;
  std::map<std::string, Counter*> drops;
  MetricsRegistry* reg;
  Counter* Drop(const std::string& cause) {
    auto it = drops.find(cause);
    if (it != drops.end()) return it->second;
    Counter* c = reg->AddCounter("pktkit_fwd_dropped_packets_total",
                                 "packets not forwarded, by cause", {{"cause", cause}});
    drops[cause] = c;
    return c;
  }
};

const char* ErrnoCause(int e) {
  switch (e) {
    case ENOBUFS:
    case EAGAIN:
      return "send_no_buffer";
    case ECONNREFUSED:
      return "send_refused";
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
      return "send_unreachable";
    case EMSGSIZE:
      return "send_too_big";
    case EPERM:
    case EACCES:
      return "send_not_permitted";
    default:
      return "send_other_error";
  }
}

// Batches datagrams per socket (one per address family) and sends them with sendmmsg.
class Sender {
 public:
  Sender(Counters* c, uint32_t retries) : c_(c), retries_(retries) {}
  ~Sender() {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }

  absl::Status Open(const std::string& mode, bool fragment) {
    raw_ = mode != "udp";
    for (int f = 0; f < 2; ++f) {
      const int af = f == 0 ? AF_INET : AF_INET6;
      int fd = -1;
      if (raw_) {
        fd = socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd < 0 && mode == "auto" && (errno == EPERM || errno == EACCES) && f == 0) {
          std::fprintf(stderr,
                       "pktkit-fwd: no CAP_NET_RAW: using a UDP socket (one outer source port "
                       "chosen by the kernel, not the flow hash)\n");
          raw_ = false;
        } else if (fd < 0) {
          return absl::ErrnoToStatus(errno, "socket(SOCK_RAW, IPPROTO_UDP)");
        }
      }
      if (!raw_) fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        if (f == 1) continue;  // no IPv6 on this host: IPv6 destinations fail at send time
        return absl::ErrnoToStatus(errno, "socket(SOCK_DGRAM)");
      }
      fds_[f] = fd;
      if (raw_) {
        // This socket would also receive a copy of every incoming UDP datagram: drop them all
        // in the kernel with a one-instruction BPF program.
        sock_filter drop_all = BPF_STMT(BPF_RET | BPF_K, 0);
        sock_fprog prog = {1, &drop_all};
        setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
        if (af == AF_INET6) {
          int off = 6;  // the kernel computes the UDP checksum (mandatory over IPv6)
          if (setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof off) != 0) {
            return absl::ErrnoToStatus(errno, "setsockopt(IPV6_CHECKSUM)");
          }
        }
      }
      int sndbuf = 4 << 20;
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
      if (fragment) {
        int v = IP_PMTUDISC_DONT;
        if (af == AF_INET) {
          setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof v);
        } else {
          v = IPV6_PMTUDISC_DONT;
          setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof v);
        }
      }
    }
    return absl::OkStatus();
  }

  bool raw() const { return raw_; }

  // Room for the headers of the next datagram to `d`; Commit() queues it.
  uint8_t* NextHeader(const Dest& d) {
    Queue& q = queues_[d.family == 4 ? 0 : 1];
    if (q.n == kBatch) Flush(d.family == 4 ? 0 : 1);
    return q.hdr[q.n];
  }
  void Commit(const Dest& d, size_t hdr_len, ByteSpan body, uint64_t inner_bytes) {
    const int f = d.family == 4 ? 0 : 1;
    Queue& q = queues_[f];
    const size_t k = q.n++;
    q.iov[k][0] = {q.hdr[k], hdr_len};
    q.iov[k][1] = {const_cast<uint8_t*>(body.data), body.size};
    mmsghdr& m = q.msgs[k];
    m = mmsghdr();
    q.sa[k] = d.sa;
    if (raw_) {  // raw sockets: the port lives in our UDP header; IPv6 insists on 0 here
      if (d.family == 4) {
        reinterpret_cast<sockaddr_in*>(&q.sa[k])->sin_port = 0;
      } else {
        reinterpret_cast<sockaddr_in6*>(&q.sa[k])->sin6_port = 0;
      }
    }
    m.msg_hdr.msg_name = &q.sa[k];
    m.msg_hdr.msg_namelen = d.sa_len;
    m.msg_hdr.msg_iov = q.iov[k];
    m.msg_hdr.msg_iovlen = 2;
    q.bytes[k] = inner_bytes;
  }
  void FlushAll() {
    Flush(0);
    Flush(1);
  }

 private:
  struct Queue {
    size_t n = 0;
    mmsghdr msgs[kBatch];
    iovec iov[kBatch][2];
    sockaddr_storage sa[kBatch];
    uint8_t hdr[kBatch][kHdrRoom];
    uint64_t bytes[kBatch];
  };

  void Flush(int f) {
    Queue& q = queues_[f];
    size_t off = 0;
    uint32_t tries = 0;
    while (off < q.n) {
      if (fds_[f] < 0) {
        c_->Drop("no_ipv6_socket")->Add(q.n - off);
        break;
      }
      const int r = sendmmsg(fds_[f], q.msgs + off, static_cast<unsigned>(q.n - off), 0);
      if (r > 0) {
        uint64_t bytes = 0;
        for (size_t k = off; k < off + static_cast<size_t>(r); ++k) bytes += q.bytes[k];
        c_->sent_bytes->Add(bytes);
        c_->sent->Add(static_cast<uint64_t>(r));
        off += static_cast<size_t>(r);
        tries = 0;
        continue;
      }
      const int e = errno;
      if (e == EINTR) continue;
      if ((e == ENOBUFS || e == EAGAIN) && tries < retries_) {
        ++tries;
        c_->retries->Add();
        usleep(100 * tries);
        continue;
      }
      c_->Drop(ErrnoCause(e))->Add();  // transient or not: count it, skip it, go on
      ++off;
      tries = 0;
    }
    q.n = 0;
  }

  Counters* c_;
  uint32_t retries_;
  bool raw_ = true;
  int fds_[2] = {-1, -1};
  Queue queues_[2];
};

// Pulls repeated flags (--dest, --geneve-opt) out of argv and maps --foo-bar to --foo_bar.
std::vector<char*> PreParse(int argc, char** argv, std::vector<std::string>* dests,
                            std::vector<std::string>* opts, std::vector<std::string>* storage) {
  storage->reserve(static_cast<size_t>(argc));
  std::vector<char*> out = {argv[0]};
  for (int k = 1; k < argc; ++k) {
    std::string a = argv[k];
    if (a.rfind("--", 0) == 0) {
      const size_t eq = a.find('=');
      std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      for (char& ch : name) ch = ch == '-' ? '_' : ch;
      std::vector<std::string>* dst = name == "dest"         ? dests
                                      : name == "geneve_opt" ? opts
                                                             : nullptr;
      if (dst != nullptr) {
        if (eq != std::string::npos) {
          dst->push_back(a.substr(eq + 1));
        } else if (k + 1 < argc) {
          dst->push_back(argv[++k]);
        }
        continue;
      }
      a = "--" + name + (eq == std::string::npos ? "" : a.substr(eq));
    }
    storage->push_back(a);
    out.push_back(storage->back().data());
  }
  return out;
}

bool ParseHex(const std::string& s, std::vector<uint8_t>* out) {
  std::string h = s.rfind("0x", 0) == 0 ? s.substr(2) : s;
  if (h.size() % 2 != 0) return false;
  for (size_t k = 0; k < h.size(); k += 2) {
    char* end = nullptr;
    const std::string byte = h.substr(k, 2);
    const long v = std::strtol(byte.c_str(), &end, 16);
    if (*end != '\0') return false;
    out->push_back(static_cast<uint8_t>(v));
  }
  return true;
}

// Exit 2 for a usage error (a bad or missing flag: InvalidArgument), 1 for a run-time failure.
int Fail(const absl::Status& s) {
  std::fprintf(stderr, "pktkit-fwd: %s\n", std::string(s.message()).c_str());
  return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> dest_texts, opt_texts, storage;
  std::vector<char*> args = PreParse(argc, argv, &dest_texts, &opt_texts, &storage);
  const std::string usage_text =
      "pktkit-fwd (-r file | -i iface) [--encap vxlan|geneve] [--vni N] --dest host[:port]... "
      "[--geneve-opt class:type:hexdata]... [--speed X | --pps N | --top-speed] [--loop N] "
      "[-w out.pcap]";
  pktkit::tools::ParseCommandLine(static_cast<int>(args.size()), args.data(), usage_text);
  pktkit::tools::InstallStopHandlers();

  const std::string rfile = absl::GetFlag(FLAGS_r), iface = absl::GetFlag(FLAGS_i);
  const std::string wfile = absl::GetFlag(FLAGS_w);
  if (rfile.empty() == iface.empty()) {
    return Fail(
        absl::InvalidArgumentError("exactly one of -r <file> or -i <interface> is required"));
  }
  pktkit::EncapMode encap;
  const uint16_t default_port = absl::GetFlag(FLAGS_encap) == "geneve" ? 6081 : 4789;
  if (absl::GetFlag(FLAGS_encap) == "vxlan") {
    encap = pktkit::EncapMode::kVxlan;
  } else if (absl::GetFlag(FLAGS_encap) == "geneve") {
    encap = pktkit::EncapMode::kGeneve;
  } else {
    return Fail(absl::InvalidArgumentError("--encap must be vxlan or geneve"));
  }
  if (!pktkit::Vni::IsValid(absl::GetFlag(FLAGS_vni))) {
    return Fail(absl::InvalidArgumentError("--vni must be below 2^24"));
  }
  const pktkit::Vni vni = pktkit::Vni::FromMasked(absl::GetFlag(FLAGS_vni));
  std::map<uint16_t, pktkit::Vni> vni_map;
  for (const std::string& kv : std::vector<std::string>(
           absl::StrSplit(absl::GetFlag(FLAGS_vni_map), ',', absl::SkipEmpty()))) {
    std::vector<std::string> p = absl::StrSplit(kv, '=');
    uint32_t vid = 0, v = 0;
    if (p.size() != 2 || !absl::SimpleAtoi(p[0], &vid) || !absl::SimpleAtoi(p[1], &v) ||
        vid > 4095 || !pktkit::Vni::IsValid(v)) {
      return Fail(absl::InvalidArgumentError("bad --vni-map entry " + kv));
    }
    vni_map[static_cast<uint16_t>(vid)] = pktkit::Vni::FromMasked(v);
  }
  // GENEVE options: class:type:hexdata (data a multiple of 4 bytes).
  std::vector<std::vector<uint8_t>> opt_data(opt_texts.size());
  std::vector<pktkit::GeneveOptionSpec> opts(opt_texts.size());
  for (size_t k = 0; k < opt_texts.size(); ++k) {
    std::vector<std::string> p = absl::StrSplit(opt_texts[k], ':');
    unsigned long cls = 0, type = 0;
    char* e1 = nullptr;
    char* e2 = nullptr;
    if (p.size() == 3) {
      cls = std::strtoul(p[0].c_str(), &e1, 0);
      type = std::strtoul(p[1].c_str(), &e2, 0);
    }
    if (p.size() != 3 || *e1 != '\0' || *e2 != '\0' || cls > 0xffff || type > 0xff ||
        !ParseHex(p[2], &opt_data[k])) {
      return Fail(absl::InvalidArgumentError("bad --geneve-opt " + opt_texts[k] +
                                             " (want class:type:hexdata, e.g. 0x0108:1:00112233)"));
    }
    opts[k].option_class = static_cast<uint16_t>(cls);
    opts[k].type = static_cast<uint8_t>(type);
    opts[k].data = ByteSpan(opt_data[k].data(), opt_data[k].size());
  }
  size_t opt_bytes = 0;
  if (!pktkit::GeneveOptionsSize(opts.data(), opts.size(), &opt_bytes)) {
    return Fail(absl::InvalidArgumentError(
        "GENEVE option data must be a multiple of 4 bytes, at most 124 each, 252 in all"));
  }
  if (!opts.empty() && encap != pktkit::EncapMode::kGeneve) {
    return Fail(absl::InvalidArgumentError("--geneve-opt needs --encap geneve"));
  }
  uint32_t lo = 0, hi = 0;
  {
    std::vector<std::string> p = absl::StrSplit(absl::GetFlag(FLAGS_port_range), '-');
    if (p.size() != 2 || !absl::SimpleAtoi(p[0], &lo) || !absl::SimpleAtoi(p[1], &hi) || lo == 0 ||
        hi > 65535 || lo > hi) {
      return Fail(absl::InvalidArgumentError("bad --port-range (want lo-hi)"));
    }
  }
  if (dest_texts.empty()) {
    if (wfile.empty()) return Fail(absl::InvalidArgumentError("at least one --dest is required"));
    dest_texts.push_back("198.51.100.1");  // -w without --dest: a documentation address
  }
  std::vector<Dest> dests;
  std::vector<uint64_t> keys;
  for (const std::string& t : dest_texts) {
    absl::StatusOr<Dest> d = ParseDest(t, default_port);
    if (!d.ok()) return Fail(d.status());
    keys.push_back(d->key);
    dests.push_back(*d);
  }
  const std::string oversize = absl::GetFlag(FLAGS_oversize);
  if (oversize != "fragment" && oversize != "drop") {
    return Fail(absl::InvalidArgumentError("--oversize must be fragment or drop"));
  }

  MetricsRegistry reg;
  Counters c;
  c.reg = &reg;
  c.read = reg.AddCounter("pktkit_fwd_packets_read_total", "packets read from the source");
  c.sent = reg.AddCounter("pktkit_fwd_packets_sent_total", "datagrams sent or written");
  c.sent_bytes = reg.AddCounter("pktkit_fwd_inner_bytes_sent_total", "inner frame bytes sent");
  c.synthesized_ethernet = reg.AddCounter("pktkit_fwd_synthesized_ethernet_total",
                                          "raw-IP packets given an Ethernet header for VXLAN");
  c.oversize = reg.AddCounter("pktkit_fwd_oversize_packets_total",
                              "datagrams over --mtu (sent and fragmented, or dropped)");
  c.retries = reg.AddCounter("pktkit_fwd_send_retries_total", "sends retried after ENOBUFS");
  std::unique_ptr<pktkit::tools::MetricsServer> server;
  if (!absl::GetFlag(FLAGS_metrics).empty()) {
    auto s = pktkit::tools::MetricsServer::Start(&reg, absl::GetFlag(FLAGS_metrics));
    if (!s.ok()) return Fail(s.status());
    server = std::move(*s);
  }

  Sender sender(&c, absl::GetFlag(FLAGS_retries));
  std::unique_ptr<pktkit::PcapWriter> writer;
  uint8_t src4[4] = {192, 0, 2, 1}, src6[16] = {0x20, 0x01, 0x0d, 0xb8};
  src6[15] = 1;
  if (!wfile.empty()) {
    pktkit::tools::AnnounceFifoWait("pktkit-fwd", wfile);
    auto w = pktkit::PcapWriter::Open(wfile, pktkit::LinkType::kEthernet);
    if (!w.ok()) return Fail(w.status());
    writer = std::move(*w);
    const std::string s = absl::GetFlag(FLAGS_source_ip);
    if (!s.empty() && inet_pton(AF_INET, s.c_str(), src4) != 1 &&
        inet_pton(AF_INET6, s.c_str(), src6) != 1) {
      return Fail(absl::InvalidArgumentError("bad --source-ip " + s));
    }
  } else {
    absl::Status s = sender.Open(absl::GetFlag(FLAGS_sender), oversize == "fragment");
    if (!s.ok()) return Fail(s);
  }

  const bool top = absl::GetFlag(FLAGS_top_speed);
  const double pps = absl::GetFlag(FLAGS_pps), speed = absl::GetFlag(FLAGS_speed);
  if (speed <= 0 || pps < 0) return Fail(absl::InvalidArgumentError("--speed/--pps must be > 0"));
  const uint64_t loops = rfile.empty() ? 1 : absl::GetFlag(FLAGS_loop);
  const uint32_t mtu = absl::GetFlag(FLAGS_mtu);
  const uint64_t seed = absl::GetFlag(FLAGS_hash_seed);
  pktkit::tools::ProgressPrinter progress(&reg, absl::GetFlag(FLAGS_progress), stderr,
                                          "pktkit-fwd");
  std::vector<uint8_t> frame(70000), inner_buf;
  uint16_t ip_id = 0;
  uint64_t paced = 0;
  const int64_t run_start = NowNs();
  absl::Status error;

  for (uint64_t loop = 0; (loops == 0 || loop < loops) && !pktkit::tools::StopRequested(); ++loop) {
    std::unique_ptr<pktkit::PacketSource> src;
    if (!rfile.empty()) {
      auto r = pktkit::PcapReader::Open(rfile, absl::GetFlag(FLAGS_bpf));
      if (!r.ok()) return Fail(r.status());
      src = std::move(*r);
    } else {
      pktkit::AfPacketConfig cfg;
      cfg.interface = iface;
      cfg.bpf = absl::GetFlag(FLAGS_bpf);
      auto r = pktkit::AfPacketSource::Open(cfg);
      if (!r.ok()) return Fail(r.status());
      src = std::move(*r);
    }
    if (loop == 0) {  // everything open: --user, keeping CAP_NET_RAW only for a live -i
      std::vector<cap_value_t> keep;
      if (!iface.empty()) keep.push_back(CAP_NET_RAW);
      absl::Status d = pktkit::tools::DropPrivileges(absl::GetFlag(FLAGS_user), keep);
      if (!d.ok()) return Fail(d);
    }
    const int64_t loop_start = NowNs();
    int64_t first_ts = 0;
    bool have_first = false;
    while (!pktkit::tools::StopRequested()) {
      absl::StatusOr<pktkit::PacketBatch> batch = src->NextBatch(100);
      if (absl::IsOutOfRange(batch.status())) break;
      if (!batch.ok()) {
        error = batch.status();
        break;
      }
      c.read->Add(batch->size);  // one atomic add per batch, not per packet
      for (const pktkit::PacketView& p : *batch) {
        fwd::Inner in;
        const fwd::PrepareError pe = fwd::PrepareInner(p.bytes(), p.link_type, encap, &in);
        if (pe != fwd::PrepareError::kOk) {
          c.Drop(fwd::PrepareErrorName(pe))->Add();
          continue;
        }
        if (in.synthesized_ethernet) c.synthesized_ethernet->Add();
        const uint32_t h = fwd::SymmetricHash(in.l3, in.l3_ethertype, seed);
        const Dest& d = dests[fwd::PickDestination(h, keys.data(), keys.size())];
        const uint16_t sport =
            fwd::SourcePort(h, static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
        pktkit::Vni v = vni;
        if (!vni_map.empty()) {
          auto it = vni_map.find(in.outer_vid);
          if (it != vni_map.end()) v = it->second;
        }
        const size_t udp_payload = 8 + pktkit::kGeneveHeaderSize + opt_bytes + in.size();
        const size_t ip_total = udp_payload + (d.family == 4 ? 20 : 40);
        if (ip_total > mtu) {
          c.oversize->Add();
          if (oversize == "drop") {
            c.Drop("oversize")->Add();
            continue;
          }
        }
        // Pacing: never earlier than the due time.
        if (!top && rfile.size() > 0) {
          int64_t due = 0;
          if (pps > 0) {
            due = run_start + static_cast<int64_t>(static_cast<double>(paced) * 1e9 / pps);
          } else {
            if (!have_first) {
              first_ts = p.timestamp_ns;
              have_first = true;
            }
            due = loop_start +
                  static_cast<int64_t>(static_cast<double>(p.timestamp_ns - first_ts) / speed);
          }
          if (due > NowNs()) {
            sender.FlushAll();
            SleepUntil(due);
          }
        } else if (pps > 0) {
          const int64_t due =
              run_start + static_cast<int64_t>(static_cast<double>(paced) * 1e9 / pps);
          if (due > NowNs()) {
            sender.FlushAll();
            SleepUntil(due);
          }
        }
        ++paced;
        const pktkit::EncapSpec spec = fwd::MakeEncapSpec(encap, v, opts.data(), opts.size(), in);
        if (writer) {
          pktkit::OuterSpec outer;
          std::memcpy(outer.src_mac, fwd::kSynthSrcMac, 6);
          std::memcpy(outer.dst_mac, fwd::kSynthDstMac, 6);
          outer.src.family = outer.dst.family = static_cast<uint8_t>(d.family);
          std::memcpy(outer.src.addr, d.family == 4 ? src4 : src6, d.family == 4 ? 4 : 16);
          std::memcpy(outer.dst.addr, d.ip, 16);
          outer.src.port = sport;
          outer.dst.port = d.port;
          outer.ip_id = ip_id++;
          ByteSpan inner = in.body;
          if (in.prefix_len != 0) {  // one contiguous inner frame for the frame builder
            inner_buf.assign(in.prefix, in.prefix + in.prefix_len);
            inner_buf.insert(inner_buf.end(), in.body.data, in.body.data + in.body.size);
            inner = ByteSpan(inner_buf.data(), inner_buf.size());
          }
          ByteWriter fw(frame.data(), frame.size());
          if (!pktkit::WriteEncapsulatedFrame(outer, spec, inner, &fw)) {
            c.Drop("too_big_for_udp")->Add();
            continue;
          }
          absl::Status s = writer->Write(ByteSpan(fw.data(), fw.size()),
                                         static_cast<uint32_t>(fw.size()), p.timestamp_ns);
          if (!s.ok()) return Fail(s);
          c.sent->Add();
          c.sent_bytes->Add(in.size());
          continue;
        }
        uint8_t* hdr = sender.NextHeader(d);
        ByteWriter hw(hdr, kHdrRoom);
        const size_t tunnel_len = encap == pktkit::EncapMode::kVxlan
                                      ? pktkit::kVxlanHeaderSize
                                      : pktkit::kGeneveHeaderSize + opt_bytes;
        if (sender.raw()) fwd::WriteUdp(sport, d.port, tunnel_len + in.size(), &hw);
        pktkit::WriteTunnelHeader(spec, &hw);
        hw.WriteBytes(in.prefix, in.prefix_len);
        if (!hw.ok() || 8 + tunnel_len + in.size() > 65507) {
          c.Drop("too_big_for_udp")->Add();
          continue;
        }
        sender.Commit(d, hw.size(), in.body, in.size());
      }
      sender.FlushAll();  // the views die at the next NextBatch/ReleaseBatch
      src->ReleaseBatch();
      progress.MaybePrint();
    }
    if (!error.ok()) break;
  }
  sender.FlushAll();
  if (writer) {
    absl::Status s = writer->Close();
    if (!s.ok()) return Fail(s);
  }
  const double secs = static_cast<double>(NowNs() - run_start) / 1e9;
  progress.PrintFinal();
  std::fprintf(
      stderr,
      "pktkit-fwd: read %llu, sent %llu packets (%llu inner bytes) in %.3f s, %.0f packets/s\n",
      static_cast<unsigned long long>(c.read->value()),
      static_cast<unsigned long long>(c.sent->value()),
      static_cast<unsigned long long>(c.sent_bytes->value()), secs,
      secs > 0 ? static_cast<double>(c.sent->value()) / secs : 0.0);
  if (!absl::GetFlag(FLAGS_metrics_file).empty()) {
    std::ofstream(absl::GetFlag(FLAGS_metrics_file)) << reg.RenderPrometheus();
  }
  if (!error.ok()) {
    std::fprintf(stderr, "pktkit-fwd: %s (%llu packets read before it)\n",
                 std::string(error.message()).c_str(),
                 static_cast<unsigned long long>(c.read->value()));
    return 1;
  }
  return 0;
}
