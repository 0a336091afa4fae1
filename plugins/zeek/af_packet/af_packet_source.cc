// plugins/zeek/af_packet/af_packet_source.cc — see af_packet_source.h.
#include "plugins/zeek/af_packet/af_packet_source.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "pktkit/io/bpf.h"
#include "pktkit/io/clock.h"
#include "plugins/zeek/af_packet/pktkit_af_packet.bif.h"
#include "zeek/Reporter.h"
#include "zeek/RunState.h"
#include "zeek/iosource/Manager.h"

namespace plugin::PktKit_AF_Packet {

namespace {

constexpr const char* kPrefix = "pktkit_af_packet::";
namespace opt = zeek::BifConst::PktKit::AF_Packet;

// pktkit's grammar spells the prefix "af_packet::"; users wrote "pktkit_af_packet::".
std::string UserMessage(absl::string_view m) {
  return absl::StrReplaceAll(m, {{"'af_packet::", absl::StrCat("'", kPrefix)}});
}

// Once-a-second housekeeping: the coarse clock is enough and costs no system call.
int64_t CoarseMs() { return pktkit::ClockNs(CLOCK_MONOTONIC_COARSE) / 1000000; }

double WallSeconds() { return static_cast<double>(pktkit::RealtimeNs()) / 1e9; }

bool IsLoopback(const std::string& iface) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq ifr = {};
  std::strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  const bool lo = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_LOOPBACK) != 0;
  close(fd);
  return lo;
}

// The smallest power-of-two block (page multiple) holding one frame of the interface's MTU
// plus two VLAN tags, or a 64 KiB GRO/LRO frame, plus the kernel's per-packet headers.
size_t NeededBlockBytes(const std::string& iface) {
  absl::StatusOr<pktkit::NetdevState> dev = pktkit::QueryNetdev(iface);
  size_t frame = size_t{64} << 10;
  if (dev.ok() && size_t{dev->mtu} + 14 + 8 > frame) frame = size_t{dev->mtu} + 14 + 8;
  const size_t need = frame + 256;  // block descriptor, tpacket3_hdr, sockaddr_ll, reserve
  size_t block = pktkit::PageBytes();
  while (block < need) block <<= 1;
  return block;
}

// bpf(BPF_OBJ_GET): <linux/bpf.h> cannot be included beside libpcap's <pcap/bpf.h> (both
// define struct bpf_insn), so the command's attribute layout is spelled out here.
constexpr int kBpfObjGet = 7;  // enum bpf_cmd BPF_OBJ_GET
struct BpfObjGetAttr {
  uint64_t pathname;
  uint32_t bpf_fd;
  uint32_t file_flags;
};

absl::StatusOr<int> OpenPinnedBpf(const std::string& path) {
  BpfObjGetAttr attr = {};
  attr.pathname = reinterpret_cast<uint64_t>(path.c_str());
  const long fd = syscall(__NR_bpf, kBpfObjGet, &attr, sizeof attr);
  if (fd < 0) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("fanout_ebpf_pinned_path '", path, "': bpf(BPF_OBJ_GET)"));
  }
  return static_cast<int>(fd);
}

}  // namespace

absl::StatusOr<std::vector<sock_filter>> ParseCbpfProgram(const std::string& text) {
  std::vector<std::string> parts =
      absl::StrSplit(text, absl::ByAnyChar(",\n"), absl::SkipWhitespace());
  auto bad = [&](absl::string_view tok) {
    return absl::InvalidArgumentError(
        absl::StrCat("fanout_cbpf_program: bad token '", tok,
                     "' (want `tcpdump -ddd` output: N,code jt jf k,...)"));
  };
  if (parts.empty()) return bad(text);
  uint32_t n = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(parts[0]), &n) || n == 0 || n > 4096 ||
      n != parts.size() - 1) {
    return bad(parts[0]);
  }
  std::vector<sock_filter> prog;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::vector<absl::string_view> f = absl::StrSplit(parts[i], ' ', absl::SkipEmpty());
    uint32_t code = 0, jt = 0, jf = 0, k = 0;
    if (f.size() != 4 || !absl::SimpleAtoi(f[0], &code) || code > 0xffff ||
        !absl::SimpleAtoi(f[1], &jt) || jt > 0xff || !absl::SimpleAtoi(f[2], &jf) || jf > 0xff ||
        !absl::SimpleAtoi(f[3], &k)) {
      return bad(parts[i]);
    }
    prog.push_back(sock_filter{static_cast<uint16_t>(code), static_cast<uint8_t>(jt),
                               static_cast<uint8_t>(jf), k});
  }
  return prog;
}

