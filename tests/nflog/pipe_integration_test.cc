// End-to-end tests of the NFLOG pipe inside a network namespace the test creates (needs root:
// unshare(CLONE_NEWNET); skipped otherwise). nftables `log group N` rules select UDP packets
// whose payloads are the first packets of the real trace bro.org.pcap; the programs run as
// child processes in the namespace; the receiver's pcap must hold exactly the selected packets
// (bytes, order, metadata). Waits use deadlines only to fail instead of hanging.
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pktkit/io/pcap.h"
#include "pktkit/wire/nflog.h"
#include "tests/testing/tool_process.h"
#include "tests/testing/shared_pcaps.h"
#include "tools/gen/generator.h"

namespace pktkit {
namespace {

const char kSend[] = "tools/nflog/nflog-zmq-send";
const char kRecv[] = "tools/nflog/nflog-pcap-recv";
const char kQuery[] = "tools/nflog/nflog-pcap-query";
const char kCompress[] = "tools/nflog/nflog-zmq-compress";
const char kDecompress[] = "tools/nflog/nflog-zmq-decompress";
const char kKeygen[] = "tools/nflog/nflog-zmq-keygen";

std::string TmpDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t != nullptr ? t : "/tmp";
}

struct Child {
  pid_t pid = -1;
  std::string err_path;
};

Child Spawn(const std::vector<std::string>& argv, const std::string& name,
            const std::string& stdout_path = "") {
  Child c;
  c.err_path = TmpDir() + "/" + name + ".stderr";
  c.pid = fork();
  if (c.pid == 0) {
    const int e = open(c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(e, 2);
    if (!stdout_path.empty()) {
      const int o = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(o, 1);
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return c;
}

int Stop(Child* c) {
  if (c->pid <= 0) return -1;
  kill(c->pid, SIGTERM);
  int status = 0;
  waitpid(c->pid, &status, 0);
  c->pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int Wait(Child* c) {
  int status = 0;
  waitpid(c->pid, &status, 0);
  c->pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string ReadFile(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The value of `name=` in a tool's final counter line (0 if absent).
uint64_t FinalCounter(const std::string& err_path, const std::string& name) {
  const std::string text = ReadFile(err_path);
  const size_t fin = text.rfind("final");
  const size_t at = text.find(" " + name + "=", fin == std::string::npos ? 0 : fin);
  if (at == std::string::npos) return 0;
  return std::strtoull(text.c_str() + at + name.size() + 2, nullptr, 10);
}

struct Captured {
  LinkType link_type = LinkType::kNull;
  std::vector<std::string> records;
  std::vector<int64_t> ts;
  bool damaged = false;
};

Captured ReadPcap(const std::string& path) {
  Captured c;
  auto r = PcapReader::Open(path);
  if (!r.ok()) return c;
  c.link_type = (*r)->link_type();
  while (true) {
    auto b = (*r)->NextBatch(0);
    if (!b.ok()) {
      c.damaged = !absl::IsOutOfRange(b.status());
      break;
    }
    for (const PacketView& p : *b) {
      c.records.emplace_back(reinterpret_cast<const char*>(p.data), p.caplen);
      c.ts.push_back(p.timestamp_ns);
    }
  }
  return c;
}

size_t CountRecords(const std::string& path) { return ReadPcap(path).records.size(); }

// The value of one series from a program's Prometheus endpoint on 127.0.0.1:port (-1 if absent).
double Metric(int port, const std::string& series) {
  return testing::MetricValue(static_cast<uint16_t>(port), series);
}

bool WaitFor(const std::function<bool()>& cond, int seconds = 10) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

// Payloads from a generated trace: 751 frames of mixed traffic from pktkit's generator (cycled
// when more are asked for, the cycle number in the first byte so that every payload differs),
// cut to 1200. Generated, so that the test needs nothing beside the checkout.
std::vector<std::string> TracePayloads(size_t n) {
  std::vector<std::string> trace;
  gen::GenOptions o;
  o.flows = 120;
  o.max_packets = 751;
  for (const gen::GenPacket& p : gen::Generate(o)) {
    trace.emplace_back(reinterpret_cast<const char*>(p.bytes.data()),
                       p.bytes.size() < 1200 ? p.bytes.size() : 1200);
  }
  EXPECT_EQ(trace.size(), 751u);
  std::vector<std::string> out;
  for (size_t i = 0; i < n && !trace.empty(); ++i) {
    out.push_back(trace[i % trace.size()]);
    out.back()[0] = static_cast<char>(i / trace.size());
  }
  return out;
}

// Reads a FIFO on a thread into a string, like `cat fifo`, opened before anything is sent.
class FifoReader {
 public:
  explicit FifoReader(const std::string& path) {
    fd_ = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    thread_ = std::thread([this] {
      char buf[65536];
      while (true) {
        pollfd p = {fd_, POLLIN, 0};
        poll(&p, 1, 20);
        const ssize_t n = read(fd_, buf, sizeof buf);
        if (n > 0) {
          std::lock_guard<std::mutex> l(mu_);
          data_.append(buf, static_cast<size_t>(n));
        } else if (stop_) {
          return;
        }
      }
    });
  }
  ~FifoReader() { Close(); }
  // The reader goes away (the FIFO end is closed).
  void Close() {
    if (fd_ < 0) return;
    stop_ = true;
    thread_.join();
    close(fd_);
    fd_ = -1;
  }
  bool ok() const { return fd_ >= 0 || stop_; }
  std::string Save(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    std::ofstream(path, std::ios::binary) << data_;
    return path;
  }

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string data_;
  std::thread thread_;
};

// UDP payload of an IPv4 or IPv6 packet (no extension headers: ours have none).
std::string UdpPayload(const std::string& ip) {
  const size_t l3 = (ip[0] >> 4) == 4 ? (ip[0] & 0x0f) * 4u : 40u;
  return ip.size() >= l3 + 8 ? ip.substr(l3 + 8) : "";
}

void SendUdp(int family, const std::vector<std::string>& payloads, uint16_t port) {
  const int s = socket(family, SOCK_DGRAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_storage ss = {};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  }
  for (const std::string& p : payloads) {
    ASSERT_EQ(sendto(s, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&ss), len),
              static_cast<ssize_t>(p.size()));
  }
  close(s);
}

class PipeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
      GTEST_SKIP() << "needs root and unshare(CLONE_NEWNET) (network namespace)";
    }
    ASSERT_EQ(std::system("ip link set lo up"), 0);
    // IPv4 to group 5, IPv6 to group 6, UDP port 9999 only: port 9998 is never selected.
    ASSERT_EQ(std::system("nft -f - <<'EOF'\n"
                          "table inet pipe {\n"
                          "  chain out {\n"
                          "    type filter hook output priority 0;\n"
                          "    meta nfproto ipv4 udp dport 9999 log prefix \"v4sel\" group 5\n"
                          "    meta nfproto ipv6 udp dport 9999 log prefix \"v6sel\" group 6\n"
                          "  }\n"
                          "}\n"
                          "EOF"),
              0);
    dir_ = TmpDir();
  }
  void TearDown() override {
    for (Child* c : {&recv_, &send_a_, &send_b_, &stage1_, &stage2_}) Stop(c);
  }

  // Waits until every running program has printed its "ready" line.
  void WaitReady() {
    for (Child* c : {&recv_, &send_a_, &send_b_, &stage1_, &stage2_}) {
      if (c->pid > 0) {
        ASSERT_TRUE(WaitFor([&] {
          return ReadFile(c->err_path).find("ready") != std::string::npos;
        })) << c->err_path
            << ": " << ReadFile(c->err_path);
      }
    }
  }
  std::string Ep() const { return "tcp://127.0.0.1:5600"; }  // the test's own namespace
  std::string dir_;
  Child recv_, send_a_, send_b_, stage1_, stage2_;
};

// Sends payloads to port 9999 (selected) and 9998 (not), IPv4 and IPv6 interleaved in chunks,
// then stops the sender(s) (which flushes the kernel's queue) and then the receiver.
TEST_F(PipeTest, OneSenderBothFamiliesNflogLinkTypeKeepsBytesOrderAndMetadata) {
  const std::string out = dir_ + "/one.pcap";
  recv_ = Spawn({kRecv, "--interval=0", Ep(), out}, "recv");
  send_a_ = Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "5,6", Ep()}, "send");
  WaitReady();
  const std::vector<std::string> payloads = TracePayloads(200);
  ASSERT_EQ(payloads.size(), 200u);
  std::vector<std::string> v4(payloads.begin(), payloads.begin() + 150);
  std::vector<std::string> v6(payloads.begin() + 150, payloads.end());
  SendUdp(AF_INET, v4, 9999);
  SendUdp(AF_INET, v4, 9998);  // not selected
  SendUdp(AF_INET6, v6, 9999);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(out) >= 200; }));
  EXPECT_EQ(Stop(&send_a_), 0);
  EXPECT_EQ(Stop(&recv_), 0);

  Captured c = ReadPcap(out);
  EXPECT_FALSE(c.damaged);
  EXPECT_EQ(c.link_type, LinkType::kNflog);
  ASSERT_EQ(c.records.size(), 200u);
  std::vector<std::string> got4, got6;
  for (const std::string& rec : c.records) {
    NflogRecord r;
    ASSERT_EQ(ParseNflog(ByteSpan(reinterpret_cast<const uint8_t*>(rec.data()), rec.size()),
                         kHostTlvOrder, &r),
              NflogError::kOk);
    ASSERT_TRUE(r.has_payload);
    const std::string ip(reinterpret_cast<const char*>(r.payload.data), r.payload.size);
    const std::string prefix(reinterpret_cast<const char*>(r.prefix.data), r.prefix.size);
    EXPECT_TRUE(r.has_packet_hdr);
    EXPECT_EQ(r.hook, 3);  // NF_INET_LOCAL_OUT
    EXPECT_EQ(r.outdev, if_nametoindex("lo"));
    EXPECT_TRUE(r.has_uid && r.has_gid);
    EXPECT_EQ(r.uid, geteuid());
    EXPECT_EQ(r.gid, getegid());
    if (r.family == AF_INET) {
      EXPECT_EQ(r.resource_id, 5);
      EXPECT_EQ(prefix, "v4sel");
      EXPECT_EQ(r.hw_protocol, 0x0800);
      got4.push_back(UdpPayload(ip));
    } else {
      EXPECT_EQ(r.family, AF_INET6);
      EXPECT_EQ(r.resource_id, 6);
      EXPECT_EQ(prefix, "v6sel");
      EXPECT_EQ(r.hw_protocol, 0x86dd);
      got6.push_back(UdpPayload(ip));
    }
  }
  EXPECT_EQ(got4, v4);  // exactly the selected packets, bytes and order
  EXPECT_EQ(got6, v6);
  for (size_t i = 1; i < c.ts.size(); ++i) EXPECT_GT(c.ts[i], 0);
  EXPECT_EQ(FinalCounter(send_a_.err_path, "send_in_packets"), 200u);
  EXPECT_EQ(FinalCounter(recv_.err_path, "recv_out_packets"), 200u);
}

