// nflog-zmq-keygen (issue 12): it followed symlinks, silently overwrote keys, left a secret key
// in an existing 0644 file at 0644, and `--help` wrote `--help.key`. Keys are now created with
// O_EXCL|O_NOFOLLOW at 0600, never overwritten without --force, and flags are flags.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/common/run_tool.h"

namespace pktkit {
namespace {

using testing::RunTool;
using testing::Slurp;

constexpr char kKeygen[] = "tools/nflog/nflog-zmq-keygen";

std::string FreshDir(const std::string& name) {
  const std::string d = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  EXPECT_EQ(mkdir(d.c_str(), 0700), 0) << d;
  return d;
}

mode_t Mode(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

bool IsSymlink(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

TEST(KeygenTest, WritesAPairWithSecretAt0600EvenUnderUmaskZero) {
  const std::string d = FreshDir("pair");
  const mode_t old = umask(0);
  const auto r = RunTool(kKeygen, {d + "/k"});
  umask(old);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Mode(d + "/k.key"), 0600u);
  EXPECT_EQ(Mode(d + "/k.pub"), 0644u);
  EXPECT_EQ(Slurp(d + "/k.key").size(), 41u);  // 40 Z85 characters + newline
  EXPECT_EQ(Slurp(d + "/k.pub").size(), 41u);
  EXPECT_NE(Slurp(d + "/k.key"), Slurp(d + "/k.pub"));
}

TEST(KeygenTest, RefusesToOverwriteWithoutForceAndReplacesWithIt) {
  const std::string d = FreshDir("overwrite");
  ASSERT_EQ(RunTool(kKeygen, {d + "/k"}).exit_code, 0);
  const std::string key = Slurp(d + "/k.key"), pub = Slurp(d + "/k.pub");
  const auto again = RunTool(kKeygen, {d + "/k"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("exists; not replacing it without --force"), std::string::npos)
      << again.err;
  EXPECT_EQ(Slurp(d + "/k.key"), key);
  EXPECT_EQ(Slurp(d + "/k.pub"), pub);
  const auto forced = RunTool(kKeygen, {"--force", d + "/k"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(Slurp(d + "/k.key"), key);
  EXPECT_EQ(Mode(d + "/k.key"), 0600u);
}

TEST(KeygenTest, ExistingWorldReadableFileIsNotReusedForTheSecret) {
  const std::string d = FreshDir("readable");
  { std::ofstream(d + "/k.key") << "old\n"; }
  ASSERT_EQ(chmod((d + "/k.key").c_str(), 0644), 0);
  EXPECT_EQ(RunTool(kKeygen, {d + "/k"}).exit_code, 1);
  EXPECT_EQ(Slurp(d + "/k.key"), "old\n");  // untouched: no secret in a 0644 file
  ASSERT_EQ(RunTool(kKeygen, {"--force", d + "/k"}).exit_code, 0);
  EXPECT_EQ(Mode(d + "/k.key"), 0600u);  // a new file, not the old 0644 one
  EXPECT_EQ(Slurp(d + "/k.key").size(), 41u);
}

TEST(KeygenTest, NeverWritesThroughASymlink) {
  const std::string d = FreshDir("symlink");
  const std::string target = d + "/elsewhere";
  { std::ofstream(target) << "precious\n"; }
  ASSERT_EQ(symlink(target.c_str(), (d + "/k.key").c_str()), 0);
  EXPECT_EQ(RunTool(kKeygen, {d + "/k"}).exit_code, 1);
  EXPECT_EQ(Slurp(target), "precious\n");
  // A dangling symlink is refused too (O_EXCL|O_NOFOLLOW would not follow it anyway).
  ASSERT_EQ(symlink((d + "/nothing").c_str(), (d + "/j.key").c_str()), 0);
  EXPECT_EQ(RunTool(kKeygen, {d + "/j"}).exit_code, 1);
  EXPECT_NE(access((d + "/nothing").c_str(), F_OK), 0);
  // --force replaces the link itself; its target keeps its bytes.
  ASSERT_EQ(RunTool(kKeygen, {"--force", d + "/k"}).exit_code, 0);
  EXPECT_FALSE(IsSymlink(d + "/k.key"));
  EXPECT_EQ(Slurp(target), "precious\n");
  EXPECT_EQ(Mode(d + "/k.key"), 0600u);
}

TEST(KeygenTest, FlagsAreFlagsNotNames) {
  const std::string d = FreshDir("flags");
  for (const char* f : {"--help", "-h", "--version"}) {
    const auto r = RunTool(kKeygen, {f}, 10000, d);
    EXPECT_EQ(r.exit_code, 0) << f << ": " << r.err;
  }
  EXPECT_EQ(RunTool(kKeygen, {"--bogus"}, 10000, d).exit_code, 2);
  EXPECT_EQ(RunTool(kKeygen, {}, 10000, d).exit_code, 2);
  EXPECT_EQ(RunTool(kKeygen, {"a", "b"}, 10000, d).exit_code, 2);
  for (const char* f : {"--help.key", "--help.pub", "-h.key", "--version.key", "--bogus.key"}) {
    EXPECT_NE(access((d + "/" + f).c_str(), F_OK), 0) << f << " was written";
  }
}

}  // namespace
}  // namespace pktkit
