// pktkit/io/af_packet.h — AfPacketSource: an AF_PACKET TPACKET_V3 capture socket and its
// mmap'd ring as a PacketSource, with fanout, an in-kernel BPF filter, hardware timestamps,
// statistics and recovery when the interface goes down or disappears.
//
//   pktkit::AfPacketConfig cfg;
//   cfg.interface = "eth0";
//   auto src = pktkit::AfPacketSource::Open(cfg);
//   if (!src.ok()) return src.status();   // names the interface and the failing call
//   while (running) {
//     auto batch = (*src)->NextBatch(/*timeout_ms=*/100);
//     if (!batch.ok()) return batch.status();
//     for (const pktkit::PacketView& p : *batch) Write(p);  // VLAN tags back in the bytes
//     (*src)->ReleaseBatch();
//   }
//
// Set-up order closes the usual races: the socket is created with protocol 0 (it receives
// nothing), the BPF filter and ring are installed, and only then is it bound to the interface
// and joined to the fanout group. The BPF program runs in the kernel (SO_ATTACH_FILTER):
// rejected packets never reach the ring. It is compiled by libpcap against a live handle on the
// interface where possible, so "vlan" filters use the kernel's VLAN metadata (the tag is
// stripped before BPF sees the bytes). When the socket reports an error (POLLERR: ENETDOWN when
// the interface goes down or is removed), the error is read (which clears it, so poll() does not
// spin), reported through the event callback, the socket is closed, and NextBatch re-opens it
// with exponential back-off once the interface is back and up. Not thread-safe: one thread per
// source (use fanout for more).
// References: Documentation/networking/packet_mmap.rst; packet(7); net/packet/af_packet.c
// (packet_notifier, fanout_add); Documentation/networking/timestamping.rst.
#ifndef PKTKIT_IO_AF_PACKET_H_
#define PKTKIT_IO_AF_PACKET_H_

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/mman.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/af_packet_config.h"
#include "pktkit/io/af_packet_socket.h"
#include "pktkit/io/clock.h"
#include "pktkit/io/netdev.h"
#include "pktkit/io/source.h"
#include "pktkit/io/tpacket_ring.h"

namespace pktkit {

struct AfPacketStats {
  uint64_t kernel_packets = 0;  // PACKET_STATISTICS tp_packets: passed the filter (drops incl.)
  uint64_t kernel_drops = 0;    // tp_drops: passed the filter but the ring was full
  uint64_t kernel_freezes = 0;  // tp_freeze_q_cnt: times the ring froze (TPACKET_V3)
  uint64_t interface_rx = 0;    // the interface's rx_packets since Open (all packets)
  uint64_t filtered = 0;        // approx. interface_rx - kernel_packets when a filter is set
  uint64_t link_down = 0;       // socket errors (interface down or removed)
  uint64_t reopens = 0;         // successful re-opens after that
  RingCounters ring;            // what the block walker saw (user space)
};

class AfPacketSource : public PacketSource {
 public:
  static constexpr size_t kMaxBatch = 256;
  // Called (on the reading thread) with a line saying the interface went away or came back.
  using EventFn = std::function<void(const std::string& message)>;

  // Opens the capture. Errors (message names the interface): NotFound for an unknown interface,
  // InvalidArgument for a bad filter or ring geometry, FailedPrecondition when the NIC cannot
  // timestamp in hardware or the fanout id is taken by another interface's group, and the errno
  // status of the failing call otherwise. An interface that is down is not an error.
  static absl::StatusOr<std::unique_ptr<AfPacketSource>> Open(const AfPacketConfig& config,
                                                              EventFn on_event = nullptr) {
    std::unique_ptr<AfPacketSource> s(new AfPacketSource(config, std::move(on_event)));
    absl::StatusOr<AfPacketSocket> sock = AfPacketSocket::Open(s->config_);
    if (!sock.ok()) return sock.status();
    s->Adopt(std::move(*sock));
    absl::StatusOr<uint32_t> rx = NetdevRxPackets(config.interface);
    s->rx_base_ = rx.ok() ? *rx : 0;
    return s;
  }