TEST_F(PipeTest, TwoSendersRawLinkType) {
  const std::string out = dir_ + "/two.pcap";
  recv_ = Spawn({kRecv, "--interval=0", "--linktype=raw", Ep(), out}, "recv");
  send_a_ = Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "5", Ep()}, "send_a");
  send_b_ = Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "6", Ep()}, "send_b");
  WaitReady();
  const std::vector<std::string> payloads = TracePayloads(300);
  std::vector<std::string> v4(payloads.begin(), payloads.begin() + 150);
  std::vector<std::string> v6(payloads.begin() + 150, payloads.end());
  SendUdp(AF_INET, v4, 9999);
  SendUdp(AF_INET6, v6, 9999);
  SendUdp(AF_INET6, v6, 9998);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(out) >= 300; }));
  EXPECT_EQ(Stop(&send_a_), 0);
  EXPECT_EQ(Stop(&send_b_), 0);
  EXPECT_EQ(Stop(&recv_), 0);
  Captured c = ReadPcap(out);
  EXPECT_EQ(c.link_type, LinkType::kRaw);
  ASSERT_EQ(c.records.size(), 300u);
  std::vector<std::string> got4, got6;
  for (const std::string& ip : c.records) {
    ((ip[0] >> 4) == 4 ? got4 : got6).push_back(UdpPayload(ip));
  }
  EXPECT_EQ(got4, v4);
  EXPECT_EQ(got6, v6);
  EXPECT_EQ(FinalCounter(send_a_.err_path, "send_in_packets"), 150u);
  EXPECT_EQ(FinalCounter(send_b_.err_path, "send_in_packets"), 150u);
}