AfPacketPktSrc::AfPacketPktSrc(std::string path, absl::StatusOr<pktkit::InterfaceSpec> spec,
                               bool is_live)
    : path_(std::move(path)), spec_(std::move(spec)), is_live_(is_live) {}

AfPacketPktSrc::~AfPacketPktSrc() {
  if (cfg_.fanout.ebpf_fd >= 0) close(cfg_.fanout.ebpf_fd);
}

zeek::iosource::PktSrc* AfPacketPktSrc::Instantiate(const std::string& path, bool is_live) {
  return new AfPacketPktSrc(path, pktkit::ParseInterfaceSpec(absl::StrCat("af_packet::", path)),
                            is_live);
}

absl::StatusOr<pktkit::AfPacketConfig> AfPacketPktSrc::ConfigFromOptions(const std::string& iface) {
  pktkit::AfPacketConfig c;
  c.interface = iface;
  c.buffer_bytes = static_cast<size_t>(opt::buffer_size);
  c.block_bytes = static_cast<size_t>(opt::block_size);
  c.block_timeout_ms = static_cast<uint32_t>(opt::block_timeout * 1000.0 + 0.5);
  c.hardware_timestamps = opt::enable_hw_timestamping != 0;
  c.promiscuous = opt::promiscuous != 0;
  c.ignore_outgoing = opt::ignore_outgoing != 0;
  c.reopen_initial_backoff_ms = static_cast<uint32_t>(opt::link_retry_initial * 1000.0 + 0.5);
  c.reopen_max_backoff_ms = static_cast<uint32_t>(opt::link_retry_max * 1000.0 + 0.5);
  if (c.reopen_initial_backoff_ms == 0) c.reopen_initial_backoff_ms = 1;
  if (c.reopen_max_backoff_ms < c.reopen_initial_backoff_ms) {
    c.reopen_max_backoff_ms = c.reopen_initial_backoff_ms;
  }
  if (opt::loopback_dedup != 0 && !c.ignore_outgoing && IsLoopback(iface)) {
    // The kernel hands an AF_PACKET socket on lo each packet twice (outgoing and incoming).
    c.ignore_outgoing = true;
    Info(absl::StrCat(kPrefix, iface,
                      ": loopback interface, capturing each packet once "
                      "(PACKET_IGNORE_OUTGOING; PktKit::AF_Packet::loopback_dedup)"));
  }
  const size_t need = NeededBlockBytes(iface);
  if (c.block_bytes < need) {
    if (opt::auto_block_size != 0) {
      c.block_bytes = need;
    } else {
      zeek::reporter->Warning(
          "%s%s: block_size %zu is smaller than the largest frame the interface can deliver "
          "(needs %zu bytes): the kernel will cut such frames short. Set "
          "PktKit::AF_Packet::block_size >= %zu or PktKit::AF_Packet::auto_block_size = T",
          kPrefix, iface.c_str(), c.block_bytes, need, need);
    }
  }
  if (c.buffer_bytes < c.block_bytes) c.buffer_bytes = c.block_bytes;
  if (opt::enable_fanout != 0) {
    if (opt::fanout_id > 0xffff) {
      return absl::InvalidArgumentError(
          absl::StrCat("PktKit::AF_Packet::fanout_id ", opt::fanout_id, " is not in 0..65535"));
    }
    c.fanout.group_id = static_cast<uint16_t>(opt::fanout_id);
    c.fanout.defrag = opt::enable_defrag != 0;
    c.fanout.rollover = opt::enable_fanout_rollover != 0;
    namespace e = zeek::BifEnum::PktKit::AF_Packet;
    switch (opt::fanout_mode->AsEnum()) {
      case e::FANOUT_CPU:
        c.fanout.mode = pktkit::FanoutMode::kCpu;
        break;
      case e::FANOUT_QM:
        c.fanout.mode = pktkit::FanoutMode::kQm;
        break;
      case e::FANOUT_CBPF: {
        c.fanout.mode = pktkit::FanoutMode::kCbpf;
        absl::StatusOr<std::vector<sock_filter>> p =
            ParseCbpfProgram(opt::fanout_cbpf_program->ToStdString());
        if (!p.ok()) return p.status();
        c.fanout.cbpf_program = std::move(*p);
        break;
      }
      case e::FANOUT_EBPF: {
        c.fanout.mode = pktkit::FanoutMode::kEbpf;
        const std::string pin = opt::fanout_ebpf_pinned_path->ToStdString();
        if (pin.empty()) {
          return absl::InvalidArgumentError(
              "FANOUT_EBPF needs PktKit::AF_Packet::fanout_ebpf_pinned_path (a pinned "
              "socket-filter program)");
        }
        absl::StatusOr<int> fd = OpenPinnedBpf(pin);
        if (!fd.ok()) return fd.status();
        c.fanout.ebpf_fd = *fd;
        break;
      }
      case e::FANOUT_LB:
        c.fanout.mode = pktkit::FanoutMode::kLb;
        break;
      case e::FANOUT_RND:
        c.fanout.mode = pktkit::FanoutMode::kRandom;
        break;
      case e::FANOUT_ROLLOVER:
        c.fanout.mode = pktkit::FanoutMode::kRollover;
        break;
      case e::FANOUT_HASH:
      default:
        c.fanout.mode = pktkit::FanoutMode::kHash;
        break;
    }
  }
  return c;
}

