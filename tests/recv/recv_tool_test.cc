// End-to-end tests of pktkit-recv over loopback: frames from pktkit's generator (tools/gen) are
// encapsulated with pktkit/wire/encap.h, sent with the sendmmsg sender, and must come out of
// the tool's pcap byte-identical and complete, for both receivers and each encap mode. Also:
// counters by cause over Prometheus, --vni, SIGINT flushing the pcap, -w to a FIFO.
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pktkit/io/pcap.h"
#include "pktkit/io/udp_sender.h"
#include "pktkit/io/udp_socket.h"
#include "pktkit/wire/encap.h"
#include "tests/testing/tool_process.h"
#include "tools/gen/generator.h"

namespace pktkit {
namespace {

constexpr char kTool[] = "tools/recv/pktkit-recv";

std::string TmpPath(const std::string& name) {
  const char* d = std::getenv("TEST_TMPDIR");
  return std::string(d != nullptr ? d : "/tmp") + "/" + name;
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

pid_t Spawn(std::vector<std::string> args, const std::string& err_path) {
  return testing::SpawnTool(kTool, std::move(args), err_path);
}

bool WaitForText(const std::string& path, const std::string& text) {
  for (int i = 0; i < 200; ++i) {
    if (ReadText(path).find(text) != std::string::npos) return true;
    usleep(25 * 1000);
  }
  return false;
}

int WaitExit(pid_t pid) { return testing::WaitExit(pid, 20000); }

std::vector<std::vector<uint8_t>> ReadFrames(const std::string& path) {
  std::vector<std::vector<uint8_t>> out;
  auto r = PcapReader::Open(path);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return out;
  while (true) {
    auto b = (*r)->NextBatch(0);
    if (!b.ok()) {
      EXPECT_TRUE(absl::IsOutOfRange(b.status())) << b.status();
      break;
    }
    for (const PacketView& v : *b) {
      EXPECT_EQ(v.caplen, v.wire_len);
      out.emplace_back(v.data, v.data + v.caplen);
    }
    (*r)->ReleaseBatch();
  }
  return out;
}

uint16_t FreePort() {
  auto s = UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0), UdpSocketOptions());
  return s.ok() ? s->local_port() : 0;
}

// Sends every frame with the tunnel header of `spec` (none for raw), in paced batches.
void SendAll(uint16_t port, const std::vector<std::vector<uint8_t>>& frames, EncapMode mode,
             const std::vector<uint32_t>& vnis) {
  auto s = UdpSender::Open({*SocketAddress::Parse("127.0.0.1", port)});
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<std::vector<uint8_t>> hdrs(frames.size());
  std::vector<iovec> iov(2 * frames.size());
  std::vector<UdpSender::Message> msgs(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    size_t n = 0;
    if (mode != EncapMode::kRaw) {
      EncapSpec spec;
      spec.mode = mode;
      spec.vni = Vni::FromMasked(vnis.empty() ? 42 : vnis[i]);
      hdrs[i].resize(kMaxTunnelHeaderSize);
      ByteWriter w(hdrs[i].data(), hdrs[i].size());
      ASSERT_TRUE(WriteTunnelHeader(spec, &w));
      n = w.size();
    }
    iov[2 * i] = {hdrs[i].data(), n};
    iov[2 * i + 1] = {const_cast<uint8_t*>(frames[i].data()), frames[i].size()};
    msgs[i] = {&iov[2 * i], 2, 0};
  }
  for (size_t i = 0; i < msgs.size(); i += 32) {
    const size_t n = std::min<size_t>(32, msgs.size() - i);
    EXPECT_EQ((*s)->Send(&msgs[i], n).sent, n);
    usleep(200);  // pacing only: keeps the receiver's socket queue short
  }
}

// 751 frames of mixed traffic (TCP, HTTP, DNS, ICMP, fragments; IPv4/IPv6; VLAN/QinQ) from
// pktkit's own generator, so that the test needs nothing beside the checkout.
std::vector<std::vector<uint8_t>> BroFrames() {
  gen::GenOptions o;
  o.flows = 120;
  o.max_packets = 751;
  std::vector<std::vector<uint8_t>> f;
  for (gen::GenPacket& p : gen::Generate(o)) f.push_back(std::move(p.bytes));
  EXPECT_EQ(f.size(), 751u);
  return f;
}

struct Mode {
  const char* receiver;
  const char* encap;
  EncapMode mode;
};

class RecvLoopbackTest : public ::testing::TestWithParam<Mode> {};

TEST_P(RecvLoopbackTest, InnerFramesAreByteIdenticalAndComplete) {
  const std::vector<std::vector<uint8_t>> frames = BroFrames();
  ASSERT_FALSE(frames.empty());
  const uint16_t port = FreePort();
  const std::string out = TmpPath(std::string("out_") + GetParam().receiver + ".pcap");
  const std::string err =
      TmpPath(std::string("err_") + GetParam().receiver + "_" + GetParam().encap + ".txt");
  const pid_t pid = Spawn(
      {"-i", absl::StrCat("udp::127.0.0.1:", port, ":", GetParam().encap), "-w", out, "-c",
       std::to_string(frames.size()), "--receiver", GetParam().receiver, "--stats_interval", "0"},
      err);
  ASSERT_TRUE(WaitForText(err, "listening on")) << ReadText(err);
  EXPECT_NE(ReadText(err).find(GetParam().receiver), std::string::npos) << ReadText(err);
  SendAll(port, frames, GetParam().mode, {});
  ASSERT_EQ(WaitExit(pid), 0) << ReadText(err);
  const std::vector<std::vector<uint8_t>> got = ReadFrames(out);
  ASSERT_EQ(got.size(), frames.size()) << ReadText(err);
  for (size_t i = 0; i < frames.size(); ++i) ASSERT_EQ(got[i], frames[i]) << "frame " << i;
  EXPECT_NE(ReadText(err).find("written=" + std::to_string(frames.size())), std::string::npos)
      << ReadText(err);
}

INSTANTIATE_TEST_SUITE_P(All, RecvLoopbackTest,
                         ::testing::Values(Mode{"recvmmsg", "vxlan", EncapMode::kVxlan},
                                           Mode{"io_uring", "vxlan", EncapMode::kVxlan},
                                           Mode{"recvmmsg", "geneve", EncapMode::kGeneve},
                                           Mode{"io_uring", "geneve", EncapMode::kGeneve},
                                           Mode{"recvmmsg", "raw", EncapMode::kRaw},
                                           Mode{"io_uring", "raw", EncapMode::kRaw},
                                           Mode{"io_uring-recvmsg", "vxlan", EncapMode::kVxlan}),
                         [](const ::testing::TestParamInfo<Mode>& i) {
                           std::string n = std::string(i.param.receiver) + "_" + i.param.encap;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           for (char& c : n)
                             if (c == '+') c = '_';
                           return n;
                         });

std::string Scrape(uint16_t port) { return testing::HttpGetLoopback(port); }

TEST(RecvToolTest, MalformedCountedByCauseVniFilterAndSigintFlushes) {
  const std::vector<std::vector<uint8_t>> all = BroFrames();
  ASSERT_GT(all.size(), 100u);
  const std::vector<std::vector<uint8_t>> frames(all.begin(), all.begin() + 100);
  const uint16_t port = FreePort();
  const uint16_t mport = FreePort();  // a TCP port that is very likely free too
  const std::string out = TmpPath("vni.pcap");
  const std::string err = TmpPath("err_vni.txt");
  const pid_t pid =
      Spawn({"-i", absl::StrCat("udp::127.0.0.1:", port), "-w", out, "--vni", "2", "--max_datagram",
             "2048", "--metrics", absl::StrCat("127.0.0.1:", mport), "--stats_interval", "0"},
            err);
  ASSERT_TRUE(WaitForText(err, "listening on")) << ReadText(err);
  std::vector<uint32_t> vnis;
  for (size_t i = 0; i < frames.size(); ++i) vnis.push_back(i % 2 == 0 ? 1 : 2);
  SendAll(port, frames, EncapMode::kVxlan, vnis);
  // Malformed: I flag clear, short header, no inner frame, and one oversized datagram.
  auto s = UdpSender::Open({*SocketAddress::Parse("127.0.0.1", port)});
  ASSERT_TRUE(s.ok());
  std::vector<uint8_t> bad_flags = {0, 0, 0, 0, 0, 0, 1,  0,  1,  2,  3,
                                    4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  std::vector<uint8_t> short_hdr = {0x08, 0, 0};
  std::vector<uint8_t> no_inner = {0x08, 0, 0, 0, 0, 0, 1, 0};
  std::vector<uint8_t> big(4000, 0);
  big[0] = 0x08;
  iovec v[4] = {{bad_flags.data(), bad_flags.size()},
                {short_hdr.data(), short_hdr.size()},
                {no_inner.data(), no_inner.size()},
                {big.data(), big.size()}};
  UdpSender::Message m[4] = {{&v[0], 1, 0}, {&v[1], 1, 0}, {&v[2], 1, 0}, {&v[3], 1, 0}};
  EXPECT_EQ((*s)->Send(m, 4).sent, 4u);
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = Scrape(mport);
    if (metrics.find("pktkit_recv_datagrams_total 104") != std::string::npos) break;
    usleep(50 * 1000);
  }
  EXPECT_NE(metrics.find("pktkit_recv_datagrams_total 104"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("pktkit_recv_truncated_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("pktkit_recv_malformed_total{reason=\"bad_vxlan_flags\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("pktkit_recv_malformed_total{reason=\"truncated\"} 2"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("pktkit_recv_vni_packets_total{vni=\"1\"} 50"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("pktkit_recv_vni_packets_total{vni=\"2\"} 50"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("pktkit_recv_filtered_total 50"), std::string::npos) << metrics;
  kill(pid, SIGINT);
  ASSERT_EQ(WaitExit(pid), 0) << ReadText(err);
  EXPECT_NE(ReadText(err).find("final"), std::string::npos);
  const std::vector<std::vector<uint8_t>> got = ReadFrames(out);
  ASSERT_EQ(got.size(), 50u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], frames[2 * i + 1]) << i;
}

TEST(RecvToolTest, WritesToAFifo) {
  const std::vector<std::vector<uint8_t>> all = BroFrames();
  ASSERT_GT(all.size(), 20u);
  const std::vector<std::vector<uint8_t>> frames(all.begin(), all.begin() + 20);
  const std::string fifo = TmpPath("out.fifo");
  unlink(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string copy = TmpPath("fifo_copy.pcap");
  // A reader that copies the FIFO into a file (cat), started first so the tool can open it.
  const pid_t cat = fork();
  if (cat == 0) {
    const int fd = open(copy.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    execl("/bin/cat", "cat", fifo.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const uint16_t port = FreePort();
  const std::string err = TmpPath("err_fifo.txt");
  const pid_t pid = Spawn({"-i", absl::StrCat("udp::127.0.0.1:", port, ":vxlan"), "-w", fifo, "-c",
                           "20", "--stats_interval", "0"},
                          err);
  ASSERT_TRUE(WaitForText(err, "listening on")) << ReadText(err);
  SendAll(port, frames, EncapMode::kVxlan, {});
  ASSERT_EQ(WaitExit(pid), 0) << ReadText(err);
  ASSERT_EQ(WaitExit(cat), 0);
  EXPECT_EQ(ReadFrames(copy), frames);
}

}  // namespace
}  // namespace pktkit

namespace pktkit {
namespace {

// --workers 2: two SO_REUSEPORT sockets; the kernel spreads senders by 4-tuple. Several
// senders (distinct source ports); every frame must come out exactly once (order-free).
TEST(RecvToolTest, WorkersShareThePortAndLoseNothing) {
  const std::vector<std::vector<uint8_t>> all = BroFrames();
  ASSERT_GT(all.size(), 400u);
  const uint16_t port = FreePort();
  const std::string out = TmpPath("workers.pcap");
  const std::string err = TmpPath("err_workers.txt");
  const pid_t pid = Spawn({"-i", absl::StrCat("udp::127.0.0.1:", port), "-w", out, "-c", "400",
                           "--workers", "2", "--receiver", "io_uring", "--stats_interval", "0"},
                          err);
  ASSERT_TRUE(WaitForText(err, "listening on")) << ReadText(err);
  EXPECT_NE(ReadText(err).find("2 workers"), std::string::npos) << ReadText(err);
  std::vector<std::vector<uint8_t>> sent;
  for (int s = 0; s < 8; ++s) {  // 8 senders of 50 frames, each from its own source port
    std::vector<std::vector<uint8_t>> part(all.begin() + s * 50, all.begin() + (s + 1) * 50);
    SendAll(port, part, EncapMode::kVxlan, {});
    sent.insert(sent.end(), part.begin(), part.end());
  }
  ASSERT_EQ(WaitExit(pid), 0) << ReadText(err);
  std::vector<std::vector<uint8_t>> got = ReadFrames(out);
  std::sort(got.begin(), got.end());
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(got, sent);
}

// Port 0: the kernel picks the port, pktkit-recv prints the one it got (not ":0"), and both
// SO_REUSEPORT workers listen on it, so every datagram sent there arrives.
TEST(RecvToolTest, PortZeroPrintsTheKernelsPortAndWorkersShareIt) {
  const std::vector<std::vector<uint8_t>> all = BroFrames();
  ASSERT_GT(all.size(), 200u);
  const std::string out = TmpPath("port0.pcap");
  const std::string err = TmpPath("err_port0.txt");
  const pid_t pid = Spawn({"-i", "udp::127.0.0.1:0", "-w", out, "-c", "200", "--workers", "2",
                           "--stats_interval", "0"},
                          err);
  ASSERT_TRUE(WaitForText(err, "listening on")) << ReadText(err);
  const std::string text = ReadText(err);
  const std::string key = "listening on 127.0.0.1:";
  const size_t at = text.find(key);
  ASSERT_NE(at, std::string::npos) << text;
  const int port = std::atoi(text.c_str() + at + key.size());
  ASSERT_GT(port, 0) << text;
  ASSERT_LT(port, 65536) << text;
  std::vector<std::vector<uint8_t>> sent;
  for (int s = 0; s < 4; ++s) {  // 4 senders: the kernel spreads them over both workers
    std::vector<std::vector<uint8_t>> part(all.begin() + s * 50, all.begin() + (s + 1) * 50);
    SendAll(static_cast<uint16_t>(port), part, EncapMode::kVxlan, {});
    sent.insert(sent.end(), part.begin(), part.end());
  }
  ASSERT_EQ(WaitExit(pid), 0) << ReadText(err);
  std::vector<std::vector<uint8_t>> got = ReadFrames(out);
  std::sort(got.begin(), got.end());
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(got, sent);
}

}  // namespace
}  // namespace pktkit