// Above the low watermark everything is compressed; the receiver's output is lossless.
TEST_F(PipeTest, CompressedAboveLowWatermarkIsLossless) {
  for (const char* codec : {"zlib", "zstd"}) {
    const std::string out = dir_ + "/comp_" + codec + ".pcap";
    recv_ = Spawn({kRecv, "--interval=0", "--linktype=raw", Ep(), out}, "recv");
    send_a_ = Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "--low_watermark=1",
                     std::string("--codec=") + codec, "5", Ep()},
                    "send");
    WaitReady();
    const std::vector<std::string> payloads = TracePayloads(400);
    SendUdp(AF_INET, payloads, 9999);
    ASSERT_TRUE(WaitFor([&] { return CountRecords(out) >= 400; }));
    EXPECT_EQ(Stop(&send_a_), 0);
    EXPECT_EQ(Stop(&recv_), 0);
    Captured c = ReadPcap(out);
    ASSERT_EQ(c.records.size(), 400u);
    for (size_t i = 0; i < 400; ++i) ASSERT_EQ(UdpPayload(c.records[i]), payloads[i]) << i;
    EXPECT_EQ(FinalCounter(send_a_.err_path, "send_compressed_packets"), 400u) << codec;
    EXPECT_EQ(FinalCounter(recv_.err_path, "recv_compressed_packets"), 400u) << codec;
  }
}

