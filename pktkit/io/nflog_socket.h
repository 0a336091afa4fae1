// pktkit/io/nflog_socket.h — reads netfilter NFLOG groups over raw netlink as packet views.
//
// One NETLINK_NETFILTER socket binds one or more NFLOG groups (nftables `log group N`,
// iptables `-j NFLOG --nflog-group N`), IPv4 and IPv6 alike. Each view's bytes are the NFLOG
// record (nfgenmsg + TLVs: exactly a LINKTYPE_NFLOG pcap record in host byte order), its
// link_type is LinkType::kNflog, and its timestamp is the kernel's NFULA_TIMESTAMP or, when the
// kernel gave none, the receive time (ts_source kUser). Parse the record with
// pktkit/wire/nflog.h (ParseNflog(view.bytes(), kHostTlvOrder, &rec)).
//
//   pktkit::NflogSocketOptions o;  o.groups = {5, 6};
//   auto sock = pktkit::NflogSocket::Open(o);
//   while (running) {
//     auto batch = (*sock)->NextBatch(100);
//     if (!batch.ok()) return batch.status();
//     for (const pktkit::PacketView& p : *batch) Send(p);
//     (*sock)->ReleaseBatch();
//   }
//
// Needs CAP_NET_ADMIN. Kernel overruns (ENOBUFS events, and the exact number of packets lost,
// from gaps in the per-group NFULA_SEQ numbers this socket turns on) and malformed records are
// counted in stats(), never fatal. Views stay valid until the next NextBatch()/ReleaseBatch().
// References: include/uapi/linux/netfilter/nfnetlink_log.h, net/netfilter/nfnetlink_log.c,
// libnetfilter_log's nflog_bind_group/nflog_set_mode (the same messages).
#ifndef PKTKIT_IO_NFLOG_SOCKET_H_
#define PKTKIT_IO_NFLOG_SOCKET_H_

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/clock.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/source.h"
#include "pktkit/wire/nflog.h"

namespace pktkit {

struct NflogSocketOptions {
  std::vector<uint16_t> groups;      // NFLOG groups to bind (at least one)
  uint32_t copy_range = 0xffff;      // payload bytes copied per packet (NFULNL_COPY_PACKET)
  uint32_t rcvbuf_bytes = 8u << 20;  // SO_RCVBUFFORCE (falls back to SO_RCVBUF)
  uint32_t nlbufsiz_bytes = 0;       // NFULA_CFG_NLBUFSIZ; 0 = kernel default
  uint32_t qthresh = 0;              // NFULA_CFG_QTHRESH (packets per message); 0 = default
  uint32_t timeout_cs = 0;           // NFULA_CFG_TIMEOUT (1/100 s flush); 0 = default
};

struct NflogSocketStats {
  uint64_t datagrams = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;                // NFLOG record bytes handed out
  uint64_t kernel_overruns = 0;      // ENOBUFS: the kernel dropped messages
  uint64_t kernel_lost_packets = 0;  // packets lost in the kernel, from NFULA_SEQ gaps
  uint64_t parse_errors[static_cast<size_t>(NflogError::kCount)] = {};  // by NflogError
  uint64_t bad_netlink = 0;          // malformed netlink framing
  uint64_t netlink_errors = 0;       // NLMSG_ERROR messages after set-up
  uint64_t no_kernel_timestamp = 0;  // receive time used instead
};

class NflogSocket : public PacketSource {
 public:
  static constexpr size_t kMaxBatch = 256;
  static constexpr size_t kBufferBytes = 4u << 20;
  static constexpr size_t kMaxDatagram = 256u << 10;