absl::Status AfPacketPktSrc::OpenCore(const pktkit::AfPacketConfig& cfg) {
  pktkit::AfPacketConfig c = cfg;
  auto on_event = [this](const std::string& m) { OnEvent(m); };
  absl::StatusOr<std::unique_ptr<pktkit::AfPacketSource>> s =
      pktkit::AfPacketSource::Open(c, on_event);
  if (!s.ok() && c.hardware_timestamps && absl::IsFailedPrecondition(s.status()) &&
      absl::StrContains(s.status().message(), "hardware") && opt::hw_timestamp_fallback != 0) {
    zeek::reporter->Warning(
        "%s%s: %s; falling back to kernel (software) timestamps "
        "(PktKit::AF_Packet::hw_timestamp_fallback = F makes this an error)",
        kPrefix, path_.c_str(), std::string(s.status().message()).c_str());
    counters_->hw_fallback = true;
    c.hardware_timestamps = false;
    s = pktkit::AfPacketSource::Open(c, on_event);
  }
  if (!s.ok()) return s.status();
  // Swap in the new capture; the old one (a filter change) stops receiving when destroyed.
  if (registered_fd_ >= 0) {
    zeek::iosource_mgr->UnregisterFd(registered_fd_, this);
    registered_fd_ = -1;
  }
  if (src_ != nullptr) {
    const pktkit::AfPacketStats old = src_->Stats();
    counters_->stats = old;
  }
  batch_ = pktkit::PacketBatch();
  next_ = 0;
  src_ = std::move(*s);
  cfg_ = c;
  counters_->block_bytes = src_->block_bytes();
  counters_->block_count = src_->block_count();
  SyncFd();
  return absl::OkStatus();
}

// Keeps Zeek's poll loop watching the capture socket of the moment: unregistered while the
// socket is still open when it fails (the core reports before closing it), registered again
// once the core re-opened it.
void AfPacketPktSrc::SyncFd() {
  const int fd = src_ != nullptr && src_->is_open() ? src_->fd() : -1;
  if (fd == registered_fd_) return;
  if (registered_fd_ >= 0) zeek::iosource_mgr->UnregisterFd(registered_fd_, this);
  registered_fd_ = -1;
  if (fd >= 0 && IsOpen() && zeek::iosource_mgr->RegisterFd(fd, this)) registered_fd_ = fd;
}

void AfPacketPktSrc::OnEvent(const std::string& message) {
  if (registered_fd_ >= 0) {
    // The socket failed and is about to be closed: stop polling it now.
    zeek::iosource_mgr->UnregisterFd(registered_fd_, this);
    registered_fd_ = -1;
    if (!link_down_) {
      link_down_ = true;
      down_since_ = WallSeconds();
      ++counters_->link_gaps;
      zeek::reporter->Warning("%s%s: %s", kPrefix, path_.c_str(),
                              absl::StrReplaceAll(message, {{cfg_.interface + ": ", ""}}).c_str());
    }
    return;
  }
  // Re-opened: src_ already holds the new socket.
  if (link_down_) {
    link_down_ = false;
    zeek::reporter->Warning("%s%s: capture re-opened; no packets were captured for %.1f s", kPrefix,
                            path_.c_str(), WallSeconds() - down_since_);
  }
  if (src_ != nullptr && src_->is_open() && IsOpen() &&
      zeek::iosource_mgr->RegisterFd(src_->fd(), this)) {
    registered_fd_ = src_->fd();
  }
}