// Above the high watermark drops are counted and the counters add up to the packets in.
TEST_F(PipeTest, HighWatermarkDropsAreCountedAndAddUp) {
  const std::string out = dir_ + "/drop.pcap";
  recv_ = Spawn({kRecv, "--interval=0", "--linktype=raw", Ep(), out}, "recv");
  send_a_ = Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "--low_watermark=2000",
                   "--high_watermark=20000", "5", Ep()},
                  "send");
  WaitReady();
  SendUdp(AF_INET, TracePayloads(1000), 9999);
  EXPECT_EQ(Stop(&send_a_), 0);  // drains the kernel's queue before exiting
  const uint64_t in = FinalCounter(send_a_.err_path, "send_in_packets");
  const uint64_t out_p = FinalCounter(send_a_.err_path, "send_out_packets");
  const uint64_t dropped = FinalCounter(send_a_.err_path, "send_dropped_packets{cause=\"rate\"}");
  EXPECT_EQ(in, 1000u);
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(out_p, 0u);
  EXPECT_EQ(out_p + dropped, in);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(out) >= out_p; }));
  EXPECT_EQ(Stop(&recv_), 0);
  EXPECT_EQ(CountRecords(out), out_p);
}

// The receiver restarts mid-stream: what the sender queued meanwhile arrives afterwards.
TEST_F(PipeTest, ReceiverRestartedMidStream) {
  const std::string out1 = dir_ + "/r1.pcap", out2 = dir_ + "/r2.pcap";
  const std::string ep = "tcp://127.0.0.1:5601";
  recv_ = Spawn({kRecv, "--interval=0", "--linktype=raw", ep, out1}, "recv1");
  send_a_ = Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "5", ep}, "send");
  WaitReady();
  const std::vector<std::string> p = TracePayloads(300);
  SendUdp(AF_INET, {p.begin(), p.begin() + 100}, 9999);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(out1) >= 100; }));
  EXPECT_EQ(Stop(&recv_), 0);
  SendUdp(AF_INET, {p.begin() + 100, p.begin() + 200}, 9999);  // receiver down
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  recv_ = Spawn({kRecv, "--interval=0", "--linktype=raw", ep, out2}, "recv2");
  SendUdp(AF_INET, {p.begin() + 200, p.end()}, 9999);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(out2) >= 200; }));
  EXPECT_EQ(Stop(&send_a_), 0);
  EXPECT_EQ(Stop(&recv_), 0);
  Captured a = ReadPcap(out1), b = ReadPcap(out2);
  ASSERT_EQ(a.records.size(), 100u);
  ASSERT_EQ(b.records.size(), 200u);
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(UdpPayload(a.records[i]), p[i]);
  for (size_t i = 0; i < 200; ++i) EXPECT_EQ(UdpPayload(b.records[i]), p[100 + i]);
}