  static absl::StatusOr<std::unique_ptr<NflogSocket>> Open(const NflogSocketOptions& o) {
    if (o.groups.empty()) return absl::InvalidArgumentError("no NFLOG group given");
    const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) return absl::ErrnoToStatus(errno, "socket(AF_NETLINK, NETLINK_NETFILTER)");
    std::unique_ptr<NflogSocket> s(new NflogSocket(fd));
    s->opts_ = o;
    const int rcvbuf = static_cast<int>(o.rcvbuf_bytes);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) {
      return absl::ErrnoToStatus(errno, "setsockopt(SO_RCVBUF) on the NFLOG socket");
    }
    sockaddr_nl addr = {};
    addr.nl_family = AF_NETLINK;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return absl::ErrnoToStatus(errno, "bind(AF_NETLINK) for NFLOG");
    }
    // PF_BIND is needed by kernels before 3.17 and ignored by newer ones.
    for (uint8_t pf : {uint8_t{AF_INET}, uint8_t{AF_INET6}}) {
      s->Config(pf, 0, NFULNL_CFG_CMD_PF_BIND, o).IgnoreError();
    }
    for (uint16_t g : o.groups) {
      absl::Status st = s->Config(AF_UNSPEC, g, NFULNL_CFG_CMD_BIND, o);
      if (!st.ok()) return st;
    }
    return s;
  }

  ~NflogSocket() override {
    if (fd_ >= 0) close(fd_);
  }
  NflogSocket(const NflogSocket&) = delete;
  NflogSocket& operator=(const NflogSocket&) = delete;

  int fd() const { return fd_; }

  // Unbinds every group. The kernel flushes what it had queued for them first (a partly
  // filled message waiting for qthresh/timeout), so call this at shutdown, then read with
  // NextBatch(0) until it returns an empty batch: nothing logged before is lost.
  absl::Status UnbindAll() {
    absl::Status first;
    for (uint16_t g : opts_.groups) {
      absl::Status st = Config(AF_UNSPEC, g, NFULNL_CFG_CMD_UNBIND, opts_);
      if (first.ok()) first = st;
    }
    return first;
  }
  const NflogSocketStats& stats() const { return stats_; }

  // Waits up to timeout_ms (-1 forever, 0 not at all) for a datagram, then reads what is
  // queued, up to kMaxBatch packets. An empty batch means the wait timed out (or was
  // interrupted by a signal). Errors: only a failing recv() other than ENOBUFS/EINTR/EAGAIN.
  absl::StatusOr<PacketBatch> NextBatch(int timeout_ms) override {
    ReleaseBatch();
    // Datagrams read during set-up (packets that raced the acks) go first.
    while (!stash_.empty() && buf_.size() - used_ >= kMaxDatagram && n_ < kMaxBatch / 2) {
      std::memcpy(buf_.data() + used_, stash_.front().data(), stash_.front().size());
      ParseDatagram(stash_.front().size(), RealtimeNs());
      stash_.erase(stash_.begin());
    }
    if (n_ == 0) {
      pollfd pfd = {fd_, POLLIN, 0};
      const int rc = poll(&pfd, 1, timeout_ms);
      if (rc < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "poll(NFLOG socket)");
      if (rc <= 0) return PacketBatch{views_.data(), 0};
    }
    while (n_ < kMaxBatch && buf_.size() - used_ >= kMaxDatagram) {
      const ssize_t got = recv(fd_, buf_.data() + used_, kMaxDatagram, MSG_DONTWAIT);
      if (got < 0) {
        if (errno == ENOBUFS) {
          ++stats_.kernel_overruns;
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        return absl::ErrnoToStatus(errno, "recv(NFLOG socket)");
      }
      ParseDatagram(static_cast<size_t>(got), RealtimeNs());
    }
    return PacketBatch{views_.data(), n_};
  }

  void ReleaseBatch() override {
    n_ = 0;
    used_ = 0;
  }

 private:
  explicit NflogSocket(int fd) : fd_(fd), buf_(kBufferBytes) {}

  // Parses the datagram at buf_[used_], adds views, advances used_.
  void ParseDatagram(size_t len, int64_t now_ns) {
    ++stats_.datagrams;
    NetlinkMessageIterator it(ByteSpan(buf_.data() + used_, len));
    NetlinkMessage m;
    while (it.Next(&m)) {
      if (m.type == kNlmsgError) {
        int32_t err = 0;
        if (m.payload.size >= 4) std::memcpy(&err, m.payload.data, 4);
        if (err != 0) ++stats_.netlink_errors;  // 0 is an ack
        continue;
      }
      if (m.type != kNflogMsgPacket) continue;
      NflogRecord rec;
      const NflogError e = ParseNflog(m.payload, kHostTlvOrder, &rec);
      if (e != NflogError::kOk) {
        ++stats_.parse_errors[static_cast<size_t>(e)];
        continue;
      }
      // kMaxBatch is a soft limit checked between datagrams: a datagram's packets all fit.
      if (n_ == views_.size()) views_.resize(views_.size() * 2);
      PacketView& v = views_[n_++];
      v = PacketView();
      v.data = m.payload.data;
      v.caplen = v.wire_len = static_cast<uint32_t>(m.payload.size);
      v.link_type = LinkType::kNflog;
      v.ifindex = rec.indev != 0 ? rec.indev : rec.outdev;
      if (rec.has_timestamp) {
        v.timestamp_ns = rec.timestamp_ns();
        v.ts_source = TimestampSource::kKernel;
      } else {
        v.timestamp_ns = now_ns;
        v.ts_source = TimestampSource::kUser;
        ++stats_.no_kernel_timestamp;
      }
      ++stats_.packets;
      stats_.bytes += m.payload.size;
      if (rec.has_seq) CountSeq(rec.resource_id, rec.seq);
    }
    if (it.bad()) ++stats_.bad_netlink;
    used_ += (len + 7) & ~size_t{7};
  }

  void CountSeq(uint16_t group, uint32_t seq) {
    for (auto& gs : seqs_) {
      if (gs.group == group) {
        const uint32_t gap = seq - gs.next;                       // wraps correctly at 2^32
        if (gap < (1u << 31)) stats_.kernel_lost_packets += gap;  // else reordered: ignore
        gs.next = seq + 1;
        return;
      }
    }
    seqs_.push_back({group, seq + 1});  // the first packet seen: nothing known before
  }

  // Sends one NFULNL_MSG_CONFIG for `group` (command, then mode/tuning for BIND) and waits
  // for the kernel's ack; packet datagrams that arrive meanwhile are stashed.
  absl::Status Config(uint8_t family, uint16_t group, uint8_t cmd, const NflogSocketOptions& o) {
    std::vector<uint8_t> msg(sizeof(nlmsghdr) + sizeof(nfgenmsg), 0);
    auto attr = [&msg](uint16_t type, const void* v, size_t n) {
      nlattr a;
      a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + n);
      a.nla_type = type;
      const size_t at = msg.size();
      msg.resize(at + NLA_ALIGN(a.nla_len), 0);
      std::memcpy(msg.data() + at, &a, sizeof a);
      std::memcpy(msg.data() + at + NLA_HDRLEN, v, n);
    };
    nfulnl_msg_config_cmd c = {cmd};
    attr(NFULA_CFG_CMD, &c, sizeof c);
    if (cmd == NFULNL_CFG_CMD_BIND) {
      nfulnl_msg_config_mode mode = {};
      mode.copy_mode = NFULNL_COPY_PACKET;
      mode.copy_range = htonl(o.copy_range);
      attr(NFULA_CFG_MODE, &mode, sizeof mode);
      const uint32_t nlbuf = htonl(o.nlbufsiz_bytes), qt = htonl(o.qthresh),
                     to = htonl(o.timeout_cs);
      // Per-group sequence numbers: a gap is a packet the kernel could not deliver.
      const uint16_t flags = htons(NFULNL_CFG_F_SEQ);
      attr(NFULA_CFG_FLAGS, &flags, 2);
      if (o.nlbufsiz_bytes != 0) attr(NFULA_CFG_NLBUFSIZ, &nlbuf, 4);
      if (o.qthresh != 0) attr(NFULA_CFG_QTHRESH, &qt, 4);
      if (o.timeout_cs != 0) attr(NFULA_CFG_TIMEOUT, &to, 4);
    }
    nlmsghdr h = {};
    h.nlmsg_len = static_cast<uint32_t>(msg.size());
    h.nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
    h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    h.nlmsg_seq = ++seq_;
    std::memcpy(msg.data(), &h, sizeof h);
    nfgenmsg g = {};
    g.nfgen_family = family;
    g.version = NFNETLINK_V0;
    g.res_id = htons(group);
    std::memcpy(msg.data() + sizeof h, &g, sizeof g);
    const std::string what = absl::StrCat("NFLOG config command ", cmd, " for group ", group);
    if (send(fd_, msg.data(), msg.size(), 0) < 0) return absl::ErrnoToStatus(errno, what);
    std::vector<uint8_t> in(kMaxDatagram);
    for (int tries = 0; tries < 10000; ++tries) {
      pollfd pfd = {fd_, POLLIN, 0};
      if (poll(&pfd, 1, 2000) <= 0) return absl::DeadlineExceededError(what + ": no ack");
      const ssize_t got = recv(fd_, in.data(), in.size(), 0);
      if (got < 0) {
        if (errno == ENOBUFS || errno == EINTR) continue;
        return absl::ErrnoToStatus(errno, what);
      }
      NetlinkMessageIterator it(ByteSpan(in.data(), static_cast<size_t>(got)));
      NetlinkMessage m;
      bool has_packets = false;
      while (it.Next(&m)) {
        if (m.type == kNlmsgError && m.seq == seq_ && m.payload.size >= 4) {
          int32_t err;
          std::memcpy(&err, m.payload.data, 4);
          if (err != 0) return absl::ErrnoToStatus(-err, what);
          if (has_packets) stash_.emplace_back(in.begin(), in.begin() + got);
          return absl::OkStatus();
        }
        has_packets = has_packets || m.type == kNflogMsgPacket;
      }
      if (has_packets) stash_.emplace_back(in.begin(), in.begin() + got);
    }
    return absl::DeadlineExceededError(what + ": no ack");
  }

  int fd_;
  NflogSocketOptions opts_;
  uint32_t seq_ = 0;
  std::vector<uint8_t> buf_;
  size_t used_ = 0;
  std::vector<PacketView> views_ = std::vector<PacketView>(2 * kMaxBatch);
  size_t n_ = 0;
  std::vector<std::vector<uint8_t>> stash_;
  NflogSocketStats stats_;
  struct GroupSeq {
    uint16_t group;
    uint32_t next;
  };
  std::vector<GroupSeq> seqs_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_NFLOG_SOCKET_H_
