// Loopback tests of the UDP tunnel receivers (recvmmsg and io_uring) and the sendmmsg sender:
// hand-built VXLAN datagrams in, the exact inner bytes, VNI, peer and timestamps out;
// truncated and malformed datagrams counted by cause.
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pktkit/io/recvmmsg_receiver.h"
#include "pktkit/io/udp_sender.h"
#include "pktkit/io/udp_socket.h"
#include "pktkit/io/udp_tunnel_source.h"
#include "pktkit/io/uring_receiver.h"

namespace pktkit {
namespace {

std::vector<uint8_t> VxlanHeader(uint32_t vni) {
  return {0x08,
          0,
          0,
          0,
          static_cast<uint8_t>(vni >> 16),
          static_cast<uint8_t>(vni >> 8),
          static_cast<uint8_t>(vni),
          0};
}

std::vector<uint8_t> InnerFrame(size_t n, uint8_t seed) {
  std::vector<uint8_t> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = static_cast<uint8_t>(seed * 31 + i);
  return f;
}

SocketAddress Loopback(int family, uint16_t port) {
  return *SocketAddress::Parse(family == AF_INET6 ? "::1" : "127.0.0.1", port);
}

struct Received {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<uint32_t> vnis;
  std::vector<PacketView> views;  // data pointers invalid; metadata only
};

// Reads until `want` views arrived or ~2 s of empty polls passed.
Received Drain(UdpReceiver* r, size_t want) {
  Received out;
  for (int idle = 0; out.frames.size() < want && idle < 10;) {
    absl::StatusOr<PacketBatch> b = r->NextBatch(100);
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok()) break;
    if (b->empty()) ++idle;
    for (const PacketView& v : *b) {
      out.frames.emplace_back(v.data, v.data + v.caplen);
      out.vnis.push_back(v.tunnel.vni.has_value() ? v.tunnel.vni.value().value() : ~0u);
      out.views.push_back(v);
    }
    r->ReleaseBatch();
  }
  // Pick up stragglers (counted in stats) without waiting long.
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<PacketBatch> b = r->NextBatch(20);
    if (b.ok()) r->ReleaseBatch();
  }
  return out;
}

// Back-ends under test: 0 recvmmsg, 1 io_uring multishot, 2 io_uring one recvmsg per slot.
class UdpReceiverTest : public ::testing::TestWithParam<std::tuple<int, int>> {
 protected:
  UdpReceiverKind kind() const {
    return std::get<0>(GetParam()) == 0 ? UdpReceiverKind::kRecvmmsg : UdpReceiverKind::kIoUring;
  }
  int family() const { return std::get<1>(GetParam()); }
  UdpReceiverOptions Options() const {
    UdpReceiverOptions o;
    o.uring_multishot = std::get<0>(GetParam()) != 2;
    return o;
  }
};

// Binds on a fixed ephemeral-ish port found by binding a probe socket first.
uint16_t FreePort(int family) {
  absl::StatusOr<UdpSocket> s = UdpSocket::Bind(Loopback(family, 0), UdpSocketOptions());
  return s.ok() ? s->local_port() : 0;
}

std::unique_ptr<UdpReceiver> OpenOn(UdpReceiverKind kind, int family, uint16_t port,
                                    const UdpReceiverOptions& o) {
  std::string note;
  absl::StatusOr<std::unique_ptr<UdpReceiver>> r =
      OpenUdpReceiver(Loopback(family, port), kind, UdpSocketOptions(), o, &note);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return nullptr;
  if (kind == UdpReceiverKind::kIoUring) {
    EXPECT_STREQ((*r)->backend(), o.uring_multishot ? "io_uring-multishot" : "io_uring-recvmsg")
        << note;
  } else {
    EXPECT_STREQ((*r)->backend(), "recvmmsg");
  }
  return std::move(*r);
}

