// pktkit/spec/interface_spec.h — the interface grammar shared by the tools:
//   udp::<addr>:<port>[:<encap>][:dlt=<en10mb|raw|ppp>]   a UDP tunnel endpoint (IPv6 as [::1])
//   af_packet::<iface>                                     an AF_PACKET capture interface
//   pcap:<file>                                            a capture file
// <encap> is what pktkit/wire/decap.h ParseEncapMode accepts: vxlan (default), geneve,
// geneve+vxlan, raw, skip=N. dlt= is the inner link type for raw and skip=N (default en10mb).
//
//   absl::StatusOr<pktkit::InterfaceSpec> s = pktkit::ParseInterfaceSpec("udp::[::1]:6081:geneve");
//   if (!s.ok()) std::cerr << s.status();   // the message names the bad token
//
// References: RFC 7348 (VXLAN port 4789), RFC 8926 (GENEVE port 6081), netdevice(7) IFNAMSIZ.
#ifndef PKTKIT_SPEC_INTERFACE_SPEC_H_
#define PKTKIT_SPEC_INTERFACE_SPEC_H_

#include <net/if.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "pktkit/io/socket_address.h"
#include "pktkit/wire/decap.h"
#include "pktkit/wire/link_type.h"

namespace pktkit {

enum class InterfaceKind : uint8_t { kUdp, kAfPacket, kPcap };

struct InterfaceSpec {
  InterfaceKind kind = InterfaceKind::kUdp;
  SocketAddress address;             // kUdp
  DecapConfig decap;                 // kUdp
  std::string encap_name = "vxlan";  // kUdp: the <encap> token as written
  std::string iface;                 // kAfPacket
  std::string path;                  // kPcap
};

namespace spec_internal {

inline absl::Status Bad(absl::string_view what, absl::string_view token, absl::string_view spec) {
  return absl::InvalidArgumentError(
      absl::StrCat("interface '", spec, "': bad ", what, " '", token, "'"));
}

}  // namespace spec_internal

// The inner link type named by a dlt= token or a --dlt flag: "en10mb" or "ethernet"
// (LinkType::kEthernet), "raw" (kRaw), "ppp" (kPpp). Sets *lt and returns true, or returns false
// and leaves *lt alone for any other name.
inline bool ParseDltName(absl::string_view name, LinkType* lt) {
  if (name == "en10mb" || name == "ethernet") {
    *lt = LinkType::kEthernet;
  } else if (name == "raw") {
    *lt = LinkType::kRaw;
  } else if (name == "ppp") {
    *lt = LinkType::kPpp;
  } else {
    return false;
  }
  return true;
}

inline absl::StatusOr<InterfaceSpec> ParseInterfaceSpec(absl::string_view text) {
  using spec_internal::Bad;
  InterfaceSpec out;
  const absl::string_view whole = text;
  if (absl::ConsumePrefix(&text, "af_packet::")) {
    out.kind = InterfaceKind::kAfPacket;
    if (text.empty() || text.size() >= IFNAMSIZ || text.find_first_of("/: \t") != text.npos) {
      return Bad("interface name", text, whole);
    }
    out.iface = std::string(text);
    return out;
  }
  if (absl::ConsumePrefix(&text, "pcap:")) {
    out.kind = InterfaceKind::kPcap;
    if (text.empty()) return Bad("file name", text, whole);
    out.path = std::string(text);
    return out;
  }
  if (!absl::ConsumePrefix(&text, "udp::")) {
    const size_t colon = text.find(':');
    return Bad("interface type (want udp::, af_packet:: or pcap:)", text.substr(0, colon), whole);
  }
  out.kind = InterfaceKind::kUdp;
  absl::string_view host;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == text.npos) return Bad("IPv6 address (no closing ']')", text, whole);
    host = text.substr(1, close - 1);
    text.remove_prefix(close + 1);
    if (!absl::ConsumePrefix(&text, ":")) return Bad("text after IPv6 address", text, whole);
  } else {
    const size_t colon = text.find(':');
    if (colon == text.npos) return Bad("address (no port)", text, whole);
    host = text.substr(0, colon);
    text.remove_prefix(colon + 1);
  }
  const size_t colon = text.find(':');
  const absl::string_view port_tok = text.substr(0, colon);
  text = colon == text.npos ? absl::string_view() : text.substr(colon + 1);
  uint32_t port = 0;
  if (!absl::SimpleAtoi(port_tok, &port) || port > 65535) return Bad("port", port_tok, whole);
  absl::StatusOr<SocketAddress> addr = SocketAddress::Parse(host, static_cast<uint16_t>(port));
  if (!addr.ok()) return Bad("address", host, whole);
  out.address = *addr;
  bool have_encap = false;
  bool have_dlt = false;
  // Optional tokens after the port; "udp::a:1:" has one empty token (an error).
  for (bool more = colon != absl::string_view::npos; more;) {
    const size_t c = text.find(':');
    const absl::string_view tok = text.substr(0, c);
    more = c != absl::string_view::npos;
    text = more ? text.substr(c + 1) : absl::string_view();
    absl::string_view value = tok;
    if (absl::ConsumePrefix(&value, "dlt=")) {
      if (have_dlt || !ParseDltName(value, &out.decap.raw_link_type)) {
        return Bad("dlt", tok, whole);
      }
      have_dlt = true;
    } else {
      const std::string mode(tok);
      if (have_encap || have_dlt || !ParseEncapMode(mode.c_str(), &out.decap)) {
        return Bad("encapsulation", tok, whole);
      }
      out.encap_name = mode;
      have_encap = true;
    }
  }
  return out;
}

}  // namespace pktkit

#endif  // PKTKIT_SPEC_INTERFACE_SPEC_H_
