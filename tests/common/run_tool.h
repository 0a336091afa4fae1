// tests/common/run_tool.h — run a program to completion with its stdout and stderr captured
// (bounded: a program that does not exit within the timeout is killed and reported as -2).
#ifndef PKTKIT_TESTS_COMMON_RUN_TOOL_H_
#define PKTKIT_TESTS_COMMON_RUN_TOOL_H_

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/tool_process.h"

namespace pktkit::testing {

struct ToolRun {
  int exit_code;  // -1 killed by a signal, -2 timed out
  std::string out;
  std::string err;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline ToolRun RunTool(const std::string& tool, std::vector<std::string> args,
                       int timeout_ms = 10000, const std::string& cwd = "") {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string base =
      std::string(tmp ? tmp : "/tmp") + "/run_tool." + std::to_string(getpid());
  const std::string out_path = base + ".out", err_path = base + ".err";
  std::string abs_tool = tool;
  if (!tool.empty() && tool[0] != '/') {
    char buf[4096];
    if (getcwd(buf, sizeof buf) != nullptr) abs_tool = std::string(buf) + "/" + tool;
  }
  args.insert(args.begin(), abs_tool);
  const pid_t pid = fork();
  if (pid == 0) {
    const int o = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(abs_tool.c_str(), argv.data());
    _exit(127);
  }
  ToolRun r;
  r.exit_code = WaitExit(pid, timeout_ms);
  r.out = Slurp(out_path);
  r.err = Slurp(err_path);
  return r;
}

}  // namespace pktkit::testing

#endif  // PKTKIT_TESTS_COMMON_RUN_TOOL_H_