void AfPacketPktSrc::Open() {
  if (!spec_.ok()) {
    Error(UserMessage(spec_.status().message()));
    return;
  }
  if (!is_live_) {
    Error(absl::StrCat(kPrefix, path_, ": an AF_PACKET source reads a live interface only"));
    return;
  }
  link_type_ = static_cast<int>(opt::link_type);
  checksum_mode_ = opt::checksum_validation_mode->AsEnum();
  want_hw_ts_ = opt::enable_hw_timestamping != 0;
  use_user_filter_ = opt::kernel_filter == 0;
  absl::StatusOr<pktkit::AfPacketConfig> cfg = ConfigFromOptions(spec_->iface);
  if (!cfg.ok()) {
    Error(absl::StrCat(kPrefix, path_, ": ", cfg.status().message()));
    return;
  }
  absl::Status st = OpenCore(*cfg);
  if (!st.ok()) {
    Error(absl::StrCat(kPrefix, path_, ": ", UserMessage(st.message())));
    return;
  }
  RegisterTelemetry();
  Properties props;
  props.path = path_;
  props.is_live = true;
  props.netmask = NETMASK_UNKNOWN;
  props.link_type = link_type_;
  // The socket is registered with Zeek's poll loop by SyncFd (it changes after a re-open), not
  // through props: Closed() would otherwise unregister a stale descriptor.
  props.selectable_fd = -1;
  Opened(props);
  SyncFd();
  Info(absl::StrCat("capturing on ", kPrefix, path_, " (ring ", src_->block_count(), " x ",
                    src_->block_bytes(), " bytes",
                    cfg_.fanout.mode != pktkit::FanoutMode::kNone
                        ? absl::StrCat(", fanout ", pktkit::FanoutModeName(cfg_.fanout.mode), ":",
                                       cfg_.fanout.group_id)
                        : std::string(),
                    cfg_.ignore_outgoing ? ", outgoing ignored" : "",
                    cfg_.hardware_timestamps ? ", hardware timestamps" : "", ")"));
}

void AfPacketPktSrc::RegisterTelemetry() {
  using pktkit_zeek::CallbackCounter;
  using pktkit_zeek::CallbackGauge;
  std::shared_ptr<SourceCounters> c = counters_;
  const std::string iface = absl::StrCat(kPrefix, path_);
  CallbackCounter("af_packet_delivered", {{"interface", iface}}, "packets handed to Zeek",
                  [c] { return static_cast<double>(c->delivered); });
  CallbackCounter("af_packet_kernel_packets", {{"interface", iface}},
                  "packets that passed the kernel filter (PACKET_STATISTICS tp_packets)",
                  [c] { return static_cast<double>(c->stats.kernel_packets); });
  CallbackCounter("af_packet_dropped", {{"interface", iface}, {"cause", "ring_full"}},
                  "packets lost before Zeek saw them, by cause",
                  [c] { return static_cast<double>(c->stats.kernel_drops); });
  CallbackCounter("af_packet_dropped", {{"interface", iface}, {"cause", "corrupt_block"}},
                  "packets lost before Zeek saw them, by cause",
                  [c] { return static_cast<double>(c->stats.ring.packets_skipped); });
  CallbackCounter("af_packet_freezes", {{"interface", iface}},
                  "times the ring froze because every block was full (tp_freeze_q_cnt)",
                  [c] { return static_cast<double>(c->stats.kernel_freezes); });
  CallbackCounter("af_packet_filtered", {{"interface", iface}},
                  "packets the capture filter rejected (kernel and user space)",
                  [c] { return static_cast<double>(c->stats.filtered + c->user_filtered); });
  CallbackCounter("af_packet_vlan_reinserted", {{"interface", iface}},
                  "VLAN tags the kernel stripped and pktkit put back into the frame",
                  [c] { return static_cast<double>(c->stats.ring.vlan_reinserted); });
  CallbackCounter("af_packet_snapped", {{"interface", iface}},
                  "frames cut short by the kernel (block or snap length too small)",
                  [c] { return static_cast<double>(c->stats.ring.snapped); });
  CallbackCounter("af_packet_block_seq_gaps", {{"interface", iface}},
                  "ring blocks missing from the sequence",
                  [c] { return static_cast<double>(c->stats.ring.seq_gaps); });
  CallbackCounter("af_packet_link_down", {{"interface", iface}},
                  "times the interface went down or away",
                  [c] { return static_cast<double>(c->stats.link_down); });
  CallbackCounter("af_packet_reopens", {{"interface", iface}},
                  "successful re-opens after the interface came back",
                  [c] { return static_cast<double>(c->stats.reopens); });
  CallbackCounter("af_packet_software_timestamps", {{"interface", iface}},
                  "packets with a software timestamp although hardware ones were requested",
                  [c] { return static_cast<double>(c->software_ts); });
  for (size_t i = 1; i < static_cast<size_t>(pktkit::RingError::kCount); ++i) {
    CallbackCounter(
        "af_packet_ring_errors",
        {{"interface", iface}, {"cause", pktkit::RingErrorName(static_cast<pktkit::RingError>(i))}},
        "ring blocks or packets rejected by the walker, by cause",
        [c, i] { return static_cast<double>(c->stats.ring.errors[i]); });
  }
  CallbackGauge("af_packet_ring_bytes", {{"interface", iface}}, "ring size (bytes)",
                [c] { return static_cast<double>(c->block_bytes * c->block_count); });
  CallbackGauge("af_packet_hw_timestamp_fallback", {{"interface", iface}},
                "1 when hardware timestamps were requested but the NIC could not provide them",
                [c] { return c->hw_fallback ? 1.0 : 0.0; });
}

