// plugins/zeek/udp/udp_source.cc — see udp_source.h.
#include "plugins/zeek/udp/udp_source.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "pktkit/io/recvmmsg_receiver.h"
#include "pktkit/io/udp_tunnel_source.h"
#include "pktkit/wire/decap.h"
#include "pktkit/wire/geneve.h"
#include "plugins/zeek/udp/pktkit_udp.bif.h"
#include "zeek/Reporter.h"

namespace plugin::PktKit_UDP {

namespace {

// The one pktkit_udp:: source of this process that is handing a packet to Zeek right now.
// Zeek processes one packet at a time on its main thread; CurrentMeta checks the packet's
// identity, so a packet from another source never sees our metadata.
UdpSource* g_active = nullptr;

constexpr const char* kPrefix = "pktkit_udp::";

// pktkit's grammar spells the prefix "udp::"; users wrote "pktkit_udp::".
std::string UserMessage(absl::string_view m) {
  return absl::StrReplaceAll(m, {{"'udp::", absl::StrCat("'", kPrefix)}});
}

}  // namespace

UdpSource::UdpSource(std::string path, absl::StatusOr<pktkit::InterfaceSpec> spec)
    : path_(std::move(path)), spec_(std::move(spec)) {}

UdpSource::~UdpSource() {
  if (g_active == this) g_active = nullptr;
}

zeek::iosource::PktSrc* UdpSource::Instantiate(const std::string& path, bool /*is_live*/) {
  return new UdpSource(path, pktkit::ParseInterfaceSpec(absl::StrCat("udp::", path)));
}

void UdpSource::Open() {
  if (!spec_.ok()) {
    Error(UserMessage(spec_.status().message()));
    return;
  }
  namespace opt = zeek::BifConst::PktKit::UDP;
  pktkit::UdpSocketOptions so;
  so.receive_buffer_bytes = static_cast<size_t>(opt::udp_recv_buffer_size);
  so.reuse_port = opt::reuse_port != 0;
  so.timestamps = opt::kernel_timestamps != 0;
  pktkit::UdpReceiverOptions ro;
  ro.batch_size = opt::recvmmsg_buffers > 0 ? static_cast<size_t>(opt::recvmmsg_buffers) : 1;
  ro.max_datagram = opt::recvmmsg_buffer_size > 0 ? static_cast<size_t>(opt::recvmmsg_buffer_size) : 9248;
  ro.uring_buffers = static_cast<size_t>(opt::io_uring_buffers);
  ro.decap = spec_->decap;
  ro.decap.accept_unknown_critical = opt::geneve_accept_unknown_critical != 0;
  const bool uring =
      opt::implementation->AsEnum() == zeek::BifEnum::PktKit::UDP::IO_URING;
  poll_interval_ = opt::poll_interval;

  std::string note;
  absl::StatusOr<std::unique_ptr<pktkit::UdpReceiver>> r = pktkit::OpenUdpReceiver(
      spec_->address, uring ? pktkit::UdpReceiverKind::kIoUring : pktkit::UdpReceiverKind::kRecvmmsg,
      so, ro, &note);
  if (!r.ok()) {
    Error(absl::StrCat(kPrefix, path_, ": ", r.status().message()));
    return;
  }
  receiver_ = std::move(*r);
  if (!note.empty()) zeek::reporter->Warning("%s%s: %s", kPrefix, path_.c_str(), note.c_str());

  Properties props;
  props.path = path_;
  props.is_live = true;
  props.netmask = NETMASK_UNKNOWN;
  // The source's link type is the inner one of raw/skip=N, Ethernet otherwise (GENEVE may
  // also carry raw IP: each zeek::Packet carries its own link type, and the capture filter is
  // compiled per link type).
  const pktkit::EncapMode mode = spec_->decap.mode;
  props.link_type = pktkit_zeek::ZeekLinkType(
      mode == pktkit::EncapMode::kRaw || mode == pktkit::EncapMode::kSkip ? spec_->decap.raw_link_type
                                                                         : pktkit::LinkType::kEthernet);
  props.selectable_fd = -1;
  if (auto* mm = dynamic_cast<pktkit::RecvmmsgReceiver*>(receiver_.get());
      mm != nullptr && opt::recvmmsg_use_selectable_fd != 0) {
    props.selectable_fd = mm->socket().fd();
    counters_->receive_buffer_bytes = mm->socket().receive_buffer_bytes();
    pollable_ = true;
  }
  counters_->live = &receiver_->stats();
  RegisterTelemetry();
  Opened(props);
  Info(absl::StrCat("listening on ", kPrefix, path_, " (", receiver_->backend(), ", ",
                    spec_->encap_name, ")"));
}

void UdpSource::RegisterTelemetry() {
  using pktkit_zeek::CallbackCounter;
  std::shared_ptr<SourceCounters> c = counters_;
  const std::string iface = absl::StrCat(kPrefix, path_);
  CallbackCounter("udp_datagrams", {{"interface", iface}}, "UDP datagrams read from the socket",
                  [c] { return static_cast<double>(c->stats().datagrams); });
  CallbackCounter("udp_bytes", {{"interface", iface}}, "UDP payload bytes read from the socket",
                  [c] { return static_cast<double>(c->stats().bytes); });
  CallbackCounter("udp_delivered", {{"interface", iface}}, "inner packets handed to Zeek",
                  [c] { return static_cast<double>(c->delivered); });
  CallbackCounter("udp_filtered", {{"interface", iface}},
                  "inner packets rejected by the capture filter",
                  [c] { return static_cast<double>(c->filtered); });
  CallbackCounter("udp_dropped", {{"interface", iface}, {"cause", "socket_overflow"}},
                  "datagrams lost before Zeek saw them, by cause",
                  [c] { return static_cast<double>(c->stats().socket_overflow); });
  CallbackCounter("udp_dropped", {{"interface", iface}, {"cause", "truncated"}},
                  "datagrams lost before Zeek saw them, by cause",
                  [c] { return static_cast<double>(c->stats().truncated); });
  CallbackCounter("udp_dropped", {{"interface", iface}, {"cause", "no_buffers"}},
                  "datagrams lost before Zeek saw them, by cause",
                  [c] { return static_cast<double>(c->stats().no_buffers); });
  for (size_t i = 1; i < static_cast<size_t>(pktkit::DecapError::kCount); ++i) {
    const char* cause = pktkit::DecapErrorName(static_cast<pktkit::DecapError>(i));
    CallbackCounter("udp_malformed", {{"interface", iface}, {"cause", cause}},
                    "datagrams that did not decapsulate, by cause",
                    [c, i] { return static_cast<double>(c->stats().malformed_by[i]); });
  }
  pktkit_zeek::CallbackGauge("udp_receive_buffer", {{"interface", iface}},
                             "socket receive buffer as the kernel reports it (bytes)",
                             [c] { return static_cast<double>(c->receive_buffer_bytes); });
}

void UdpSource::Close() {
  if (receiver_ != nullptr) {
    counters_->final_stats = receiver_->stats();
    counters_->live = nullptr;
    receiver_.reset();
  }
  if (g_active == this) g_active = nullptr;
  Closed();
}

bool UdpSource::ExtractNextPacket(zeek::Packet* pkt) {
  if (receiver_ == nullptr) return false;
  // At most one receive per call, so a stream the filter rejects cannot hold Zeek here.
  bool read = false;
  while (true) {
    if (next_ >= batch_.size) {
      if (read) return false;
      read = true;
      absl::StatusOr<pktkit::PacketBatch> b = receiver_->NextBatch(0);
      next_ = 0;
      batch_ = pktkit::PacketBatch();
      if (!b.ok()) {
        // A receive error is not fatal for a live tunnel endpoint: say so (rarely), go on.
        ++read_errors_;
        if ((read_errors_ & (read_errors_ - 1)) == 0) {  // 1st, 2nd, 4th, 8th, ...
          zeek::reporter->Warning("%s%s: %s (%lu so far)", kPrefix, path_.c_str(),
                                  std::string(b.status().message()).c_str(),
                                  static_cast<unsigned long>(read_errors_));
        }
        had_packet_ = false;
        return false;
      }
      batch_ = *b;
      if (batch_.empty()) {
        had_packet_ = false;
        return false;
      }
    }
    const pktkit::PacketView& v = batch_[next_++];
    if (!filters_.Matches(v)) {
      ++counters_->filtered;
      continue;
    }
    pktkit_zeek::ToZeekPacket(v, pkt);
    current_ = &v;
    current_pkt_ = pkt;
    g_active = this;
    ++counters_->delivered;
    bytes_ += v.wire_len;
    had_packet_ = true;
    return true;
  }
}

void UdpSource::DoneWithPacket() {
  current_ = nullptr;
  current_pkt_ = nullptr;
  if (g_active == this) g_active = nullptr;
}

bool UdpSource::PrecompileFilter(int index, const std::string& filter) {
  std::string error;
  if (filters_.Precompile(index, filter, &error)) return true;
  Error(absl::StrCat(kPrefix, path_, ": ", error));
  return false;
}

bool UdpSource::SetFilter(int index) {
  if (filters_.Select(index)) return true;
  Error(absl::StrCat(kPrefix, path_, ": no precompiled filter with index ", index));
  return false;
}

void UdpSource::Statistics(Stats* s) {
  const pktkit::UdpReceiverStats& st = counters_->stats();
  s->received = counters_->delivered;
  s->bytes_received = bytes_;
  s->filtered = counters_->filtered;
  // Everything that reached the socket (or would have, without the kernel's overflow drops)
  // and did not reach Zeek's analysis except what the capture filter rejected.
  s->dropped = st.socket_overflow + st.truncated + st.malformed + st.no_buffers;
  s->link = st.datagrams + st.socket_overflow + st.no_buffers;
}

double UdpSource::GetNextTimeout() {
  if (receiver_ == nullptr) return -1;
  if (had_packet_ || next_ < batch_.size) return 0;
  // recvmmsg with the socket registered: Zeek wakes us when it is readable.
  if (pollable_) return -1;
  return poll_interval_;
}

const pktkit::TunnelMeta* UdpSource::CurrentMeta(const zeek::Packet* pkt) {
  if (g_active == nullptr || g_active->current_ == nullptr) return nullptr;
  if (pkt == nullptr) pkt = g_active->current_pkt_;  // scripts: the packet being processed
  if (pkt != g_active->current_pkt_ || pkt->data != g_active->current_->data) return nullptr;
  return &g_active->current_->tunnel;
}

int64_t CurrentVni(bool outer) {
  const pktkit::TunnelMeta* m = UdpSource::CurrentMeta(nullptr);
  if (m == nullptr) return -1;
  const pktkit::OptionalVni& v = outer ? m->outer_vni : m->vni;
  return v.has_value() ? static_cast<int64_t>(v.value().value()) : -1;
}

namespace {
bool FindGeneveOption(uint64_t cls, uint64_t type, pktkit::ByteSpan* data) {
  const pktkit::TunnelMeta* m = UdpSource::CurrentMeta(nullptr);
  if (m == nullptr || m->geneve_options.size == 0) return false;
  pktkit::GeneveOption o;
  for (pktkit::GeneveOptionIterator it(m->geneve_options); !it.Done();) {
    if (it.Next(&o) != pktkit::GeneveError::kOk) return false;
    if (o.option_class == cls && o.type == type) {
      *data = o.data;
      return true;
    }
  }
  return false;
}
}  // namespace

zeek::ValPtr CurrentGeneveOption(uint64_t option_class, uint64_t option_type) {
  pktkit::ByteSpan d;
  if (!FindGeneveOption(option_class, option_type, &d)) return zeek::val_mgr->EmptyString();
  return zeek::make_intrusive<zeek::StringVal>(static_cast<int>(d.size),
                                               reinterpret_cast<const char*>(d.data));
}

int64_t CurrentGwlbFlowCookie() {
  pktkit::ByteSpan d;
  // Type 3 today; 0x83 if AWS ever marks it critical (see kGeneveAwsGwlbOptions).
  if ((!FindGeneveOption(pktkit::kGeneveClassAwsGwlb, 0x03, &d) &&
       !FindGeneveOption(pktkit::kGeneveClassAwsGwlb, 0x83, &d)) ||
      d.size < 4) {
    return -1;
  }
  return (int64_t{d.data[0]} << 24) | (int64_t{d.data[1]} << 16) | (int64_t{d.data[2]} << 8) |
         int64_t{d.data[3]};
}

}  // namespace plugin::PktKit_UDP
