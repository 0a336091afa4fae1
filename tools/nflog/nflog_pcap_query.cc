// nflog-pcap-query ENDPOINT > dump.pcap — fetches the receiver's buffer window as a pcap file.
// Exits 1 with a message after --timeout_ms when the daemon does not answer.
#include <unistd.h>
#include <zmq.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "tools/nflog/pipe_common.h"
#include "tools/common/cli.h"

ABSL_FLAG(int, timeout_ms, 5000, "give up after this long without an answer");
ABSL_FLAG(std::string, curve_secret_key, "", "CURVE: this client's secret key file");
ABSL_FLAG(std::string, curve_public_key, "", "CURVE: this client's public key file");
ABSL_FLAG(std::string, curve_server_key, "", "CURVE: the receiver's public key file");

int main(int argc, char** argv) {
  const std::string usage_text = "nflog-pcap-query ENDPOINT > dump.pcap";
  std::vector<char*> args = pktkit::tools::ParseCommandLine(argc, argv, usage_text);
  if (args.size() != 2) {
    std::fprintf(stderr, "usage: nflog-pcap-query [flags] ENDPOINT > dump.pcap\n");
    return 2;
  }
  void* ctx = zmq_ctx_new();
  void* req = zmq_socket(ctx, ZMQ_REQ);
  const int linger = 0;
  zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
  pktkit::nflog::CurveOptions curve{absl::GetFlag(FLAGS_curve_secret_key),
                                    absl::GetFlag(FLAGS_curve_public_key),
                                    absl::GetFlag(FLAGS_curve_server_key)};
  absl::Status st = pktkit::nflog::ApplyCurve(req, curve, /*server=*/false);
  if (st.ok()) st = pktkit::nflog::Attach(req, args[1], /*bind=*/false);
  int rc = 1;
  if (!st.ok()) {
    std::fprintf(stderr, "nflog-pcap-query: %s\n", std::string(st.message()).c_str());
  } else if (zmq_send(req, "DUMP", 4, ZMQ_DONTWAIT) < 0 && errno != EAGAIN) {
    std::fprintf(stderr, "nflog-pcap-query: send: %s\n", zmq_strerror(errno));
  } else {
    zmq_pollitem_t item = {req, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, absl::GetFlag(FLAGS_timeout_ms)) <= 0) {
      std::fprintf(stderr, "nflog-pcap-query: no answer from %s within %d ms\n", args[1],
                   absl::GetFlag(FLAGS_timeout_ms));
    } else {
      zmq_msg_t msg;
      zmq_msg_init(&msg);
      if (zmq_msg_recv(&msg, req, 0) >= 0) {
        const char* p = static_cast<const char*>(zmq_msg_data(&msg));
        size_t left = zmq_msg_size(&msg);
        rc = 0;
        while (left > 0) {
          const ssize_t n = write(STDOUT_FILENO, p, left);
          if (n < 0) {
            if (errno == EINTR) continue;
            std::perror("nflog-pcap-query: write");
            rc = 1;
            break;
          }
          p += n;
          left -= static_cast<size_t>(n);
        }
      }
      zmq_msg_close(&msg);
    }
  }
  zmq_close(req);
  zmq_ctx_term(ctx);
  return rc;
}
