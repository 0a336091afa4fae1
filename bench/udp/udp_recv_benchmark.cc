// UDP tunnel receive throughput on loopback with one sender thread (sendmmsg, VXLAN):
//   BM_UdpRecv_Baseline       a bare blocking recvmmsg loop that only counts (the limit)
//   BM_UdpRecv_BaselineWaitForOne  the same with MSG_WAITFORONE (no holding back a batch)
//   BM_UdpRecv_RecvmmsgVxlan  pktkit's recvmmsg receiver with VXLAN decap, timestamps, counters
//   BM_UdpRecv_IoUringVxlan   pktkit's io_uring multishot receiver, same work
// over 64, 512 and 1400-byte inner payloads. Items = packets received (packets/s).
// Run: bazel run --config=bench //bench/udp:udp_recv_benchmark
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "pktkit/io/recvmmsg_receiver.h"
#include "pktkit/io/udp_sender.h"
#include "pktkit/io/udp_socket.h"
#include "pktkit/io/uring_receiver.h"

namespace pktkit {
namespace {

// Sends VXLAN datagrams of `inner` bytes to 127.0.0.1:port as fast as it can until destroyed.
class Blaster {
 public:
  Blaster(uint16_t port, size_t inner) : frame_(8 + inner, 0x5a) {
    frame_[0] = 0x08;  // VXLAN I flag, VNI 0
    for (size_t i = 8; i < 8 + 14 && i < frame_.size(); ++i) frame_[i] = static_cast<uint8_t>(i);
    sender_ = std::move(*UdpSender::Open({*SocketAddress::Parse("127.0.0.1", port)}));
    thread_ = std::thread([this] {
      iovec iov{frame_.data(), frame_.size()};
      std::vector<UdpSender::Message> m(64, UdpSender::Message{&iov, 1, 0});
      while (!stop_.load(std::memory_order_relaxed)) sender_->Send(m.data(), m.size());
    });
  }
  ~Blaster() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::vector<uint8_t> frame_;
  std::unique_ptr<UdpSender> sender_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

UdpSocket BindLoopback(bool pktkit_options) {
  UdpSocketOptions o;
  if (!pktkit_options) {
    o.timestamps = false;
    o.overflow_counter = false;
  }
  o.non_blocking = pktkit_options;  // the bare loop blocks in recvmmsg
  return std::move(*UdpSocket::Bind(*SocketAddress::Parse("127.0.0.1", 0), o));
}

// flags 0: block until the whole batch of 64 is there; MSG_WAITFORONE: return with what is there
// once one datagram arrived (what pktkit's receivers do: they never hold back a batch).
void BareLoop(benchmark::State& state, int flags) {
  UdpSocket s = BindLoopback(false);
  timeval tv{1, 0};
  setsockopt(s.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  constexpr unsigned kBatch = 64;
  std::vector<uint8_t> buf(kBatch * 2048);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  for (unsigned i = 0; i < kBatch; ++i) {
    iov[i] = {buf.data() + i * 2048, 2048};
    msgs[i] = mmsghdr();
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  Blaster b(s.local_port(), static_cast<size_t>(state.range(0)));
  int64_t packets = 0;
  for (auto _ : state) {
    const int rc = recvmmsg(s.fd(), msgs.data(), kBatch, flags, nullptr);
    if (rc > 0) packets += rc;
  }
  state.SetItemsProcessed(packets);
}

void BM_UdpRecv_Baseline(benchmark::State& state) { BareLoop(state, 0); }
void BM_UdpRecv_BaselineWaitForOne(benchmark::State& state) { BareLoop(state, MSG_WAITFORONE); }

template <typename Receiver>
void RunReceiver(benchmark::State& state) {
  UdpReceiverOptions o;
  o.max_datagram = 2048;
  UdpSocket s = BindLoopback(true);
  const uint16_t port = s.local_port();
  auto r = Receiver::Create(std::move(s), o);
  if (!r.ok()) {
    state.SkipWithError(std::string(r.status().message()).c_str());
    return;
  }
  Blaster b(port, static_cast<size_t>(state.range(0)));
  int64_t packets = 0;
  for (auto _ : state) {
    absl::StatusOr<PacketBatch> batch = (*r)->NextBatch(1000);
    if (!batch.ok()) break;
    for (const PacketView& v : *batch) benchmark::DoNotOptimize(v.caplen);
    packets += static_cast<int64_t>(batch->size);
    (*r)->ReleaseBatch();
  }
  state.SetItemsProcessed(packets);
  state.counters["malformed"] = static_cast<double>((*r)->stats().malformed);
}

void BM_UdpRecv_RecvmmsgVxlan(benchmark::State& state) { RunReceiver<RecvmmsgReceiver>(state); }
void BM_UdpRecv_IoUringVxlan(benchmark::State& state) { RunReceiver<UringReceiver>(state); }

BENCHMARK(BM_UdpRecv_Baseline)->Arg(64)->Arg(512)->Arg(1400)->UseRealTime();
BENCHMARK(BM_UdpRecv_BaselineWaitForOne)->Arg(64)->Arg(512)->Arg(1400)->UseRealTime();
BENCHMARK(BM_UdpRecv_RecvmmsgVxlan)->Arg(64)->Arg(512)->Arg(1400)->UseRealTime();
BENCHMARK(BM_UdpRecv_IoUringVxlan)->Arg(64)->Arg(512)->Arg(1400)->UseRealTime();

}  // namespace
}  // namespace pktkit