  ~AfPacketSource() override = default;

  absl::StatusOr<PacketBatch> NextBatch(int timeout_ms) override {
    if (batch_open_) ReleaseBatch();
    if (!sock_.is_open()) {
      MaybeReopen(timeout_ms);
      return PacketBatch{};
    }
    bool polled = false;
    while (true) {
      if (!in_block_) {
        uint8_t* block = sock_.block(cur_);
        if (BlockOwnedByUser(block)) {
          in_block_ = true;
          if (!walker_.Begin(block, sock_.block_bytes())) {
            FinishBlock();
            continue;
          }
        }
      }
      if (in_block_) {
        size_t n = 0;
        while (n < kMaxBatch && walker_.Next(&views_[n])) ++n;
        if (n == 0) {
          FinishBlock();
          continue;
        }
        batch_open_ = true;
        return PacketBatch{views_.data(), n};
      }
      if (polled) return PacketBatch{};  // woken without a block: let the caller decide
      pollfd p = {sock_.fd(), POLLIN | POLLERR, 0};
      const int r = poll(&p, 1, timeout_ms);
      if (r < 0) {
        if (errno == EINTR) return PacketBatch{};
        return absl::ErrnoToStatus(errno, absl::StrCat("poll on ", config_.interface));
      }
      if (r == 0) return PacketBatch{};
      if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
        HandleSocketError();
        return PacketBatch{};
      }
      polled = true;
    }
  }

  void ReleaseBatch() override {
    batch_open_ = false;
    if (in_block_ && walker_.packets_left() == 0) FinishBlock();
  }

  // Reads PACKET_STATISTICS (the kernel resets it on read; pktkit accumulates) and the
  // interface counter. Call from the reading thread.
  AfPacketStats Stats() {
    HarvestKernelStats();
    AfPacketStats s = stats_;
    s.ring = ring_counters_;
    s.interface_rx = rx_before_;
    if (sock_.is_open()) {  // while closed the interface may be gone or re-created (new counters)
      absl::StatusOr<uint32_t> rx = NetdevRxPackets(config_.interface);
      if (rx.ok()) s.interface_rx += static_cast<uint32_t>(*rx - rx_base_);
    }
    if (!config_.bpf.empty() && s.interface_rx > s.kernel_packets) {
      s.filtered = s.interface_rx - s.kernel_packets;
    }
    return s;
  }

  // For callers whose event loop reads SO_ERROR itself and so clears the error before
  // NextBatch can see it (libkqueue does on EPOLLERR; Zeek's main loop uses it): checks that
  // the interface the socket is bound to still exists under the same index and is up, and if
  // not handles it exactly like a socket error (event, close, re-open with back-off). True
  // while the capture is healthy. Costs an interface query: call it when idle, not per packet.
  bool CheckLink() {
    if (!sock_.is_open()) return false;
    absl::StatusOr<NetdevState> st = QueryNetdev(config_.interface);
    if (st.ok() && st->up && st->ifindex == bound_ifindex_) return true;
    HandleSocketError();
    return false;
  }

  bool is_open() const { return sock_.is_open(); }
  int fd() const { return sock_.fd(); }
  size_t block_bytes() const { return sock_.block_bytes(); }
  size_t block_count() const { return sock_.block_count(); }
  const AfPacketConfig& config() const { return config_; }
  // True when the in-kernel filter was compiled with the kernel's VLAN metadata in mind.
  bool vlan_aware_filter() const { return sock_.vlan_aware_filter(); }

 private:
  AfPacketSource(const AfPacketConfig& config, EventFn on_event)
      : config_(config),
        on_event_(std::move(on_event)),
        walker_(&ring_counters_),
        views_(kMaxBatch),
        backoff_ms_(config.reopen_initial_backoff_ms) {}

