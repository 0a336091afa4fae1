// tools/common/metrics.h — counters and gauges for pktkit's tools, in the Prometheus text
// exposition format (version 0.0.4), served over HTTP on request.
//
//   pktkit::tools::MetricsRegistry registry;
//   pktkit::tools::Counter* rx = registry.AddCounter("pktkit_recv_packets_total", "Datagrams
//   received"); auto server = pktkit::tools::MetricsServer::Start(&registry, ":9100");
//   rx->Add();   // hot path: one relaxed atomic add
//
// Counters are registered once at start-up (mutex-protected) and bumped lock-free afterwards;
// the pointers stay valid as long as the registry lives. The server answers GET /metrics (that
// exact path; anything else is 404) on its own threads and stops when destroyed.
//
// Exposure: an address without a host (":9100") binds loopback only (127.0.0.1); say
// "0.0.0.0:9100" or "[::]:9100" to expose the endpoint on every interface. Every byte a peer
// sends is hostile: requests are bounded (8 KiB head, no body), each connection has a deadline
// for its request and for sending the answer, one poll loop serves all connections so one slow
// or never-reading peer does not hold up the others, and stopping never waits on a peer.
#ifndef PKTKIT_TOOLS_COMMON_METRICS_H_
#define PKTKIT_TOOLS_COMMON_METRICS_H_

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/clock.h"
#include "pktkit/io/socket_address.h"

namespace pktkit::tools {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class MetricsRegistry {
 public:
  // Registers (or finds) the counter `name`{labels}. Thread-safe; not for per-packet use.
  Counter* AddCounter(const std::string& name, const std::string& help, Labels labels = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    Family& f = FamilyFor(name, help, "counter");
    const std::string key = RenderLabels(labels);
    for (Series& s : f.series) {
      if (s.label_text == key && s.counter) return s.counter.get();
    }
    f.series.push_back(Series{key, std::make_unique<Counter>(), nullptr});
    return f.series.back().counter.get();
  }

  // Registers a gauge whose value is read by calling `fn` at render time.
  void AddGauge(const std::string& name, const std::string& help, std::function<double()> fn,
                Labels labels = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    Family& f = FamilyFor(name, help, "gauge");
    f.series.push_back(Series{RenderLabels(labels), nullptr, std::move(fn)});
  }

  std::string RenderPrometheus() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& name : order_) {
      const Family& f = families_.at(name);
      absl::StrAppend(&out, "# HELP ", name, " ", f.help, "\n# TYPE ", name, " ", f.type, "\n");
      for (const Series& s : f.series) {
        absl::StrAppend(&out, name, s.label_text, " ", ValueText(s), "\n");
      }
    }
    return out;
  }

  // One compact line: name{labels}=value for every non-zero series (gauges always).
  std::string RenderSummary() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& name : order_) {
      const Family& f = families_.at(name);
      for (const Series& s : f.series) {
        if (s.counter && s.counter->value() == 0) continue;
        absl::StrAppend(&out, out.empty() ? "" : " ", ShortName(name), s.label_text, "=",
                        ValueText(s));
      }
    }
    return out;
  }

  // The value of counter `name`{labels}, 0 when absent (for tests and final summaries).
  uint64_t CounterValue(const std::string& name, const Labels& labels = {}) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = families_.find(name);
    if (it == families_.end()) return 0;
    const std::string key = RenderLabels(labels);
    for (const Series& s : it->second.series) {
      if (s.label_text == key && s.counter) return s.counter->value();
    }
    return 0;
  }

 private:
  struct Series {
    std::string label_text;
    std::unique_ptr<Counter> counter;
    std::function<double()> gauge;
  };
  struct Family {
    std::string help;
    std::string type;
    std::deque<Series> series;  // deque: pointers to counters stay valid as it grows
  };

  Family& FamilyFor(const std::string& name, const std::string& help, const char* type) {
    auto it = families_.find(name);
    if (it == families_.end()) {
      order_.push_back(name);
      it = families_.emplace(name, Family{help, type, {}}).first;
    }
    return it->second;
  }

  static std::string Escape(const std::string& v) {
    std::string out;
    for (char c : v) {
      if (c == '\\' || c == '"') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    return out;
  }
  static std::string RenderLabels(const Labels& labels) {
    if (labels.empty()) return "";
    std::string out = "{";
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", labels[i].first, "=\"", Escape(labels[i].second), "\"");
    }
    return out + "}";
  }
  static std::string ValueText(const Series& s) {
    if (s.counter) return absl::StrCat(s.counter->value());
    return absl::StrCat(s.gauge ? s.gauge() : 0.0);
  }
  // "pktkit_recv_packets_total" -> "packets" for progress lines.
  static std::string ShortName(const std::string& name) {
    std::string n = name;
    const std::string suffix = "_total";
    if (n.size() > suffix.size() &&
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
      n.resize(n.size() - suffix.size());
    }
    if (n.rfind("pktkit_", 0) == 0) {
      const size_t second = n.find('_', 7);
      if (second != std::string::npos) n = n.substr(second + 1);
    }
    return n;
  }

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::vector<std::string> order_;
};

