// First contact with every program (issue 12): --help and -h list the program's own flags with
// their defaults and exit 0 (they printed "No flags matched." and exited 1), --version prints
// the project version (it printed "Debug build (NDEBUG not #defined)"), and usage errors (an
// unknown flag, a flag without its value, a bad value, missing arguments) exit 2 everywhere
// (pktkit-fwd used 1).
#include <gtest/gtest.h>

#include <string>

#include "pktkit/version.h"
#include "tests/common/run_tool.h"

namespace pktkit {
namespace {

using testing::RunTool;

struct Program {
  const char* path;      // runfiles path
  const char* own_flag;  // one of its own flags, which --help must list with its default
  const char* default_text;
};

const Program kPrograms[] = {
    {"tools/recv/pktkit-recv", "--encap", "(default: \"\")"},
    {"tools/capture/pktkit-capture", "--snaplen", "(default: 262144)"},
    {"tools/fwd/pktkit-fwd", "--mtu", "(default: 1500)"},
    {"tools/gen/pktkit-gen", "--flows", "(default: 10)"},
    {"tools/nflog/nflog-zmq-send", "--sndhwm", "(default: 10000)"},
    {"tools/nflog/nflog-pcap-recv", "--rcvhwm", "(default: 10000)"},
    {"tools/nflog/nflog-pcap-query", "--timeout_ms", "(default: 5000)"},
    {"tools/nflog/nflog-zmq-compress", "--hwm", "(default: 10000)"},
    {"tools/nflog/nflog-zmq-decompress", "--hwm", "(default: 10000)"},
    {"tools/nflog/nflog-zmq-keygen", "--force", "(default: false)"},
};

class CliTest : public ::testing::TestWithParam<Program> {};

TEST_P(CliTest, HelpListsOwnFlagsWithDefaults) {
  for (const char* flag : {"--help", "-h", "-help"}) {
    const auto r = RunTool(GetParam().path, {flag});
    EXPECT_EQ(r.exit_code, 0) << flag << ": " << r.err;
    const size_t at = r.out.find(std::string(GetParam().own_flag) + "=VALUE\n");
    const size_t bool_at = r.out.find(std::string(GetParam().own_flag) + "\n");
    ASSERT_TRUE(at != std::string::npos || bool_at != std::string::npos) << flag << ":\n" << r.out;
    EXPECT_NE(r.out.find(GetParam().default_text), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("No flags matched"), std::string::npos);
    EXPECT_EQ(r.out.find("--flagfile"), std::string::npos) << "Abseil's own flags are left out";
  }
}

TEST_P(CliTest, VersionPrintsTheProjectVersion) {
  const auto r = RunTool(GetParam().path, {"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string path = GetParam().path;
  const std::string name = path.substr(path.rfind('/') + 1);
  EXPECT_EQ(r.out, name + " " + kVersion + "\n");
}

TEST_P(CliTest, UsageErrorsExitTwo) {
  const auto unknown = RunTool(GetParam().path, {"--no_such_flag=1"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("unknown flag '--no_such_flag=1'"), std::string::npos) << unknown.err;
  const auto none = RunTool(GetParam().path, {});  // every program needs something
  EXPECT_EQ(none.exit_code, 2) << none.err;
  EXPECT_EQ(none.err.find("final"), std::string::npos) << "no counter line before a usage error";
}

INSTANTIATE_TEST_SUITE_P(EveryProgram, CliTest, ::testing::ValuesIn(kPrograms),
                         [](const ::testing::TestParamInfo<Program>& i) {
                           std::string n = i.param.path;
                           n = n.substr(n.rfind('/') + 1);
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

TEST(CliTest, BadFlagValuesAndMissingValuesExitTwo) {
  auto r = RunTool("tools/gen/pktkit-gen", {"--flows=many", "-w", "x.pcap"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("bad value for '--flows'"), std::string::npos) << r.err;
  r = RunTool("tools/gen/pktkit-gen", {"-w"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("needs a value"), std::string::npos) << r.err;
  r = RunTool("tools/fwd/pktkit-fwd", {"-r", "x.pcap", "--encap", "nvgre", "--dest", "127.0.0.1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // A file that cannot be read is a run-time failure (1), not a usage error.
  r = RunTool("tools/fwd/pktkit-fwd", {"-r", "/nonexistent.pcap", "--dest", "127.0.0.1"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
}

}  // namespace
}  // namespace pktkit
