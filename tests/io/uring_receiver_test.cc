// The io_uring receiver's re-arm and drop policy (pktkit/io/uring_receiver.h): a re-arm whose
// io_uring_submit fails transiently is retried and nothing is lost; any other failure comes back
// from NextBatch as a status (and the receiver recovers when the cause goes); every completed
// datagram is counted, including completions whose buffer cannot be read. Submit failures are
// injected through the receiver's test seam (the kernel cannot be made to fail on request);
// datagrams travel over loopback.
#include "pktkit/io/uring_receiver.h"

#include <liburing.h>
#include <sys/uio.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pktkit/io/udp_sender.h"
#include "pktkit/io/udp_socket.h"

namespace pktkit {

class UringReceiverTestPeer {
 public:
  static void FailSubmits(UringReceiver* r, int err) { r->inject_submit_errno_ = err; }
  // Feeds one completion as if the kernel had posted it. The buffer it names is forgotten
  // again (it never left the provided-buffer ring, so handing it back would add it twice).
  static bool Handle(UringReceiver* r, const io_uring_cqe& c, absl::Status* error) {
    PacketView v;
    const bool out = r->HandleMultishotCompletion(c, 0, &v, error);
    r->held_.clear();
    return out;
  }
};

namespace {

struct Fixture {
  std::unique_ptr<UringReceiver> receiver;
  std::unique_ptr<UdpSender> sender;
  std::vector<uint8_t> datagram;
};

// A receiver on a loopback port and a sender to it; `n` datagrams of VXLAN VNI 5 are sent.
Fixture Open(bool multishot, size_t buffers, size_t n) {
  Fixture f;
  UdpReceiverOptions o;
  o.uring_multishot = multishot;
  o.uring_buffers = buffers;
  absl::StatusOr<SocketAddress> any = SocketAddress::Parse("127.0.0.1", 0);
  absl::StatusOr<UdpSocket> s = UdpSocket::Bind(*any, UdpSocketOptions());
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return f;
  const uint16_t port = s->local_port();
  absl::StatusOr<std::unique_ptr<UringReceiver>> r = UringReceiver::Create(std::move(*s), o);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return f;
  f.receiver = std::move(*r);
  EXPECT_STREQ(f.receiver->backend(), multishot ? "io_uring-multishot" : "io_uring-recvmsg");
  f.sender = std::move(*UdpSender::Open({*SocketAddress::Parse("127.0.0.1", port)}));
  // VXLAN header (I flag, VNI 5) + a 64-byte inner frame.
  f.datagram = {0x08, 0, 0, 0, 0, 0, 5, 0};
  f.datagram.resize(8 + 64, 0x5a);
  iovec v{f.datagram.data(), f.datagram.size()};
  std::vector<UdpSender::Message> m(n, UdpSender::Message{&v, 1, 0});
  EXPECT_EQ(f.sender->Send(m.data(), m.size()).sent, n);
  return f;
}

// Reads until `want` frames in all or `idle_limit` empty polls; fails the test on an error.
size_t Drain(UringReceiver* r, size_t want, int idle_limit = 10) {
  size_t got = 0;
  for (int idle = 0; got < want && idle < idle_limit;) {
    absl::StatusOr<PacketBatch> b = r->NextBatch(100);
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok()) break;
    if (b->empty()) ++idle;
    for (const PacketView& p : *b) {
      EXPECT_EQ(p.caplen, 64u);
      EXPECT_EQ(p.tunnel.vni.value().value(), 5u);
      ++got;
    }
  }
  return got;
}

TEST(UringReceiverRearmTest, SingleShotRetriesATransientSubmitFailureAndLosesNothing) {
  Fixture f = Open(/*multishot=*/false, /*buffers=*/4, /*n=*/12);
  ASSERT_NE(f.receiver, nullptr);
  UringReceiver* r = f.receiver.get();
  size_t got = 0;
  absl::StatusOr<PacketBatch> b = r->NextBatch(1000);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_FALSE(b->empty());
  got += b->size;
  UringReceiverTestPeer::FailSubmits(r, EBUSY);
  r->ReleaseBatch();  // the re-arm submit fails: the slots stay queued
  for (int i = 0; i < 3; ++i) {
    b = r->NextBatch(20);
    ASSERT_TRUE(b.ok()) << b.status();  // transient: not an error
    got += b->size;                     // slots that were still armed may deliver
  }
  EXPECT_GE(r->stats().submit_retries, 3u);
  UringReceiverTestPeer::FailSubmits(r, 0);
  got += Drain(r, 12 - got);
  EXPECT_EQ(got, 12u);
  EXPECT_EQ(r->stats().datagrams, 12u);
  EXPECT_EQ(r->stats().bad_completions, 0u);
}

TEST(UringReceiverRearmTest, SingleShotReportsAFatalSubmitFailureThenRecovers) {
  Fixture f = Open(/*multishot=*/false, /*buffers=*/4, /*n=*/12);
  ASSERT_NE(f.receiver, nullptr);
  UringReceiver* r = f.receiver.get();
  absl::StatusOr<PacketBatch> b = r->NextBatch(1000);
  ASSERT_TRUE(b.ok()) << b.status();
  size_t got = b->size;
  UringReceiverTestPeer::FailSubmits(r, EBADF);
  b = r->NextBatch(20);  // releases the batch; its re-arm cannot be submitted
  ASSERT_FALSE(b.ok());
  EXPECT_NE(std::string(b.status().message()).find("io_uring submit"), std::string::npos)
      << b.status();
  EXPECT_FALSE(r->NextBatch(20).ok());  // reported again, never silently dropped
  UringReceiverTestPeer::FailSubmits(r, 0);
  got += Drain(r, 12 - got);
  EXPECT_EQ(got, 12u);
}

// Reads (releasing as it goes) until the multishot receive has ended with ENOBUFS.
size_t ReadUntilBuffersRanOut(UringReceiver* r) {
  size_t got = 0;
  for (int i = 0; i < 50 && r->stats().no_buffers == 0; ++i) {
    absl::StatusOr<PacketBatch> b = r->NextBatch(100);
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok()) break;
    got += b->size;
  }
  EXPECT_GT(r->stats().no_buffers, 0u);
  return got;
}

