// tools/nflog/pipe_common.h — what every NFLOG pipe program shares: counters exported both as
// Prometheus metrics and as statsd (`nflog.<program>.<counter>`), ZeroMQ socket set-up with
// optional CURVE (the clock is pktkit/io/clock.h's).
//
//   PipeMetrics m("send");
//   tools::Counter* in = m.Add("in_packets", "NFLOG packets read");
//   // Prometheus: pktkit_nflog_send_in_packets_total; statsd: nflog.send.in_packets
//   auto statsd = StatsdClient::Open("127.0.0.1:8125");
//   (*statsd)->Push(m);   // deltas since the last push, as statsd counters
//
// Set-up returns absl::Status naming what failed; nothing here aborts.
#ifndef PKTKIT_TOOLS_NFLOG_PIPE_COMMON_H_
#define PKTKIT_TOOLS_NFLOG_PIPE_COMMON_H_

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "pktkit/io/clock.h"
#include "pktkit/io/socket_address.h"
#include "tools/common/metrics.h"

namespace pktkit::nflog {

// Counters registered under one program name, remembered for statsd.
class PipeMetrics {
 public:
  explicit PipeMetrics(std::string program) : program_(std::move(program)) {}

  // `name` is snake_case; cause (if any) becomes a Prometheus label and a statsd suffix.
  tools::Counter* Add(const std::string& name, const std::string& help,
                      const std::string& cause = "") {
    tools::Labels labels;
    if (!cause.empty()) labels.push_back({"cause", cause});
    tools::Counter* c = registry_.AddCounter(
        absl::StrCat("pktkit_nflog_", program_, "_", name, "_total"), help, labels);
    entries_.push_back(
        {absl::StrCat("nflog.", program_, ".", name, cause.empty() ? "" : ".", cause), c, 0});
    return c;
  }
  tools::MetricsRegistry& registry() { return registry_; }
  const tools::MetricsRegistry& registry() const { return registry_; }

  struct Entry {
    std::string statsd_name;
    tools::Counter* counter;
    uint64_t pushed;
  };
  std::vector<Entry>& entries() { return entries_; }