TEST_P(UdpReceiverTest, DeliversExactInnerFramesVniAndTimestamps) {
  const uint16_t port = FreePort(family());
  ASSERT_NE(port, 0);
  std::unique_ptr<UdpReceiver> r = OpenOn(kind(), family(), port, Options());
  ASSERT_NE(r, nullptr);
  absl::StatusOr<std::unique_ptr<UdpSender>> s = UdpSender::Open({Loopback(family(), port)});
  ASSERT_TRUE(s.ok()) << s.status();

  constexpr size_t kCount = 200;
  std::vector<std::vector<uint8_t>> hdrs, inners;
  for (size_t i = 0; i < kCount; ++i) {
    hdrs.push_back(VxlanHeader(static_cast<uint32_t>(i * 1000 + 1)));
    inners.push_back(InnerFrame(14 + (i * 37) % 1400, static_cast<uint8_t>(i)));
  }
  hdrs[kCount - 1] = VxlanHeader(Vni::kMax);
  // Send in batches of 50 (so the socket buffer never overflows) with a gather list.
  size_t sent = 0;
  std::vector<iovec> iov(2 * kCount);
  std::vector<UdpSender::Message> msgs(kCount);
  for (size_t i = 0; i < kCount; ++i) {
    iov[2 * i] = {hdrs[i].data(), hdrs[i].size()};
    iov[2 * i + 1] = {inners[i].data(), inners[i].size()};
    msgs[i] = {&iov[2 * i], 2, 0};
  }
  for (size_t i = 0; i < kCount; i += 50) sent += (*s)->Send(&msgs[i], 50).sent;
  EXPECT_EQ(sent, kCount);
  EXPECT_EQ((*s)->stats().sent, kCount);

  Received got = Drain(r.get(), kCount);
  ASSERT_EQ(got.frames.size(), kCount);
  for (size_t i = 0; i < kCount; ++i) {
    EXPECT_EQ(got.frames[i], inners[i]) << i;
    const uint32_t want_vni = i == kCount - 1 ? Vni::kMax : static_cast<uint32_t>(i * 1000 + 1);
    EXPECT_EQ(got.vnis[i], want_vni);
    EXPECT_EQ(got.views[i].ts_source, TimestampSource::kKernel);
    EXPECT_GT(got.views[i].timestamp_ns, 1500000000LL * 1000000000LL);
    EXPECT_EQ(got.views[i].link_type, LinkType::kEthernet);
    EXPECT_EQ(got.views[i].tunnel.type, TunnelType::kVxlan);
    EXPECT_EQ(got.views[i].tunnel.outer_src.family, family() == AF_INET6 ? 6 : 4);
    EXPECT_NE(got.views[i].tunnel.outer_src.port, 0);
  }
  EXPECT_EQ(r->stats().datagrams, kCount);
  EXPECT_EQ(r->stats().decapsulated, kCount);
  EXPECT_EQ(r->stats().malformed, 0u);
  EXPECT_EQ(r->stats().truncated, 0u);
  EXPECT_EQ(r->stats().no_timestamp, 0u);
}

TEST_P(UdpReceiverTest, CountsTruncatedAndMalformedByCause) {
  const uint16_t port = FreePort(family());
  UdpReceiverOptions o = Options();
  o.max_datagram = 512;
  std::unique_ptr<UdpReceiver> r = OpenOn(kind(), family(), port, o);
  ASSERT_NE(r, nullptr);
  auto s = UdpSender::Open({Loopback(family(), port)});
  ASSERT_TRUE(s.ok());
  std::vector<uint8_t> good = VxlanHeader(7);
  std::vector<uint8_t> inner = InnerFrame(60, 1);
  good.insert(good.end(), inner.begin(), inner.end());
  std::vector<uint8_t> big = VxlanHeader(7);
  big.resize(2000, 0xab);                         // larger than the 512-byte slot
  std::vector<uint8_t> short_hdr = {0x08, 0, 0};  // truncated VXLAN header
  std::vector<uint8_t> bad_flags = good;
  bad_flags[0] = 0x00;                             // I flag clear
  std::vector<uint8_t> no_inner = VxlanHeader(7);  // no room for an Ethernet header
  std::vector<uint8_t> empty;
  std::vector<std::vector<uint8_t>*> all = {&good,     &big,   &short_hdr, &bad_flags,
                                            &no_inner, &empty, &good};
  std::vector<iovec> iov;
  for (auto* d : all) iov.push_back({d->data(), d->size()});
  std::vector<UdpSender::Message> msgs;
  for (auto& v : iov) msgs.push_back({&v, 1, 0});
  EXPECT_EQ((*s)->Send(msgs.data(), msgs.size()).sent, msgs.size());
  Received got = Drain(r.get(), 2);
  ASSERT_EQ(got.frames.size(), 2u);
  EXPECT_EQ(got.frames[0], inner);
  const UdpReceiverStats& st = r->stats();
  EXPECT_EQ(st.datagrams, all.size());
  EXPECT_EQ(st.truncated, 1u);
  EXPECT_EQ(st.malformed, 4u);
  EXPECT_EQ(st.malformed_by[static_cast<size_t>(DecapError::kBadVxlanFlags)], 1u);
  EXPECT_EQ(st.malformed_by[static_cast<size_t>(DecapError::kTruncated)], 3u);
  EXPECT_EQ(st.decapsulated, 2u);
}