TEST(UringReceiverRearmTest, MultishotRetriesATransientRearmFailureAndLosesNothing) {
  Fixture f = Open(/*multishot=*/true, /*buffers=*/4, /*n=*/20);
  ASSERT_NE(f.receiver, nullptr);
  UringReceiver* r = f.receiver.get();
  size_t got = ReadUntilBuffersRanOut(r);
  const uint64_t rearms = r->stats().rearms;
  UringReceiverTestPeer::FailSubmits(r, EAGAIN);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<PacketBatch> b = r->NextBatch(20);
    ASSERT_TRUE(b.ok()) << b.status();
    got += b->size;
  }
  EXPECT_GE(r->stats().submit_retries, 3u);
  EXPECT_EQ(r->stats().rearms, rearms);  // not re-armed while the submit fails
  UringReceiverTestPeer::FailSubmits(r, 0);
  got += Drain(r, 20 - got);
  EXPECT_EQ(got, 20u);  // the datagrams waited in the socket
  EXPECT_GT(r->stats().rearms, rearms);
  EXPECT_EQ(r->stats().datagrams, 20u);
}

TEST(UringReceiverRearmTest, MultishotReportsAFatalRearmFailureThenRecovers) {
  Fixture f = Open(/*multishot=*/true, /*buffers=*/4, /*n=*/20);
  ASSERT_NE(f.receiver, nullptr);
  UringReceiver* r = f.receiver.get();
  size_t got = ReadUntilBuffersRanOut(r);
  UringReceiverTestPeer::FailSubmits(r, ENOMEM);
  absl::StatusOr<PacketBatch> b = r->NextBatch(20);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(std::string(b.status().message()).find("io_uring submit multishot"), std::string::npos)
      << b.status();
  UringReceiverTestPeer::FailSubmits(r, 0);
  got += Drain(r, 20 - got);  // one queued re-arm goes out, not two
  EXPECT_EQ(got, 20u);
  EXPECT_EQ(r->stats().datagrams, 20u);
}

TEST(UringReceiverDropTest, CountsCompletionsItCannotRead) {
  Fixture f = Open(/*multishot=*/true, /*buffers=*/4, /*n=*/0);
  ASSERT_NE(f.receiver, nullptr);
  UringReceiver* r = f.receiver.get();
  absl::Status error;
  io_uring_cqe c = {};
  // A datagram in buffer 0 whose length cannot even hold io_uring_recvmsg_out.
  c.res = 4;
  c.flags = IORING_CQE_F_MORE | IORING_CQE_F_BUFFER | (0u << IORING_CQE_BUFFER_SHIFT);
  EXPECT_FALSE(UringReceiverTestPeer::Handle(r, c, &error));
  EXPECT_EQ(r->stats().bad_completions, 1u);
  // Data without a buffer.
  c.res = 100;
  c.flags = IORING_CQE_F_MORE;
  EXPECT_FALSE(UringReceiverTestPeer::Handle(r, c, &error));
  EXPECT_EQ(r->stats().bad_completions, 2u);
  // A buffer id that is not one of the receiver's.
  c.flags = IORING_CQE_F_MORE | IORING_CQE_F_BUFFER | (9u << IORING_CQE_BUFFER_SHIFT);
  EXPECT_FALSE(UringReceiverTestPeer::Handle(r, c, &error));
  EXPECT_EQ(r->stats().bad_completions, 3u);
  EXPECT_EQ(r->stats().datagrams, 3u);  // each lost datagram is counted as received, then lost
  EXPECT_TRUE(error.ok());
  // ENOBUFS is not a loss (the datagram stays in the socket) but ends the multishot.
  c.res = -ENOBUFS;
  c.flags = 0;
  EXPECT_FALSE(UringReceiverTestPeer::Handle(r, c, &error));
  EXPECT_EQ(r->stats().no_buffers, 1u);
  EXPECT_EQ(r->stats().datagrams, 3u);
  // A real receive error is reported.
  c.res = -ECONNREFUSED;
  EXPECT_FALSE(UringReceiverTestPeer::Handle(r, c, &error));
  EXPECT_FALSE(error.ok());
}

}  // namespace
}  // namespace pktkit