 private:
  std::string program_;
  tools::MetricsRegistry registry_;
  std::vector<Entry> entries_;
};

// Sends counter deltas to statsd over UDP ("name:delta|c", several per datagram).
class StatsdClient {
 public:
  static absl::StatusOr<std::unique_ptr<StatsdClient>> Open(const std::string& host_port) {
    absl::StatusOr<SocketAddress> where = SocketAddress::ParseHostPort(host_port);
    if (!where.ok() || where->port() == 0) {
      return absl::InvalidArgumentError(absl::StrCat("bad statsd address '", host_port, "'"));
    }
    const int fd = socket(where->family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::ErrnoToStatus(errno, "socket(statsd)");
    if (connect(fd, where->addr(), where->length()) != 0) {
      const int e = errno;
      close(fd);
      return absl::ErrnoToStatus(e, absl::StrCat("connect(statsd ", host_port, ")"));
    }
    return std::unique_ptr<StatsdClient>(new StatsdClient(fd));
  }
  ~StatsdClient() { close(fd_); }

  // Sends every counter's increase since the last push. Send errors (no statsd listening)
  // are counted, never fatal.
  void Push(PipeMetrics* m) {
    std::string dgram;
    for (PipeMetrics::Entry& e : m->entries()) {
      const uint64_t v = e.counter->value();
      if (v == e.pushed) continue;
      std::string line = absl::StrCat(e.statsd_name, ":", v - e.pushed, "|c\n");
      e.pushed = v;
      if (dgram.size() + line.size() > 1400) Send(&dgram);
      dgram += line;
    }
    Send(&dgram);
  }
  // Push() at most once a second: call it from the run loop's tick.
  void MaybePush(PipeMetrics* m) {
    const int64_t now = MonotonicNs();
    if (now - last_push_ns_ < 1'000'000'000) return;
    Push(m);
    last_push_ns_ = now;
  }
  uint64_t send_errors() const { return send_errors_; }

 private:
  explicit StatsdClient(int fd) : fd_(fd), last_push_ns_(MonotonicNs()) {}
  void Send(std::string* d) {
    if (d->empty()) return;
    if (send(fd_, d->data(), d->size(), MSG_DONTWAIT) < 0) ++send_errors_;
    d->clear();
  }
  int fd_;
  int64_t last_push_ns_;
  uint64_t send_errors_ = 0;
};

// The exporters a pipe program offers, each started only when its address is given (empty
// address: off). Errors name the bad address.
struct Exporters {
  std::unique_ptr<tools::MetricsServer> prometheus;
  std::unique_ptr<StatsdClient> statsd;
};
inline absl::StatusOr<Exporters> StartExporters(const PipeMetrics& m,
                                                const std::string& metrics_addr,
                                                const std::string& statsd_addr) {
  Exporters e;
  if (!metrics_addr.empty()) {
    auto s = tools::MetricsServer::Start(&m.registry(), metrics_addr);
    if (!s.ok()) return s.status();
    e.prometheus = std::move(*s);
  }
  if (!statsd_addr.empty()) {
    auto s = StatsdClient::Open(statsd_addr);
    if (!s.ok()) return s.status();
    e.statsd = std::move(*s);
  }
  return e;
}

// Reads a Z85 CURVE key (40 characters, surrounding whitespace ignored) from a file.
inline absl::StatusOr<std::string> ReadCurveKey(const std::string& path) {
  std::ifstream f(path);
  if (!f) return absl::NotFoundError(absl::StrCat("cannot read CURVE key file ", path));
  std::stringstream ss;
  ss << f.rdbuf();
  std::string k(absl::StripAsciiWhitespace(ss.str()));
  if (k.size() != 40) {
    return absl::InvalidArgumentError(absl::StrCat("CURVE key in ", path, " is not 40 Z85 chars"));
  }
  return k;
}

struct CurveOptions {
  std::string secret_key_file;  // this side's secret key (server and client)
  std::string public_key_file;  // this side's public key (client only)
  std::string server_key_file;  // the server's public key (client only)
  bool enabled() const { return !secret_key_file.empty(); }
};

inline absl::Status SetOpt(void* s, int opt, const void* v, size_t n, const char* what) {
  if (zmq_setsockopt(s, opt, v, n) != 0) {
    return absl::InternalError(absl::StrCat("zmq_setsockopt(", what, "): ", zmq_strerror(errno)));
  }
  return absl::OkStatus();
}

// Turns CURVE on for `s` as server (`server` true: receivers, the query daemon) or client.
inline absl::Status ApplyCurve(void* s, const CurveOptions& c, bool server) {
  if (!c.enabled()) return absl::OkStatus();
  if (!zmq_has("curve")) return absl::UnimplementedError("this libzmq has no CURVE support");
  auto secret = ReadCurveKey(c.secret_key_file);
  if (!secret.ok()) return secret.status();
  if (server) {
    const int one = 1;
    absl::Status st = SetOpt(s, ZMQ_CURVE_SERVER, &one, sizeof one, "ZMQ_CURVE_SERVER");
    if (!st.ok()) return st;
    return SetOpt(s, ZMQ_CURVE_SECRETKEY, secret->data(), 40, "ZMQ_CURVE_SECRETKEY");
  }
  auto pub = ReadCurveKey(c.public_key_file);
  if (!pub.ok()) return pub.status();
  auto srv = ReadCurveKey(c.server_key_file);
  if (!srv.ok()) return srv.status();
  absl::Status st = SetOpt(s, ZMQ_CURVE_SERVERKEY, srv->data(), 40, "ZMQ_CURVE_SERVERKEY");
  if (st.ok()) st = SetOpt(s, ZMQ_CURVE_PUBLICKEY, pub->data(), 40, "ZMQ_CURVE_PUBLICKEY");
  if (st.ok()) st = SetOpt(s, ZMQ_CURVE_SECRETKEY, secret->data(), 40, "ZMQ_CURVE_SECRETKEY");
  return st;
}

// Binds or connects `s` to `endpoint`.
inline absl::Status Attach(void* s, const std::string& endpoint, bool bind) {
  const int rc = bind ? zmq_bind(s, endpoint.c_str()) : zmq_connect(s, endpoint.c_str());
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(bind ? "zmq_bind(" : "zmq_connect(", endpoint, "): ", zmq_strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace pktkit::nflog

#endif  // PKTKIT_TOOLS_NFLOG_PIPE_COMMON_H_