TEST_P(UdpReceiverTest, CountsSocketOverflow) {
  const uint16_t port = FreePort(family());
  UdpSocketOptions so;
  so.receive_buffer_bytes = 4096;  // tiny: most of a burst is dropped in the socket queue
  absl::StatusOr<std::unique_ptr<UdpReceiver>> r =
      OpenUdpReceiver(Loopback(family(), port), kind(), so, Options(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  auto s = UdpSender::Open({Loopback(family(), port)});
  ASSERT_TRUE(s.ok());
  std::vector<uint8_t> d = VxlanHeader(1);
  d.resize(1000, 0x55);
  iovec v{d.data(), d.size()};
  std::vector<UdpSender::Message> msgs(500, UdpSender::Message{&v, 1, 0});
  (*s)->Send(msgs.data(), msgs.size());
  Drain(r->get(), 500);
  // The kernel reports queue drops in the next datagram's SO_RXQ_OVFL; send one more.
  (*s)->Send(msgs.data(), 1);
  Drain(r->get(), 1);
  EXPECT_GT((*r)->stats().socket_overflow, 0u);
  EXPECT_EQ((*r)->stats().socket_overflow + (*r)->stats().datagrams, 501u);
}

std::string BackendName(const ::testing::TestParamInfo<std::tuple<int, int>>& i) {
  const int b = std::get<0>(i.param);
  return std::string(b == 0 ? "Recvmmsg" : b == 1 ? "IoUring" : "IoUringRecvmsg") +
         (std::get<1>(i.param) == AF_INET6 ? "V6" : "V4");
}

INSTANTIATE_TEST_SUITE_P(All, UdpReceiverTest,
                         ::testing::Combine(::testing::Values(0, 1, 2),
                                            ::testing::Values(AF_INET, AF_INET6)),
                         BackendName);

TEST(UringReceiverTest, ReArmsAfterBufferExhaustion) {
  const uint16_t port = FreePort(AF_INET);
  UdpReceiverOptions o;
  o.uring_buffers = 4;  // fewer buffers than datagrams: the multishot ends with ENOBUFS
  o.batch_size = 64;
  std::unique_ptr<UdpReceiver> r = OpenOn(UdpReceiverKind::kIoUring, AF_INET, port, o);
  ASSERT_NE(r, nullptr);
  auto s = UdpSender::Open({Loopback(AF_INET, port)});
  ASSERT_TRUE(s.ok());
  std::vector<uint8_t> d = VxlanHeader(3);
  d.resize(100, 0x11);
  iovec v{d.data(), d.size()};
  size_t got = 0;
  for (int round = 0; round < 5; ++round) {
    std::vector<UdpSender::Message> msgs(10, UdpSender::Message{&v, 1, 0});
    (*s)->Send(msgs.data(), msgs.size());
    got += Drain(r.get(), 10).frames.size();
  }
  EXPECT_EQ(got, 50u);  // nothing lost: the datagrams wait in the socket while re-arming
  EXPECT_GT(r->stats().no_buffers, 0u);
  EXPECT_GT(r->stats().rearms, 0u);
  EXPECT_EQ(r->stats().decapsulated, got);
}

TEST(UdpSenderTest, CountsBadDestinationAndTooBigWithoutFailing) {
  const uint16_t port = FreePort(AF_INET);
  auto s = UdpSender::Open({Loopback(AF_INET, port)});
  ASSERT_TRUE(s.ok());
  std::vector<uint8_t> huge(70000, 1);
  std::vector<uint8_t> small(10, 2);
  iovec a{huge.data(), huge.size()};
  iovec b{small.data(), small.size()};
  UdpSender::Message m[3] = {{&a, 1, 0}, {&b, 1, 5}, {&b, 1, 0}};
  UdpSender::Result res = (*s)->Send(m, 3);
  EXPECT_EQ(res.sent, 1u);
  EXPECT_EQ(res.errors, 2u);
  EXPECT_EQ((*s)->stats().too_big, 1u);
  EXPECT_EQ((*s)->stats().bad_dest, 1u);
}

TEST(UdpSenderTest, RejectsNoDestination) { EXPECT_FALSE(UdpSender::Open({}).ok()); }

TEST(UdpSocketTest, ReusePortLetsTwoSocketsShareAPortAndReportsBuffer) {
  UdpSocketOptions o;
  o.reuse_port = true;
  auto a = UdpSocket::Bind(Loopback(AF_INET, 0), o);
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = UdpSocket::Bind(Loopback(AF_INET, a->local_port()), o);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->local_port(), b->local_port());
  EXPECT_GT(a->receive_buffer_bytes(), 0);
  // Without SO_REUSEPORT the second bind fails with a status naming the address.
  auto c = UdpSocket::Bind(Loopback(AF_INET, a->local_port()), UdpSocketOptions());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message()).find("127.0.0.1"), std::string::npos);
}

TEST(UdpSocketTest, ZeroBufferLeavesKernelDefault) {
  UdpSocketOptions o;
  o.receive_buffer_bytes = 0;
  auto a = UdpSocket::Bind(Loopback(AF_INET, 0), o);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->warning().empty());
  EXPECT_GT(a->receive_buffer_bytes(), 0);
}

}  // namespace
}  // namespace pktkit