// The FIFO's reader is killed and restarted: the new reader gets a fresh, untorn pcap.
TEST_F(PipeTest, FifoReaderKilledAndRestarted) {
  const std::string fifo = dir_ + "/out.fifo";
  unlink(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string f1 = dir_ + "/fifo1.pcap", f2 = dir_ + "/fifo2.pcap";
  auto reader1 = std::make_unique<FifoReader>(fifo);
  recv_ = Spawn({kRecv, "--interval=0", "--linktype=raw", "--metrics=127.0.0.1:9611", Ep(), fifo},
                "recv");
  send_a_ = Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "5", Ep()}, "send");
  WaitReady();
  const std::vector<std::string> p = TracePayloads(300);
  SendUdp(AF_INET, {p.begin(), p.begin() + 100}, 9999);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(reader1->Save(f1)) >= 100; }));
  reader1->Close();                                            // the reader goes away
  SendUdp(AF_INET, {p.begin() + 100, p.begin() + 200}, 9999);  // no reader: dropped, counted
  ASSERT_TRUE(WaitFor([&] {
    return Metric(9611, "pktkit_nflog_recv_dropped_packets_total{cause=\"no_reader\"}") >= 100;
  }));
  FifoReader reader2(fifo);  // a new reader comes
  SendUdp(AF_INET, {p.begin() + 200, p.end()}, 9999);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(reader2.Save(f2)) >= 100; }));
  EXPECT_EQ(Stop(&send_a_), 0);
  EXPECT_EQ(Stop(&recv_), 0);
  reader2.Close();
  reader2.Save(f2);
  Captured a = ReadPcap(f1), b = ReadPcap(f2);
  EXPECT_FALSE(a.damaged);
  EXPECT_FALSE(b.damaged);  // fresh header, no torn record
  ASSERT_EQ(a.records.size(), 100u);
  ASSERT_EQ(b.records.size(), 100u);
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(UdpPayload(a.records[i]), p[i]);
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(UdpPayload(b.records[i]), p[200 + i]);
  EXPECT_EQ(FinalCounter(recv_.err_path, "recv_dropped_packets{cause=\"no_reader\"}"), 100u);
  EXPECT_EQ(FinalCounter(recv_.err_path, "recv_fifo_reader_gone"), 1u);
  EXPECT_EQ(FinalCounter(recv_.err_path, "recv_fifo_reopens"), 1u);
  // Said once, not per dropped record: waiting for a reader, then writing again.
  const std::string err = ReadFile(recv_.err_path);
  size_t waiting = 0;
  for (size_t at = err.find("waiting for a reader on FIFO"); at != std::string::npos;
       at = err.find("waiting for a reader on FIFO", at + 1)) {
    ++waiting;
  }
  EXPECT_EQ(waiting, 1u) << err;
  EXPECT_NE(err.find("a reader opened FIFO"), std::string::npos) << err;
}

// The buffer window is fetched as a pcap while the stream goes on; with the daemon down the
// query fails cleanly after its timeout.
TEST_F(PipeTest, QueryFetchesBufferWindowAndTimesOutWhenDown) {
  const std::string out = dir_ + "/q.pcap", dump = dir_ + "/dump.pcap";
  const std::string qep = "tcp://127.0.0.1:5602";
  recv_ = Spawn({kRecv, "--interval=0", "--linktype=raw", "--buffer_window=1000000",
                 "--query=" + qep, Ep(), out},
                "recv");
  send_a_ = Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "5", Ep()}, "send");
  WaitReady();
  const std::vector<std::string> p = TracePayloads(100);
  SendUdp(AF_INET, p, 9999);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(out) >= 100; }));
  Child q = Spawn({kQuery, "--timeout_ms=5000", qep}, "query", dump);
  EXPECT_EQ(Wait(&q), 0);
  Captured d = ReadPcap(dump);
  EXPECT_FALSE(d.damaged);
  EXPECT_EQ(d.link_type, LinkType::kRaw);
  ASSERT_EQ(d.records.size(), 100u);
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(UdpPayload(d.records[i]), p[i]);
  EXPECT_EQ(Stop(&send_a_), 0);
  EXPECT_EQ(Stop(&recv_), 0);
  Child q2 = Spawn({kQuery, "--timeout_ms=300", qep}, "query2", dump);
  EXPECT_EQ(Wait(&q2), 1);
  EXPECT_NE(ReadFile(q2.err_path).find("no answer"), std::string::npos);
}