void AfPacketPktSrc::RefreshCounters() {
  if (src_ != nullptr) counters_->stats = src_->Stats();
  next_refresh_ms_ = CoarseMs() + 1000;
}

void AfPacketPktSrc::Close() {
  if (src_ != nullptr) {
    RefreshCounters();
    if (registered_fd_ >= 0) zeek::iosource_mgr->UnregisterFd(registered_fd_, this);
    registered_fd_ = -1;
    src_.reset();
  }
  batch_ = pktkit::PacketBatch();
  next_ = 0;
  Closed();
}

bool AfPacketPktSrc::ExtractNextPacket(zeek::Packet* pkt) {
  if (src_ == nullptr) return false;
  bool read = false;
  while (true) {
    if (next_ >= batch_.size) {
      // At most one read per call, so a stream the filter rejects cannot hold Zeek here.
      if (read) {
        had_packet_ = false;
        return false;
      }
      read = true;
      if (CoarseMs() >= next_refresh_ms_) RefreshCounters();
      next_ = 0;
      batch_ = pktkit::PacketBatch();
      absl::StatusOr<pktkit::PacketBatch> b = src_->NextBatch(0);
      if (!b.ok()) {
        ++read_errors_;
        if ((read_errors_ & (read_errors_ - 1)) == 0) {  // 1st, 2nd, 4th, ...: no storm
          zeek::reporter->Warning("%s%s: %s (%lu so far)", kPrefix, path_.c_str(),
                                  std::string(b.status().message()).c_str(),
                                  static_cast<unsigned long>(read_errors_));
        }
        had_packet_ = false;
        return false;
      }
      batch_ = *b;
      if (batch_.empty()) {
        // Zeek's poll loop (libkqueue) reads SO_ERROR on EPOLLERR, so the core never sees the
        // error of a vanished interface: look at the interface itself now and then when idle.
        const int64_t now = CoarseMs();
        if (now >= next_link_check_ms_) {
          next_link_check_ms_ = now + 250;
          src_->CheckLink();
        }
        had_packet_ = false;
        return false;
      }
    }
    const pktkit::PacketView& v = batch_[next_++];
    if (use_user_filter_ && !user_filters_.Matches(v)) {
      ++counters_->user_filtered;
      continue;
    }
    pkt_timeval ts;
    ts.tv_sec = static_cast<time_t>(v.timestamp_ns / 1000000000);
    ts.tv_usec = static_cast<suseconds_t>((v.timestamp_ns % 1000000000) / 1000);
    pkt->Init(link_type_, &ts, v.caplen, v.wire_len, v.data);
    // Tags are normally back in the bytes, where Zeek's VLAN analyzer fills vlan/inner_vlan
    // (with PCP and DEI). Only when the walker could not reinsert one is it set here.
    if (v.vlan_count > 0) {
      const uint16_t tci = v.vlan[0].tci;
      pkt->vlan = zeek::Packet::VlanTag{static_cast<uint16_t>(tci & 0x0fff),
                                        static_cast<uint8_t>(tci >> 13), (tci & 0x1000) != 0};
    }
    namespace e = zeek::BifEnum::PktKit::AF_Packet;
    if (checksum_mode_ == e::CHECKSUM_OFF) {
      pkt->l4_checksummed = true;
    } else if (checksum_mode_ == e::CHECKSUM_KERNEL) {
      pkt->l4_checksummed = v.checksum != pktkit::ChecksumStatus::kUnknown;
    } else {
      pkt->l4_checksummed = false;
    }
    if (want_hw_ts_ && v.ts_source != pktkit::TimestampSource::kHardware) {
      if (counters_->software_ts++ == 0 && !counters_->hw_fallback) {
        zeek::reporter->Warning(
            "%s%s: hardware timestamps were enabled but packets carry software ones (counted in "
            "pktkit_af_packet_software_timestamps)",
            kPrefix, path_.c_str());
      }
    }
    ++counters_->delivered;
    bytes_ += v.wire_len;
    had_packet_ = true;
    return true;
  }
}