// Limits of the /metrics endpoint. Every byte a peer sends is hostile: memory per peer is
// bounded (the request head, then one rendered answer), and so is the time a peer may hold a slot.
struct MetricsServerLimits {
  size_t max_connections = 64;      // more wait in the listen queue until a slot frees up
  size_t max_request_bytes = 8192;  // request head (no body is read); beyond: 431 and close
  int request_timeout_ms = 5000;    // from accept to a complete request head
  int send_timeout_ms = 10000;      // from the first byte of the answer to the last
};

// The address a --metrics flag means: ":9100" is loopback (127.0.0.1:9100); a host given is
// used as given ("0.0.0.0:9100" or "[::]:9100" exposes every interface). Errors:
// InvalidArgument naming the bad part.
inline absl::StatusOr<SocketAddress> ParseMetricsAddress(const std::string& address) {
  const std::string text =
      (!address.empty() && address.front() == ':') ? absl::StrCat("127.0.0.1", address) : address;
  absl::StatusOr<SocketAddress> where = SocketAddress::ParseHostPort(text);
  if (!where.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad metrics address ", where.status().message()));
  }
  return where;
}

// An HTTP/1.0 endpoint for Prometheus scrapes: GET (or HEAD) /metrics, that exact path (a query
// string is ignored); any other path is 404, any other method 405. One thread runs a poll loop
// over non-blocking sockets, so a slow or never-reading peer holds only its own slot (until its
// deadline), never the others, and the destructor returns within one poll interval (~0.1 s).
//
// Why not prometheus-cpp's Exposer (Debian prometheus-cpp-dev 1.0.1, civetweb 1.15): tried
// first; it serves GET /metricsXYZ as /metrics (civetweb matches handler URIs as prefixes) and
// its stop waits up to 2 s (civetweb polls in 2 s quanta), which breaks "SIGINT exits within a
// second". The tests in tests/common/metrics_test.cc hold this server to those requirements.
class MetricsServer {
 public:
  // `address`: "host:port", ":port" (loopback), "[v6addr]:port"; port 0 picks a free one (see
  // port()). The registry must outlive the server. Errors: InvalidArgument for a bad address,
  // the errno of socket/bind/listen otherwise (with the address in the message).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const MetricsRegistry* registry, const std::string& address,
      const MetricsServerLimits& limits = {}) {
    absl::StatusOr<SocketAddress> where = ParseMetricsAddress(address);
    if (!where.ok()) return where.status();
    const int fd = socket(where->family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return absl::ErrnoToStatus(errno, "metrics socket");
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, where->addr(), where->length()) != 0 || listen(fd, 64) != 0) {
      const int err = errno;
      close(fd);
      return absl::ErrnoToStatus(err, absl::StrCat("metrics listen on ", where->ToString()));
    }
    int wake[2];
    if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
      const int err = errno;
      close(fd);
      return absl::ErrnoToStatus(err, "metrics pipe2");
    }
    sockaddr_storage bound = {};
    socklen_t blen = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
    const uint16_t actual = SocketAddress::FromSockaddr(bound, blen).port();
    return std::unique_ptr<MetricsServer>(
        new MetricsServer(registry, limits, fd, wake[0], wake[1], actual));
  }

  ~MetricsServer() {
    stop_.store(true);
    const char b = 0;
    (void)!write(wake_write_, &b, 1);  // wakes poll at once
    if (thread_.joinable()) thread_.join();
    for (Conn& c : conns_) close(c.fd);
    close(fd_);
    close(wake_read_);
    close(wake_write_);
  }
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const { return port_; }

 private:
  struct Conn {
    int fd;
    std::string in;   // request head so far (bounded by max_request_bytes)
    std::string out;  // the answer, once the head is complete
    size_t sent = 0;
    int64_t deadline_ms;
  };

  MetricsServer(const MetricsRegistry* r, const MetricsServerLimits& limits, int fd, int wake_read,
                int wake_write, uint16_t port)
      : registry_(r),
        limits_(limits),
        fd_(fd),
        wake_read_(wake_read),
        wake_write_(wake_write),
        port_(port),
        thread_([this] { Loop(); }) {}

  void Loop() {
    std::vector<pollfd> fds;
    while (!stop_.load()) {
      fds.clear();
      fds.push_back({wake_read_, POLLIN, 0});
      fds.push_back(
          {fd_, static_cast<short>(conns_.size() < limits_.max_connections ? POLLIN : 0), 0});
      for (const Conn& c : conns_) {
        fds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
      }
      if (poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) break;
      if (stop_.load()) break;
      const int64_t now = MonotonicMs();
      // Walk the connections polled above (accepting appends after them).
      const size_t polled = conns_.size();
      std::vector<bool> done(polled, false);
      for (size_t i = 0; i < polled; ++i) {
        done[i] = Step(&conns_[i], fds[i + 2].revents, now);
      }
      for (size_t i = polled; i-- > 0;) {
        if (done[i]) {
          close(conns_[i].fd);
          conns_.erase(conns_.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
      if (fds[1].revents & POLLIN) Accept(now);
    }
  }

  void Accept(int64_t now) {
    while (conns_.size() < limits_.max_connections) {
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c < 0) return;  // EAGAIN (no more), or a peer that left before accept
      conns_.push_back(Conn{c, {}, {}, 0, now + limits_.request_timeout_ms});
    }
  }

  // Advances one connection; true when it is finished (answered, failed or out of time).
  bool Step(Conn* c, short revents, int64_t now) {
    if (c->out.empty() && (revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[2048];
      const ssize_t n = recv(c->fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
      if (n > 0) {
        const size_t room = limits_.max_request_bytes - c->in.size();
        c->in.append(buf, std::min(static_cast<size_t>(n), room));
      }
      const bool complete =
          c->in.find("\r\n\r\n") != std::string::npos || c->in.find("\n\n") != std::string::npos;
      if (complete) {
        c->out = Answer(c->in);
      } else if (c->in.size() >= limits_.max_request_bytes) {
        c->out = Response("431 Request Header Fields Too Large", "request head too large\n");
      }
      if (!c->out.empty()) c->deadline_ms = now + limits_.send_timeout_ms;
    }
    if (!c->out.empty() && (revents & (POLLOUT | POLLHUP | POLLERR) || c->sent == 0)) {
      const ssize_t n = send(c->fd, c->out.data() + c->sent, c->out.size() - c->sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return true;
      if (n > 0) c->sent += static_cast<size_t>(n);
      if (c->sent == c->out.size()) {
        shutdown(c->fd, SHUT_WR);
        return true;
      }
    }
    return now >= c->deadline_ms;
  }

  std::string Answer(const std::string& head) const {
    // Request line: METHOD SP TARGET SP VERSION. The path is the target up to '?'.
    const size_t sp1 = head.find(' ');
    const size_t sp2 = sp1 == std::string::npos ? sp1 : head.find(' ', sp1 + 1);
    const size_t eol = head.find_first_of("\r\n");
    if (sp1 == std::string::npos || sp2 == std::string::npos || sp2 > eol) {
      return Response("400 Bad Request", "bad request line\n");
    }
    const std::string method = head.substr(0, sp1);
    std::string path = head.substr(sp1 + 1, sp2 - sp1 - 1);
    const size_t q = path.find('?');
    if (q != std::string::npos) path.resize(q);
    if (path != "/metrics") return Response("404 Not Found", "try /metrics\n");
    if (method != "GET" && method != "HEAD") {
      return Response("405 Method Not Allowed", "GET /metrics\n");
    }
    std::string r = Response("200 OK", registry_->RenderPrometheus());
    if (method == "HEAD") r.resize(r.find("\r\n\r\n") + 4);
    return r;
  }

  static std::string Response(const std::string& status, const std::string& body) {
    return absl::StrCat("HTTP/1.0 ", status,
                        "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n",
                        "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
  }

  const MetricsRegistry* registry_;
  const MetricsServerLimits limits_;
  const int fd_;
  const int wake_read_;
  const int wake_write_;
  const uint16_t port_;
  std::vector<Conn> conns_;  // the loop thread's only
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once everything above is initialised
};

}  // namespace pktkit::tools

#endif  // PKTKIT_TOOLS_COMMON_METRICS_H_
