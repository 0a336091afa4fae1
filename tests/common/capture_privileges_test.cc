// pktkit-capture --user (issue 12): after its ring is open it runs as the user, keeping only
// CAP_NET_RAW (to re-open the ring after link recovery), and still captures. Root and a private
// network namespace (unshare(CLONE_NEWNET), loopback only); skips with one line otherwise.
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/run_tool.h"
#include "tests/testing/tool_process.h"

namespace pktkit {
namespace {

TEST(CapturePrivilegesTest, RunsAsTheUserWithOnlyCapNetRaw) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIP: needs root (starts pktkit-capture --user nobody)";
  passwd* pw = getpwnam("nobody");
  if (pw == nullptr) GTEST_SKIP() << "SKIP: no user 'nobody'";
  if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "SKIP: needs unshare(CLONE_NEWNET)";
  ASSERT_EQ(std::system("ip link set lo up"), 0);
  const std::string err = std::string(std::getenv("TEST_TMPDIR")) + "/capture.err";
  const pid_t pid = testing::SpawnTool(
      "tools/capture/pktkit-capture",
      {"-i", "lo", "-w", "/dev/null", "--user", "nobody", "--stats_interval", "0"}, err);
  const std::string uid = std::to_string(pw->pw_uid);
  std::string status;
  bool dropped = false;
  for (int i = 0; i < 100 && !dropped; ++i) {  // up to 5 s
    status = testing::Slurp("/proc/" + std::to_string(pid) + "/status");
    dropped = status.find("\nUid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid + "\n") !=
              std::string::npos;
    if (!dropped) usleep(50 * 1000);
  }
  EXPECT_TRUE(dropped) << status << testing::Slurp(err);
  EXPECT_NE(status.find("\nCapEff:\t0000000000002000\n"), std::string::npos) << status;
  EXPECT_NE(status.find("\nCapPrm:\t0000000000002000\n"), std::string::npos) << status;
  EXPECT_NE(status.find("\nNoNewPrivs:\t1\n"), std::string::npos) << status;
  kill(pid, SIGINT);
  EXPECT_EQ(testing::WaitExit(pid, 5000), 0) << testing::Slurp(err);
}

}  // namespace
}  // namespace pktkit
