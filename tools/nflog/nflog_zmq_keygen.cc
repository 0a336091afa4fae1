// nflog-zmq-keygen NAME — writes a ZeroMQ CURVE key pair as NAME.key (secret, mode 0600) and
// NAME.pub (public), Z85 text, for the pipe's --curve_* flags. See docs/nflog.md.
#include <fcntl.h>
#include <unistd.h>
#include <zmq.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {
bool WriteKey(const std::string& path, const char* key, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  std::string text = std::string(key) + "\n";
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return close(fd) == 0 && ok;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: nflog-zmq-keygen NAME   (writes NAME.key and NAME.pub)\n");
    return 2;
  }
  if (!zmq_has("curve")) {
    std::fprintf(stderr, "nflog-zmq-keygen: this libzmq has no CURVE support\n");
    return 1;
  }
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    std::fprintf(stderr, "nflog-zmq-keygen: zmq_curve_keypair: %s\n", zmq_strerror(errno));
    return 1;
  }
  const std::string name = argv[1];
  if (!WriteKey(name + ".key", sec, 0600) || !WriteKey(name + ".pub", pub, 0644)) {
    std::perror("nflog-zmq-keygen: write");
    return 1;
  }
  return 0;
}