void AfPacketPktSrc::DoneWithPacket() {}

bool AfPacketPktSrc::PrecompileFilter(int index, const std::string& filter) {
  if (index < 0) return false;
  // Validate now (the message names the expression); the kernel program is compiled on
  // SetFilter against a live handle on the interface.
  absl::StatusOr<pktkit::BpfFilter> f =
      pktkit::BpfFilter::Compile(filter, pktkit::LinkType::kEthernet);
  if (!f.ok()) {
    Error(absl::StrCat(kPrefix, path_, ": ", f.status().message()));
    return false;
  }
  if (static_cast<size_t>(index) >= filter_exprs_.size()) filter_exprs_.resize(index + 1);
  filter_exprs_[static_cast<size_t>(index)] = filter;
  if (use_user_filter_) {
    std::string error;
    if (!user_filters_.Precompile(index, filter, &error)) {
      Error(absl::StrCat(kPrefix, path_, ": ", error));
      return false;
    }
  }
  return true;
}

bool AfPacketPktSrc::SetFilter(int index) {
  if (index < 0 || static_cast<size_t>(index) >= filter_exprs_.size()) {
    Error(absl::StrCat(kPrefix, path_, ": no precompiled filter with index ", index));
    return false;
  }
  std::string expr = filter_exprs_[static_cast<size_t>(index)];
  // Zeek's default capture filter matches everything: no kernel program, no re-open.
  if (expr == "ip or not ip") expr.clear();
  if (use_user_filter_) {
    if (expr.empty()) return true;
    return user_filters_.Select(index);
  }
  if (src_ == nullptr || expr == cfg_.bpf) return true;
  // A new socket with the program attached before it is bound: no unfiltered packet reaches
  // its ring. Packets still in the old ring are dropped with it.
  pktkit::AfPacketConfig c = cfg_;
  c.bpf = expr;
  absl::Status st = OpenCore(c);
  if (!st.ok()) {
    Error(absl::StrCat(kPrefix, path_, ": ", UserMessage(st.message())));
    return false;
  }
  Info(absl::StrCat(kPrefix, path_, ": capture filter '", expr, "' runs in the kernel",
                    src_->vlan_aware_filter() ? " (VLAN-aware)" : ""));
  return true;
}

void AfPacketPktSrc::Statistics(Stats* s) {
  RefreshCounters();
  const pktkit::AfPacketStats& st = counters_->stats;
  s->received = counters_->delivered;
  s->bytes_received = bytes_;
  s->dropped = st.kernel_drops + st.ring.packets_skipped;
  const uint64_t filtered = st.filtered + counters_->user_filtered;
  s->link = st.kernel_packets + st.filtered;
  s->filtered = filtered;
}

double AfPacketPktSrc::GetNextTimeout() {
  if (src_ == nullptr) return -1;
  if (had_packet_ || next_ < batch_.size) return 0;
  if (!src_->is_open()) return cfg_.reopen_initial_backoff_ms / 1000.0;  // re-open pending
  // Blocks retire after block_timeout; Zeek wakes us on POLLIN. Come back now and then anyway
  // for the counters.
  return registered_fd_ >= 0 ? 1.0 : cfg_.block_timeout_ms / 1000.0;
}

}  // namespace plugin::PktKit_AF_Packet