// Rate control as separate stages: sender -> compress -> decompress -> receiver, lossless.
TEST_F(PipeTest, CompressAndDecompressStagesAreLossless) {
  const std::string out = dir_ + "/stages.pcap";
  recv_ = Spawn({kRecv, "--interval=0", "--linktype=raw", Ep(), out}, "recv");
  stage2_ = Spawn({kDecompress, "--interval=0", "tcp://127.0.0.1:5611", Ep()}, "decompress");
  stage1_ = Spawn({kCompress, "--interval=0", "--low_watermark=1", "--codec=zlib",
                   "tcp://127.0.0.1:5610", "tcp://127.0.0.1:5611"},
                  "compress");
  send_a_ =
      Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "5", "tcp://127.0.0.1:5610"}, "send");
  WaitReady();
  const std::vector<std::string> p = TracePayloads(500);
  SendUdp(AF_INET, p, 9999);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(out) >= 500; }));
  EXPECT_EQ(Stop(&send_a_), 0);
  EXPECT_EQ(Stop(&stage1_), 0);
  EXPECT_EQ(Stop(&stage2_), 0);
  EXPECT_EQ(Stop(&recv_), 0);
  Captured c = ReadPcap(out);
  ASSERT_EQ(c.records.size(), 500u);
  for (size_t i = 0; i < 500; ++i) ASSERT_EQ(UdpPayload(c.records[i]), p[i]) << i;
  EXPECT_EQ(FinalCounter(stage1_.err_path, "compress_compressed_packets"), 500u);
  EXPECT_EQ(FinalCounter(stage2_.err_path, "decompress_out_packets"), 500u);
}

// CURVE between hosts: a sender with the right keys gets through; a plain one never does.
TEST_F(PipeTest, CurveAuthenticatesSenders) {
  const std::string server = dir_ + "/server", client = dir_ + "/client";
  Child k1 = Spawn({kKeygen, server}, "keygen1"), k2 = Spawn({kKeygen, client}, "keygen2");
  ASSERT_EQ(Wait(&k1), 0);
  ASSERT_EQ(Wait(&k2), 0);
  const std::string out = dir_ + "/curve.pcap";
  recv_ = Spawn(
      {kRecv, "--interval=0", "--linktype=raw", "--curve_secret_key=" + server + ".key", Ep(), out},
      "recv");
  send_a_ = Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "5", Ep()}, "plain");
  WaitReady();
  const std::vector<std::string> p = TracePayloads(150);
  SendUdp(AF_INET, {p.begin(), p.begin() + 50}, 9999);
  EXPECT_EQ(Stop(&send_a_), 0);
  EXPECT_EQ(FinalCounter(send_a_.err_path, "send_in_packets"), 50u);
  send_b_ = Spawn(
      {kSend, "--interval=0", "--flush_timeout_cs=1", "--curve_secret_key=" + client + ".key",
       "--curve_public_key=" + client + ".pub", "--curve_server_key=" + server + ".pub", "5", Ep()},
      "curve");
  WaitReady();
  SendUdp(AF_INET, {p.begin() + 50, p.end()}, 9999);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(out) >= 100; }));
  EXPECT_EQ(Stop(&send_b_), 0);
  EXPECT_EQ(Stop(&recv_), 0);
  Captured c = ReadPcap(out);
  ASSERT_EQ(c.records.size(), 100u);  // only the authenticated sender's packets
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(UdpPayload(c.records[i]), p[50 + i]);
}

