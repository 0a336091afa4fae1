// nflog-zmq-keygen [--force] NAME — writes a ZeroMQ CURVE key pair as NAME.key (secret, mode 0600)
// and NAME.pub (public, 0644), Z85 text, for the pipe's --curve_* flags. See docs/nflog.md.
//
// The secret key never lands in a file someone else prepared: files are created with
// O_CREAT|O_EXCL|O_NOFOLLOW (an existing file or a symlink is refused, never followed) and their
// mode is set with fchmod, whatever the umask. An existing pair is kept unless --force, which
// writes fresh files under temporary names beside them and renames them over the old ones (a
// symlink at NAME.key is replaced, never written through).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "tools/common/cli.h"

ABSL_FLAG(bool, force, false, "replace an existing NAME.key / NAME.pub");

namespace {

// Creates `path` exclusively with `mode` and writes `text`; errno-style message on failure.
bool CreateExclusive(const std::string& path, const std::string& text, mode_t mode,
                     std::string* error) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  bool ok = fchmod(fd, mode) == 0 &&
            write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            fsync(fd) == 0;
  if (!ok) *error = path + ": " + std::strerror(errno);
  if (close(fd) != 0 && ok) {
    *error = path + ": " + std::strerror(errno);
    ok = false;
  }
  if (!ok) unlink(path.c_str());
  return ok;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = pktkit::tools::ParseCommandLine(
      argc, argv, "nflog-zmq-keygen [--force] NAME   (writes NAME.key, mode 0600, and NAME.pub)");
  if (args.size() != 2) pktkit::tools::UsageError("want exactly one NAME");
  const std::string name = args[1];
  if (name.empty()) pktkit::tools::UsageError("NAME is empty");
  const bool force = absl::GetFlag(FLAGS_force);
  const std::string key_path = name + ".key", pub_path = name + ".pub";
  if (!force) {
    for (const std::string& p : {key_path, pub_path}) {
      if (Exists(p)) {
        std::fprintf(stderr, "nflog-zmq-keygen: %s exists; not replacing it without --force\n",
                     p.c_str());
        return 1;
      }
    }
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
  // Without --force: create the final names directly (O_EXCL). With it: temporary names, then
  // rename(2), which replaces the old file (or symlink) atomically.
  const std::string suffix = force ? ".tmp." + std::to_string(getpid()) : "";
  std::string error;
  if (!CreateExclusive(key_path + suffix, std::string(sec) + "\n", 0600, &error)) {
    std::fprintf(stderr, "nflog-zmq-keygen: %s\n", error.c_str());
    return 1;
  }
  if (!CreateExclusive(pub_path + suffix, std::string(pub) + "\n", 0644, &error)) {
    std::fprintf(stderr, "nflog-zmq-keygen: %s\n", error.c_str());
    unlink((key_path + suffix).c_str());
    return 1;
  }
  if (force && (rename((key_path + suffix).c_str(), key_path.c_str()) != 0 ||
                rename((pub_path + suffix).c_str(), pub_path.c_str()) != 0)) {
    std::fprintf(stderr, "nflog-zmq-keygen: rename: %s\n", std::strerror(errno));
    unlink((key_path + suffix).c_str());
    unlink((pub_path + suffix).c_str());
    return 1;
  }
  explicit_bzero(sec, sizeof sec);
  return 0;
}