  void Adopt(AfPacketSocket sock) {
    sock_ = std::move(sock);
    absl::StatusOr<NetdevState> dev = QueryNetdev(config_.interface);
    bound_ifindex_ = dev.ok() ? dev->ifindex : 0;
    cur_ = 0;
    in_block_ = false;
    batch_open_ = false;
  }

  void FinishBlock() {
    ReturnBlockToKernel(sock_.block(cur_));
    cur_ = (cur_ + 1) % sock_.block_count();
    in_block_ = false;
  }

  void HarvestKernelStats() {
    if (!sock_.is_open()) return;
    tpacket_stats_v3 st = {};
    socklen_t len = sizeof st;
    if (getsockopt(sock_.fd(), SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
      stats_.kernel_packets += st.tp_packets;
      stats_.kernel_drops += st.tp_drops;
      stats_.kernel_freezes += st.tp_freeze_q_cnt;
    }
  }

  void Event(const std::string& message) {
    if (on_event_) on_event_(message);
  }

  // POLLERR: read SO_ERROR (clearing it is what keeps poll() from returning at once forever),
  // report, close, and schedule a re-open.
  void HandleSocketError() {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(sock_.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    ++stats_.link_down;
    HarvestKernelStats();
    absl::StatusOr<uint32_t> rx = NetdevRxPackets(config_.interface);
    if (rx.ok()) rx_before_ += static_cast<uint32_t>(*rx - rx_base_);
    Event(absl::StrCat(config_.interface,
                       ": capture socket error: ", std::strerror(err != 0 ? err : ENETDOWN),
                       " (interface down or removed); re-opening when it is back"));
    sock_ = AfPacketSocket();
    in_block_ = false;
    batch_open_ = false;
    backoff_ms_ = config_.reopen_initial_backoff_ms;
    next_reopen_ms_ = MonotonicMs() + backoff_ms_;
  }

  // Waits (at most timeout_ms) for the back-off to expire, then tries once to re-open.
  void MaybeReopen(int timeout_ms) {
    const int64_t now = MonotonicMs();
    if (now < next_reopen_ms_) {
      int64_t wait = next_reopen_ms_ - now;
      if (timeout_ms >= 0 && timeout_ms < wait) wait = timeout_ms;
      timespec ts = {static_cast<time_t>(wait / 1000), static_cast<long>(wait % 1000) * 1000000};
      nanosleep(&ts, nullptr);
      if (MonotonicMs() < next_reopen_ms_) return;
    }
    absl::StatusOr<NetdevState> st = QueryNetdev(config_.interface);
    absl::StatusOr<AfPacketSocket> sock = absl::UnavailableError("interface down");
    if (st.ok() && st->up) sock = AfPacketSocket::Open(config_);
    if (!sock.ok()) {
      backoff_ms_ = backoff_ms_ * 2 > config_.reopen_max_backoff_ms ? config_.reopen_max_backoff_ms
                                                                    : backoff_ms_ * 2;
      next_reopen_ms_ = MonotonicMs() + backoff_ms_;
      return;
    }
    Adopt(std::move(*sock));
    absl::StatusOr<uint32_t> rx = NetdevRxPackets(config_.interface);
    rx_base_ = rx.ok() ? *rx : 0;
    ++stats_.reopens;
    Event(absl::StrCat(config_.interface, ": capture re-opened"));
  }

  AfPacketConfig config_;
  EventFn on_event_;
  AfPacketSocket sock_;
  RingCounters ring_counters_;
  BlockWalker walker_;
  std::vector<PacketView> views_;
  size_t cur_ = 0;
  bool in_block_ = false;
  bool batch_open_ = false;
  AfPacketStats stats_;
  int bound_ifindex_ = 0;  // the interface index the open socket is bound to
  uint32_t rx_base_ = 0;
  uint64_t rx_before_ = 0;  // interface packets counted before the last re-open
  uint32_t backoff_ms_;
  int64_t next_reopen_ms_ = 0;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_AF_PACKET_H_