// Counters: Prometheus endpoint and statsd datagrams (nflog.* names) agree with the traffic.
TEST_F(PipeTest, PrometheusAndStatsdCounters) {
  const int us = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(8125);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(us, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string out = dir_ + "/stats.pcap";
  recv_ = Spawn({kRecv, "--interval=0", "--statsd=127.0.0.1:8125", Ep(), out}, "recv");
  send_a_ =
      Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "--metrics=127.0.0.1:9612", "5", Ep()},
            "send");
  WaitReady();
  SendUdp(AF_INET, TracePayloads(120), 9999);
  ASSERT_TRUE(WaitFor([&] { return Metric(9612, "pktkit_nflog_send_in_packets_total") == 120; }));
  EXPECT_EQ(Metric(9612, "pktkit_nflog_send_out_packets_total"), 120);
  EXPECT_EQ(Metric(9612, "pktkit_nflog_send_dropped_packets_total{cause=\"rate\"}"), 0);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(out) >= 120; }));
  EXPECT_EQ(Stop(&send_a_), 0);
  EXPECT_EQ(Stop(&recv_), 0);  // pushes the last deltas at exit
  uint64_t out_packets = 0;
  char buf[2048];
  ssize_t n;
  while ((n = recv(us, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
    std::istringstream lines(std::string(buf, static_cast<size_t>(n)));
    std::string line;
    while (std::getline(lines, line)) {
      EXPECT_EQ(line.rfind("nflog.recv.", 0), 0u) << line;
      EXPECT_EQ(line.substr(line.size() - 2), "|c") << line;
      if (line.rfind("nflog.recv.out_packets:", 0) == 0)
        out_packets += std::stoull(line.substr(23));
    }
  }
  close(us);
  EXPECT_EQ(out_packets, 120u);
}

// --user drops privileges after the sockets are open: group first, then user (uid 4, gid
// 65534 for Debian's "sync" user, so a swap would show), and the pipe keeps working.
TEST_F(PipeTest, PrivilegeDropSetsUidAndGidInTheRightOrder) {
  passwd* pw = getpwnam("sync");
  if (pw == nullptr || pw->pw_uid == pw->pw_gid) GTEST_SKIP() << "needs a user with uid != gid";
  // Under Bazel's linux-sandbox root lives in a user namespace that maps only uid 0 and denies
  // setgroups(2); the privilege drop cannot be exercised there (run with --strategy=local or
  // the test binary directly, as root).
  if (ReadFile("/proc/self/setgroups").find("deny") != std::string::npos ||
      ReadFile("/proc/self/uid_map").find("4294967295") == std::string::npos) {
    GTEST_SKIP() << "user namespace without setgroups/full uid map (sandbox)";
  }
  const std::string out = dir_ + "/user.pcap";
  recv_ = Spawn({kRecv, "--interval=0", "--linktype=raw", Ep(), out}, "recv");
  send_a_ =
      Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "--user=sync", "5", Ep()}, "send");
  WaitReady();
  const std::string status = ReadFile("/proc/" + std::to_string(send_a_.pid) + "/status");
  const std::string uid = std::to_string(pw->pw_uid), gid = std::to_string(pw->pw_gid);
  EXPECT_NE(status.find("\nUid:\t" + uid + "\t" + uid + "\t" + uid), std::string::npos) << status;
  EXPECT_NE(status.find("\nGid:\t" + gid + "\t" + gid + "\t" + gid), std::string::npos) << status;
  SendUdp(AF_INET, TracePayloads(50), 9999);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(out) >= 50; }));
  EXPECT_EQ(Stop(&send_a_), 0);
  EXPECT_EQ(Stop(&recv_), 0);
  EXPECT_EQ(CountRecords(out), 50u);
}

// Packets of NFLOG group `group` the kernel holds in its queue, not yet sent to the listener
// (the qlen column of /proc/net/netfilter/nfnetlink_log, this namespace's); -1 if not bound.
int KernelQueued(int group) {
  std::istringstream lines(ReadFile("/proc/net/netfilter/nfnetlink_log"));
  int g, portid, qlen;
  std::string rest;
  while (lines >> g >> portid >> qlen && std::getline(lines, rest)) {
    if (g == group) return qlen;
  }
  return -1;
}

// The packet count of the nftables rule in inet pipe/out that mentions `match`.
uint64_t NftRulePackets(const std::string& match) {
  FILE* f = popen("nft list chain inet pipe out", "r");
  if (f == nullptr) return 0;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  pclose(f);
  const size_t at = text.find(match);
  const size_t c = text.find("counter packets ", at == std::string::npos ? text.size() : at);
  return c == std::string::npos ? 0 : std::strtoull(text.c_str() + c + 16, nullptr, 10);
}

// SIGTERM while the kernel still holds the logged packets (a large qthresh, nlbufsiz and flush
// timeout: the kernel has sent nothing yet, its queue shows them all): the sender unbinds its
// group, the kernel flushes, the drain sends them, and the receiver gets every packet nftables
// logged, in order. The control: with --drain_ms=0 the same packets are lost.
TEST_F(PipeTest, SigtermDrainsWhatTheKernelStillHolds) {
  ASSERT_EQ(std::system("nft add rule inet pipe out udp dport 9997 counter log group 7"), 0);
  std::vector<std::string> p;
  for (int i = 0; i < 100; ++i) p.push_back("queued-in-the-kernel-" + std::to_string(i));
  uint64_t logged_before = 0;
  for (const bool drain : {true, false}) {
    SCOPED_TRACE(drain ? "with the drain" : "--drain_ms=0");
    const std::string out = dir_ + (drain ? "/drain.pcap" : "/nodrain.pcap");
    recv_ = Spawn({kRecv, "--interval=0", "--linktype=raw", Ep(), out}, "recv");
    send_a_ = Spawn({kSend, "--interval=0", "--qthresh=100000", "--nlbufsiz=131072",
                     "--flush_timeout_cs=60000", drain ? "--drain_ms=2000" : "--drain_ms=0", "7",
                     Ep()},
                    "send");
    WaitReady();
    SendUdp(AF_INET, p, 9997);
    ASSERT_EQ(KernelQueued(7), 100);  // all held in the kernel: nothing has reached the sender
    const uint64_t logged = NftRulePackets("dport 9997") - logged_before;
    logged_before += logged;
    ASSERT_EQ(logged, 100u);
    EXPECT_EQ(Stop(&send_a_), 0);
    EXPECT_EQ(FinalCounter(send_a_.err_path, "send_in_packets"), drain ? logged : 0u);
    EXPECT_EQ(FinalCounter(send_a_.err_path, "send_out_packets"), drain ? logged : 0u);
    if (drain) {
      ASSERT_TRUE(WaitFor([&] { return CountRecords(out) >= logged; }));
    }
    EXPECT_EQ(Stop(&recv_), 0);
    Captured c = ReadPcap(out);
    EXPECT_FALSE(c.damaged);
    ASSERT_EQ(c.records.size(), drain ? logged : 0u);
    for (size_t i = 0; i < c.records.size(); ++i) EXPECT_EQ(UdpPayload(c.records[i]), p[i]);
  }
}

