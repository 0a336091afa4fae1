// tools/common/privileges.h — give up root once a program has opened what needs it.
//
//   // open sockets, rings, output files as root, then:
//   absl::Status s = pktkit::tools::DropPrivileges(absl::GetFlag(FLAGS_user), {CAP_NET_RAW});
//   if (!s.ok()) return Fail(s);   // never carry on as root after a failed drop
//
// Every long-running tool has `--user NAME` (defined once, in privileges.cc). DropPrivileges
// switches to NAME's uid, gid and supplementary groups (setgroups before setgid before setuid:
// after setuid the process may no longer change its groups), and keeps only the capabilities
// listed (e.g. CAP_NET_RAW so that an AF_PACKET socket can be re-opened after the link comes
// back), through prctl(PR_SET_KEEPCAPS) and libcap's cap_set_proc; every other capability is
// gone, and PR_SET_NO_NEW_PRIVS stops a later exec from gaining any. An empty user changes
// nothing (a tool started without root, e.g. with `setcap cap_net_raw+ep`, keeps what it has).
//
// Errors: NotFound (no such user), FailedPrecondition (asked to switch without being root), or
// the errno of the failing call. Linux only; man 7 capabilities, man 2 prctl.
#ifndef PKTKIT_TOOLS_COMMON_PRIVILEGES_H_
#define PKTKIT_TOOLS_COMMON_PRIVILEGES_H_

#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

ABSL_DECLARE_FLAG(std::string, user);

namespace pktkit::tools {

inline absl::Status DropPrivileges(const std::string& user, std::vector<cap_value_t> keep = {}) {
  if (user.empty()) return absl::OkStatus();
  passwd pw_storage;
  passwd* pw = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(user.c_str(), &pw_storage, buf.data(), buf.size(), &pw) != 0 || pw == nullptr) {
    return absl::NotFoundError(absl::StrCat("--user: no such user '", user, "'"));
  }
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--user ", user, ": not running as root (start as root, or leave --user out)"));
  }
  if (!keep.empty() && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0) {
    return absl::ErrnoToStatus(errno, "prctl(PR_SET_KEEPCAPS)");
  }
  if (initgroups(pw->pw_name, pw->pw_gid) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("initgroups(", user, ")"));
  }
  if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("setresgid(", pw->pw_gid, ")"));
  }
  if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("setresuid(", pw->pw_uid, ")"));
  }
  // Now only the permitted set survives (KEEPCAPS); make exactly `keep` permitted and effective.
  cap_t caps = cap_init();
  if (caps == nullptr) return absl::ErrnoToStatus(errno, "cap_init");
  int rc = 0;
  if (!keep.empty()) {
    rc = cap_set_flag(caps, CAP_PERMITTED, static_cast<int>(keep.size()), keep.data(), CAP_SET);
    if (rc == 0) {
      rc = cap_set_flag(caps, CAP_EFFECTIVE, static_cast<int>(keep.size()), keep.data(), CAP_SET);
    }
  }
  if (rc == 0) rc = cap_set_proc(caps);
  const int err = errno;
  cap_free(caps);
  if (rc != 0) return absl::ErrnoToStatus(err, "cap_set_proc");
  prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
  prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L);
  if (pw->pw_uid != 0 && setuid(0) == 0) {
    return absl::InternalError("--user: still able to become root after dropping privileges");
  }
  return absl::OkStatus();
}

}  // namespace pktkit::tools

#endif  // PKTKIT_TOOLS_COMMON_PRIVILEGES_H_
