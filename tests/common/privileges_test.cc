// DropPrivileges (issue 12): after it, the process runs as --user with only the capabilities it
// kept, read back from /proc/self/status the way an administrator would check a running tool.
// Needs root; skips with one line otherwise.
#include "tools/common/privileges.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace pktkit::tools {
namespace {

// Runs `fn` in a child, returns what it wrote to the pipe.
template <typename Fn>
std::string InChild(Fn fn) {
  int p[2];
  EXPECT_EQ(pipe(p), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    const std::string out = fn();
    (void)!write(p[1], out.data(), out.size());
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  waitpid(pid, nullptr, 0);
  return out;
}

std::string StatusLine(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      for (char& c : v) {
        if (c == '\t') c = ' ';
      }
      return v;
    }
  }
  return "?";
}

std::string Probe(const std::string& user, std::vector<cap_value_t> keep) {
  const absl::Status s = DropPrivileges(user, std::move(keep));
  if (!s.ok()) return "error " + std::string(s.message());
  const int raw = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  const int shadow = open("/etc/shadow", O_RDONLY);
  std::ostringstream o;
  o << "Uid=" << StatusLine("Uid") << "\nGid=" << StatusLine("Gid")
    << "\nGroups=" << StatusLine("Groups") << "\nCapEff=" << StatusLine("CapEff")
    << "\nCapPrm=" << StatusLine("CapPrm") << "\nraw=" << (raw >= 0) << "\nshadow=" << (shadow >= 0)
    << "\nsetuid0=" << (setuid(0) == 0) << "\n";
  return o.str();
}

class PrivilegesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "SKIP: needs root (switches to the user nobody)";
    passwd* pw = getpwnam("nobody");
    if (pw == nullptr) GTEST_SKIP() << "SKIP: no user 'nobody' on this system";
    uid_ = std::to_string(pw->pw_uid);
    gid_ = std::to_string(pw->pw_gid);
  }
  std::string uid_, gid_;
};

TEST_F(PrivilegesTest, DropsToTheUserKeepingOnlyCapNetRaw) {
  const std::string got = InChild([] { return Probe("nobody", {CAP_NET_RAW}); });
  EXPECT_NE(got.find("Uid=" + uid_ + " " + uid_ + " " + uid_ + " " + uid_ + "\n"),
            std::string::npos)
      << got;
  EXPECT_NE(got.find("Gid=" + gid_ + " " + gid_ + " " + gid_ + " " + gid_ + "\n"),
            std::string::npos)
      << got;
  EXPECT_NE(got.find("CapEff=0000000000002000\n"), std::string::npos) << got;  // bit 13
  EXPECT_NE(got.find("CapPrm=0000000000002000\n"), std::string::npos) << got;
  EXPECT_NE(got.find("raw=1\n"), std::string::npos) << got;     // can re-open a capture
  EXPECT_NE(got.find("shadow=0\n"), std::string::npos) << got;  // but is not root
  EXPECT_NE(got.find("setuid0=0\n"), std::string::npos) << got;
}

TEST_F(PrivilegesTest, WithoutKeptCapabilitiesNoneRemain) {
  const std::string got = InChild([] { return Probe("nobody", {}); });
  EXPECT_NE(got.find("CapEff=0000000000000000\n"), std::string::npos) << got;
  EXPECT_NE(got.find("CapPrm=0000000000000000\n"), std::string::npos) << got;
  EXPECT_NE(got.find("raw=0\n"), std::string::npos) << got;
  EXPECT_NE(got.find("setuid0=0\n"), std::string::npos) << got;
}

TEST_F(PrivilegesTest, UnknownUserIsAnErrorAndNothingChanges) {
  const std::string got = InChild([] { return Probe("no-such-user-pktkit", {}); });
  EXPECT_NE(got.find("error --user: no such user 'no-such-user-pktkit'"), std::string::npos) << got;
}

TEST(PrivilegesNoUserTest, EmptyUserChangesNothing) {
  const uid_t before = geteuid();
  EXPECT_TRUE(DropPrivileges("").ok());
  EXPECT_EQ(geteuid(), before);
}

}  // namespace
}  // namespace pktkit::tools