// A real trace replayed with tcpreplay into a veth pair; an nftables netdev ingress rule logs
// the frames to port 80: the receiver holds exactly those, byte for byte, in order, with the
// Ethernet header (NFULA_HWHEADER) and the receiving interface as metadata.
TEST_F(PipeTest, ReplayedTraceOverVethIngress) {
  PKTKIT_SKIP_WITHOUT_SHARED_PCAPS();
  ASSERT_EQ(std::system("ip link add v0 type veth peer name v1 && ip link set v0 up && "
                        "ip link set v1 up && nft add table netdev rp && "
                        "nft add chain netdev rp in '{ type filter hook ingress device v1 "
                        "priority 0; }' && nft add rule netdev rp in tcp dport 80 log group 5"),
            0);
  std::vector<std::string> expected;  // frames with TCP destination port 80
  {
    Captured trace = ReadPcap("../shared_pcaps/bro.org.pcap");
    ASSERT_EQ(trace.records.size(), 751u);
    for (const std::string& f : trace.records) {
      const auto* b = reinterpret_cast<const uint8_t*>(f.data());
      if (f.size() < 14 + 20 || LoadBe16(b + 12) != 0x0800 || b[14 + 9] != 6) continue;
      const size_t l4 = 14 + (b[14] & 0x0f) * 4u;
      if (f.size() >= l4 + 4 && LoadBe16(b + l4 + 2) == 80) expected.push_back(f);
    }
  }
  ASSERT_GT(expected.size(), 100u);
  const std::string out = dir_ + "/veth.pcap";
  recv_ = Spawn({kRecv, "--interval=0", Ep(), out}, "recv");
  send_a_ = Spawn({kSend, "--interval=0", "--flush_timeout_cs=1", "5", Ep()}, "send");
  WaitReady();
  Child replay =
      Spawn({"/usr/bin/tcpreplay", "-q", "-i", "v0", "--topspeed", "../shared_pcaps/bro.org.pcap"},
            "tcpreplay");
  ASSERT_EQ(Wait(&replay), 0) << ReadFile(replay.err_path);
  ASSERT_TRUE(WaitFor([&] { return CountRecords(out) >= expected.size(); }));
  EXPECT_EQ(Stop(&send_a_), 0);
  EXPECT_EQ(Stop(&recv_), 0);
  Captured c = ReadPcap(out);
  ASSERT_EQ(c.records.size(), expected.size());
  const uint32_t v1 = if_nametoindex("v1");
  for (size_t i = 0; i < expected.size(); ++i) {
    NflogRecord r;
    const std::string& rec = c.records[i];
    ASSERT_EQ(ParseNflog(ByteSpan(reinterpret_cast<const uint8_t*>(rec.data()), rec.size()),
                         kHostTlvOrder, &r),
              NflogError::kOk);
    EXPECT_EQ(r.family, 5);  // NFPROTO_NETDEV
    EXPECT_EQ(r.indev, v1);
    ASSERT_TRUE(r.has_hwheader);
    EXPECT_EQ(std::string(r.hwheader.begin(), r.hwheader.end()), expected[i].substr(0, 14)) << i;
    EXPECT_EQ(std::string(r.payload.begin(), r.payload.end()), expected[i].substr(14)) << i;
  }
}

}  // namespace
}  // namespace pktkit
