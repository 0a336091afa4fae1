// pktkit/io/socket_address.h — an IPv4 or IPv6 socket address parsed from text, for binding,
// connecting and sending (sockaddr_in / sockaddr_in6 in one value type).
//
//   absl::StatusOr<pktkit::SocketAddress> a = pktkit::SocketAddress::Parse("::1", 4789);
//   if (a.ok()) bind(fd, a->addr(), a->length());
//
// Text forms: "192.0.2.1", "::1" or "[::1]" (brackets optional here). References: inet_pton(3),
// ipv6(7), ip(7).
#ifndef PKTKIT_IO_SOCKET_ADDRESS_H_
#define PKTKIT_IO_SOCKET_ADDRESS_H_

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace pktkit {

class SocketAddress {
 public:
  SocketAddress() { std::memset(&ss_, 0, sizeof ss_); }

  static absl::StatusOr<SocketAddress> Parse(absl::string_view host, uint16_t port) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    const std::string h(host);
    SocketAddress a;
    sockaddr_in v4;
    std::memset(&v4, 0, sizeof v4);
    if (inet_pton(AF_INET, h.c_str(), &v4.sin_addr) == 1) {
      v4.sin_family = AF_INET;
      v4.sin_port = htons(port);
      std::memcpy(&a.ss_, &v4, sizeof v4);
      a.len_ = sizeof v4;
      return a;
    }
    sockaddr_in6 v6;
    std::memset(&v6, 0, sizeof v6);
    if (inet_pton(AF_INET6, h.c_str(), &v6.sin6_addr) == 1) {
      v6.sin6_family = AF_INET6;
      v6.sin6_port = htons(port);
      std::memcpy(&a.ss_, &v6, sizeof v6);
      a.len_ = sizeof v6;
      return a;
    }
    return absl::InvalidArgumentError(absl::StrCat("bad IP address '", h, "'"));
  }

  // Parses "host:port", "[v6-address]:port" or ":port" (the IPv4 wildcard). `host` must be a
  // literal address (no name resolution). Errors: InvalidArgument naming the bad part.
  static absl::StatusOr<SocketAddress> ParseHostPort(absl::string_view text) {
    absl::string_view host;
    absl::string_view port_text;
    if (!text.empty() && text.front() == '[') {
      const size_t close = text.find(']');
      if (close == absl::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
        return absl::InvalidArgumentError(absl::StrCat("'", text, "': want [v6-address]:port"));
      }
      host = text.substr(1, close - 1);
      port_text = text.substr(close + 2);
    } else {
      const size_t colon = text.rfind(':');
      if (colon == absl::string_view::npos ||
          text.substr(0, colon).find(':') != absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", text, "': want host:port, [v6-address]:port or :port"));
      }
      host = text.substr(0, colon);
      port_text = text.substr(colon + 1);
    }
    uint32_t port = 0;
    if (port_text.empty() || !absl::SimpleAtoi(port_text, &port) || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("'", text, "': bad port '", port_text, "'"));
    }
    return Parse(host.empty() ? absl::string_view("0.0.0.0") : host, static_cast<uint16_t>(port));
  }

  // A destination as a user writes it: "host", "host:port", "[v6-address]", "[v6-address]:port"
  // or a bare IPv6 address ("2001:db8::5", no port); `default_port` when no port is given.
  // `host` may be a name: it is resolved once here (getaddrinfo, the first address of either
  // family). *host_out (optional) receives the host as written, without brackets. Errors:
  // InvalidArgument naming the text (bad brackets or port, a name that does not resolve).
  static absl::StatusOr<SocketAddress> ResolveHostPort(absl::string_view text,
                                                       uint16_t default_port,
                                                       std::string* host_out = nullptr) {
    absl::string_view host = text;
    absl::string_view port_text;
    if (!text.empty() && text.front() == '[') {
      const size_t close = text.find(']');
      if (close == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("'", text, "': missing ']'"));
      }
      host = text.substr(1, close - 1);
      if (close + 1 < text.size()) {
        if (text[close + 1] != ':') {
          return absl::InvalidArgumentError(absl::StrCat("'", text, "': want [v6-address]:port"));
        }
        port_text = text.substr(close + 2);
        if (port_text.empty()) {
          return absl::InvalidArgumentError(absl::StrCat("'", text, "': empty port"));
        }
      }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
      const size_t colon = text.find(':');
      host = text.substr(0, colon);
      port_text = text.substr(colon + 1);
      if (port_text.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("'", text, "': empty port"));
      }
    }
    uint16_t port = default_port;
    if (!port_text.empty()) {
      uint32_t p = 0;
      if (!absl::SimpleAtoi(port_text, &p) || p == 0 || p > 65535) {
        return absl::InvalidArgumentError(absl::StrCat("'", text, "': bad port '", port_text, "'"));
      }
      port = static_cast<uint16_t>(p);
    }
    if (host.empty()) return absl::InvalidArgumentError(absl::StrCat("'", text, "': no host"));
    if (host_out != nullptr) *host_out = std::string(host);
    absl::StatusOr<SocketAddress> literal = Parse(host, port);
    if (literal.ok()) return literal;
    addrinfo hints;
    std::memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    const std::string h(host);
    const int rc = getaddrinfo(h.c_str(), nullptr, &hints, &res);
    if (rc != 0 || res == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot resolve '", text, "': ", gai_strerror(rc)));
    }
    sockaddr_storage ss;
    std::memset(&ss, 0, sizeof ss);
    const socklen_t len = res->ai_addrlen <= sizeof ss ? res->ai_addrlen : sizeof ss;
    std::memcpy(&ss, res->ai_addr, len);
    freeaddrinfo(res);
    SocketAddress a = FromSockaddr(ss, len);
    a.set_port(port);
    return a;
  }

  // The IP address bytes (4 for IPv4, 16 for IPv6) copied to `out` (room for 16); 0 when the
  // family is neither.
  size_t CopyIp(uint8_t* out) const {
    if (family() == AF_INET) {
      std::memcpy(out, &reinterpret_cast<const sockaddr_in*>(&ss_)->sin_addr, 4);
      return 4;
    }
    if (family() == AF_INET6) {
      std::memcpy(out, &reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_addr, 16);
      return 16;
    }
    return 0;
  }

  // From a kernel-filled address (getsockname/recvmsg).
  static SocketAddress FromSockaddr(const sockaddr_storage& ss, socklen_t len) {
    SocketAddress a;
    std::memcpy(&a.ss_, &ss, len < sizeof ss ? len : sizeof ss);
    a.len_ = len;
    return a;
  }

  int family() const { return ss_.ss_family; }
  const ::sockaddr* addr() const { return reinterpret_cast<const ::sockaddr*>(&ss_); }
  socklen_t length() const { return len_; }

  uint16_t port() const {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss_)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_port);
    return 0;
  }
  void set_port(uint16_t port) {
    if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&ss_)->sin_port = htons(port);
    if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&ss_)->sin6_port = htons(port);
  }

  // "192.0.2.1:4789" or "[::1]:4789".
  std::string ToString() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss_)->sin_addr, buf, sizeof buf);
      return absl::StrCat(buf, ":", port());
    }
    if (family() == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss_)->sin6_addr, buf, sizeof buf);
      return absl::StrCat("[", buf, "]:", port());
    }
    return "unspecified";
  }

 private:
  sockaddr_storage ss_;
  socklen_t len_ = 0;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_SOCKET_ADDRESS_H_
