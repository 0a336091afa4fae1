// plugins/zeek/common/packet_glue.h — what every pktkit Zeek packet source shares: a pktkit
// PacketView turned into a zeek::Packet (link type, timestamp; no copy), capture filters
// compiled per inner link type (a tunnel can carry Ethernet and raw IP in one stream), and
// telemetry counters that read the source's own counters when Zeek collects them (nothing on
// the packet path).
//
//   plugin::pktkit_zeek::InnerFilters filters;
//   if (!filters.Precompile(index, "tcp port 80", &error)) Error(error);    // names the expression
//   if (!filters.Matches(view)) { ++filtered; continue; }
//   plugin::pktkit_zeek::ToZeekPacket(view, pkt);
//
// References: Zeek iosource::PktSrc, Zeek telemetry::Manager, pcap-filter(7).
#ifndef PLUGINS_ZEEK_COMMON_PACKET_GLUE_H_
#define PLUGINS_ZEEK_COMMON_PACKET_GLUE_H_

#include <pcap/dlt.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pktkit/io/bpf.h"
#include "pktkit/io/packet.h"
#include "pktkit/wire/link_type.h"
#include "zeek/iosource/Packet.h"
#include "zeek/telemetry/Counter.h"
#include "zeek/telemetry/Gauge.h"
#include "zeek/telemetry/Manager.h"

namespace plugin::pktkit_zeek {

// Zeek's packet analysis dispatches on libpcap DLT values (DLT_RAW goes to its IP analyzer).
inline int ZeekLinkType(pktkit::LinkType lt) {
  switch (lt) {
    case pktkit::LinkType::kEthernet:
      return DLT_EN10MB;
    case pktkit::LinkType::kRaw:
      return DLT_RAW;
    case pktkit::LinkType::kPpp:
      return DLT_PPP;
    default:
      return static_cast<int>(lt);
  }
}

// Fills *pkt from a view without copying: the bytes stay in the source's buffer until the
// source's DoneWithPacket.
inline void ToZeekPacket(const pktkit::PacketView& v, zeek::Packet* pkt) {
  pkt_timeval ts;
  ts.tv_sec = static_cast<time_t>(v.timestamp_ns / 1000000000);
  ts.tv_usec = static_cast<suseconds_t>((v.timestamp_ns % 1000000000) / 1000);
  pkt->Init(ZeekLinkType(v.link_type), &ts, v.caplen, v.wire_len, v.data);
}

// Zeek's capture filters (`zeek -f`, capture_filters, PacketFilter::install) applied to the
// INNER packet, compiled lazily for each link type the tunnel delivers.
class InnerFilters {
 public:
  // Compiles `expr` for Ethernet (the common case) to validate it now; other link types are
  // compiled on first use. False with *error set (naming the expression) when it is invalid.
  bool Precompile(int index, const std::string& expr, std::string* error) {
    if (index < 0) return false;
    absl::StatusOr<pktkit::BpfFilter> f = pktkit::BpfFilter::Compile(expr, pktkit::LinkType::kEthernet);
    if (!f.ok()) {
      *error = std::string(f.status().message());
      return false;
    }
    if (static_cast<size_t>(index) >= sets_.size()) sets_.resize(static_cast<size_t>(index) + 1);
    Set& s = sets_[static_cast<size_t>(index)];
    s = Set();
    s.expr = expr;
    s.by_link.emplace(pktkit::LinkType::kEthernet, std::move(*f));
    return true;
  }

  // Selects a precompiled filter; false when `index` was never precompiled.
  bool Select(int index) {
    if (index < 0 || static_cast<size_t>(index) >= sets_.size() || !sets_[index].expr) return false;
    active_ = index;
    return true;
  }

  bool active() const { return active_ >= 0; }

  // True when no filter is selected or the packet passes it. A filter that does not compile
  // for a link type (for example an `ether` primitive on raw IP) matches nothing there.
  bool Matches(const pktkit::PacketView& v) {
    if (active_ < 0) return true;
    Set& s = sets_[static_cast<size_t>(active_)];
    auto it = s.by_link.find(v.link_type);
    if (it == s.by_link.end()) {
      absl::StatusOr<pktkit::BpfFilter> f = pktkit::BpfFilter::Compile(*s.expr, v.link_type);
      if (!f.ok()) {
        s.failed_links.push_back(v.link_type);
        it = s.by_link.emplace(v.link_type, std::nullopt).first;
      } else {
        it = s.by_link.emplace(v.link_type, std::move(*f)).first;
      }
    }
    return it->second.has_value() && it->second->Matches(v.bytes(), v.wire_len);
  }

 private:
  struct Set {
    std::optional<std::string> expr;
    std::map<pktkit::LinkType, std::optional<pktkit::BpfFilter>> by_link;
    std::vector<pktkit::LinkType> failed_links;
  };
  std::vector<Set> sets_;
  int active_ = -1;
};

// Counters whose values are read from the source when Zeek's telemetry collects them. The
// getter must stay callable for the life of the process: sources keep their counters in a
// shared_ptr captured by the getter, so a closed source reports its final values.
inline zeek::telemetry::CounterPtr CallbackCounter(std::string_view name,
                                                   std::initializer_list<zeek::telemetry::LabelView> labels,
                                                   std::string_view help, std::function<double()> get) {
  return zeek::telemetry_mgr->CounterInstance("pktkit", name, labels, help, "", std::move(get));
}

inline zeek::telemetry::GaugePtr CallbackGauge(std::string_view name,
                                               std::initializer_list<zeek::telemetry::LabelView> labels,
                                               std::string_view help, std::function<double()> get) {
  return zeek::telemetry_mgr->GaugeInstance("pktkit", name, labels, help, "", std::move(get));
}

}  // namespace plugin::pktkit_zeek

#endif  // PLUGINS_ZEEK_COMMON_PACKET_GLUE_H_
