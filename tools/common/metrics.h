// tools/common/metrics.h — counters and gauges for pktkit's tools, in the Prometheus text
// exposition format (version 0.0.4), served over HTTP on request.
//
//   pktkit::tools::MetricsRegistry registry;
//   pktkit::tools::Counter* rx = registry.AddCounter("pktkit_recv_packets_total", "Datagrams
//   received"); auto server = pktkit::tools::MetricsServer::Start(&registry, "127.0.0.1:9100");
//   rx->Add();   // hot path: one relaxed atomic add
//
// Counters are registered once at start-up (mutex-protected) and bumped lock-free afterwards;
// the pointers stay valid as long as the registry lives. The server answers GET /metrics on a
// background thread and stops when destroyed.
#ifndef PKTKIT_TOOLS_COMMON_METRICS_H_
#define PKTKIT_TOOLS_COMMON_METRICS_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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

// A minimal HTTP/1.0 endpoint for Prometheus scrapes: GET /metrics (any other path: 404).
class MetricsServer {
 public:
  // `address`: "host:port", ":port" (all interfaces), "[v6addr]:port"; port 0 picks a free one.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const MetricsRegistry* registry,
                                                              const std::string& address) {
    absl::StatusOr<SocketAddress> where = SocketAddress::ParseHostPort(address);
    if (!where.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad metrics address ", where.status().message()));
    }
    const int fd = socket(where->family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return absl::ErrnoToStatus(errno, "metrics socket");
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, where->addr(), where->length()) != 0 || listen(fd, 16) != 0) {
      const int err = errno;
      close(fd);
      return absl::ErrnoToStatus(err, absl::StrCat("metrics listen on ", address));
    }
    sockaddr_storage bound = {};
    socklen_t blen = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
    const uint16_t actual = SocketAddress::FromSockaddr(bound, blen).port();
    return std::unique_ptr<MetricsServer>(new MetricsServer(registry, fd, actual));
  }

  ~MetricsServer() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const { return port_; }

 private:
  MetricsServer(const MetricsRegistry* r, int fd, uint16_t port)
      : registry_(r), fd_(fd), port_(port), thread_([this] { Loop(); }) {}

  void Loop() {
    while (!stop_.load()) {
      pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      Serve(c);
      close(c);
    }
  }

  void Serve(int c) {
    // Read the request head (bounded: 8 KiB, 1 s).
    std::string req;
    char buf[1024];
    while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos &&
           req.size() < 8192) {
      pollfd p = {c, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) return;
      const ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    std::string status = "200 OK";
    std::string body;
    if (req.rfind("GET /metrics", 0) == 0) {
      body = registry_->RenderPrometheus();
    } else {
      status = "404 Not Found";
      body = "try /metrics\n";
    }
    const std::string resp = absl::StrCat(
        "HTTP/1.0 ", status, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n",
        "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
    size_t off = 0;
    while (off < resp.size()) {
      const ssize_t n = send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  const MetricsRegistry* registry_;
  int fd_;
  uint16_t port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace pktkit::tools

#endif  // PKTKIT_TOOLS_COMMON_METRICS_H_
