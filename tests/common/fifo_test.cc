// A FIFO output with no reader (issue 12): the program said nothing and hung in open(2). It now
// says it is waiting, and carries on once a reader comes.
#include "tools/common/fifo.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "tests/common/run_tool.h"
#include "tests/testing/tool_process.h"

namespace pktkit::tools {
namespace {

std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

TEST(FifoTest, DetectsAFifoWithoutReader) {
  const std::string fifo = Tmp("f1");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  char* buf = nullptr;
  size_t len = 0;
  FILE* mem = open_memstream(&buf, &len);
  EXPECT_TRUE(AnnounceFifoWait("prog", fifo, mem));
  std::fclose(mem);
  EXPECT_EQ(std::string(buf, len), "prog: waiting for a reader on FIFO " + fifo + "\n");
  free(buf);
  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  EXPECT_FALSE(FifoWithoutReader(fifo));  // a reader is there
  close(reader);
  EXPECT_FALSE(FifoWithoutReader(Tmp("no-such-file")));
  EXPECT_FALSE(FifoWithoutReader("/dev/null"));
}

// pktkit-fwd -w FIFO: the line appears while nobody reads, and the capture arrives once a
// reader opens the FIFO.
TEST(FifoTest, ToolSaysItIsWaitingThenWrites) {
  const std::string trace = Tmp("trace.pcap");
  ASSERT_EQ(testing::RunTool("tools/gen/pktkit-gen", {"-w", trace, "--flows", "3"}).exit_code, 0);
  const std::string fifo = Tmp("f2"), err = Tmp("fwd.err");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const pid_t pid = testing::SpawnTool(
      "tools/fwd/pktkit-fwd", {"-r", trace, "--top_speed", "-w", fifo, "--progress", "0"}, err);
  bool said = false;
  for (int i = 0; i < 200 && !said; ++i) {  // up to 10 s
    said = testing::Slurp(err).find("pktkit-fwd: waiting for a reader on FIFO " + fifo) !=
           std::string::npos;
    if (!said) usleep(50 * 1000);
  }
  EXPECT_TRUE(said) << testing::Slurp(err);
  const int reader = open(fifo.c_str(), O_RDONLY);
  ASSERT_GE(reader, 0);
  std::string got;
  char buf[65536];
  ssize_t n;
  while ((n = read(reader, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  close(reader);
  EXPECT_EQ(testing::WaitExit(pid, 10000), 0) << testing::Slurp(err);
  EXPECT_GT(got.size(), 24u);  // a pcap header and the encapsulated packets
}

}  // namespace
}  // namespace pktkit::tools
