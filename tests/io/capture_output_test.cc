// CaptureOutput on its own (PcapSink's tests cover it through the sink): the bytes given reach a
// regular file only at a committed Close (temporary name until then, removed otherwise); writing
// before Create or after Close is refused, not attempted; /dev/full's real error is kept and its
// records counted as lost; a keep-alive FIFO without a reader drops and counts, gives a reader
// that appears the file header given to Create, and notices the reader leaving.
#include "pktkit/io/capture_output.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace pktkit {
namespace {

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir ? dir : "/tmp";
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Files in `dir` whose names start with `prefix` (the output's temporary names).
int CountWithPrefix(const std::string& dir, const std::string& prefix) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) {
    if (std::string(e->d_name).rfind(prefix, 0) == 0) ++n;
  }
  closedir(d);
  return n;
}

std::vector<uint8_t> Bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

TEST(CaptureOutputTest, RegularFileAppearsOnlyAtCommittedClose) {
  const std::string dir = TempDir() + "/commit";
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/out.bin";
  unlink(path.c_str());
  CaptureOutputStats stats;
  CaptureOutput out(path, CaptureOutputOptions{}, &stats);
  ASSERT_TRUE(out.Prepare().ok());
  ASSERT_TRUE(out.Create(Bytes("HEADER")).ok());
  EXPECT_FALSE(Exists(path));  // written under a temporary name
  EXPECT_EQ(CountWithPrefix(dir, "out.bin.pktkit-"), 1);
  std::string a = "rec-one|", b = "rec-two|";
  iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  bool written = false;
  ASSERT_TRUE(out.ServeReader());
  ASSERT_TRUE(out.WriteAll(iov, 2, /*records=*/2, &written).ok());
  EXPECT_TRUE(written);
  ASSERT_TRUE(out.Close(/*commit=*/true).ok());
  EXPECT_EQ(ReadFile(path), "HEADERrec-one|rec-two|");
  EXPECT_EQ(CountWithPrefix(dir, "out.bin.pktkit-"), 0);
  EXPECT_EQ(stats.writes, 2u);  // the header, then both records in one writev
  EXPECT_EQ(stats.write_errors, 0u);
  EXPECT_TRUE(out.Close(true).ok());  // twice is harmless

  // An uncommitted output leaves the committed file as it was and no temporary behind.
  {
    CaptureOutput again(path, CaptureOutputOptions{}, nullptr);
    ASSERT_TRUE(again.Prepare().ok());
    ASSERT_TRUE(again.Create(Bytes("OTHER")).ok());
    EXPECT_TRUE(again.Close(/*commit=*/false).ok());
  }
  EXPECT_EQ(ReadFile(path), "HEADERrec-one|rec-two|");
  EXPECT_EQ(CountWithPrefix(dir, "out.bin.pktkit-"), 0);
}

TEST(CaptureOutputTest, WritingWhenNotOpenIsRefused) {
  const std::string path = TempDir() + "/not_open.bin";
  CaptureOutput out(path, CaptureOutputOptions{}, nullptr);
  ASSERT_TRUE(out.Prepare().ok());
  std::string a = "x";
  iovec iov{a.data(), a.size()};
  bool written = true;
  absl::Status st = out.WriteAll(&iov, 1, 1, &written);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_FALSE(written);
  EXPECT_EQ(out.stats().writes, 0u);
  ASSERT_TRUE(out.Create(Bytes("H")).ok());
  ASSERT_TRUE(out.Close(true).ok());
  iov = iovec{a.data(), a.size()};
  EXPECT_EQ(out.WriteAll(&iov, 1, 1, &written).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadFile(path), "H");
}

TEST(CaptureOutputTest, DirectoryAndMissingDirectoryFailAtPrepare) {
  CaptureOutput d(TempDir(), CaptureOutputOptions{}, nullptr);
  EXPECT_EQ(d.Prepare().code(), absl::StatusCode::kFailedPrecondition);
  CaptureOutput m(TempDir() + "/no/such/dir/x.bin", CaptureOutputOptions{}, nullptr);
  absl::Status st = m.Prepare();
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound) << st;
  EXPECT_NE(st.message().find("no/such/dir"), std::string::npos) << st;
}

TEST(CaptureOutputTest, DevFullKeepsTheRealErrorAndCountsTheLostRecords) {
  if (!Exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  CaptureOutputStats stats;
  CaptureOutput out("/dev/full", CaptureOutputOptions{}, &stats);
  ASSERT_TRUE(out.Prepare().ok());
  absl::Status st = out.Create(Bytes("HEADER"));  // the header write already fails
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st;
  EXPECT_EQ(stats.write_errors, 0u);  // a header holds no record
  std::string a = "rec";
  iovec iov{a.data(), a.size()};
  bool written = true;
  EXPECT_EQ(out.WriteAll(&iov, 1, 3, &written), st);  // kept: not tried again
  EXPECT_FALSE(written);
  EXPECT_EQ(out.Close(true), st);
}

TEST(CaptureOutputTest, KeepAliveFifoDropsWithoutReaderAndGreetsEachReader) {
  const std::string path = TempDir() + "/keepalive.fifo";
  unlink(path.c_str());
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
  CaptureOutputOptions o;
  o.fifo_mode = CaptureOutputOptions::FifoMode::kKeepAlive;
  std::vector<int> said;
  o.on_fifo_reader = [&said](const std::string&, bool r) { said.push_back(r ? 1 : 0); };
  CaptureOutputStats stats;
  CaptureOutput out(path, o, &stats);
  ASSERT_TRUE(out.Prepare().ok());
  ASSERT_TRUE(out.keep_alive());
  ASSERT_TRUE(out.Create(Bytes("HDR")).ok());  // no reader: no error, no wait
  EXPECT_FALSE(out.ServeReader());
  EXPECT_FALSE(out.is_open());
  std::string rec = "record";
  iovec iov{rec.data(), rec.size()};
  bool written = true;
  ASSERT_TRUE(out.WriteAll(&iov, 1, 3, &written).ok());
  EXPECT_FALSE(written);
  EXPECT_EQ(stats.dropped_no_reader, 3u);

  // A reader appears: the header comes first, then what is written while it is there.
  const int rd = open(path.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(rd, 0) << std::strerror(errno);
  ASSERT_TRUE(out.ServeReader());
  EXPECT_EQ(stats.reader_opens, 1u);
  iov = iovec{rec.data(), rec.size()};
  ASSERT_TRUE(out.WriteAll(&iov, 1, 1, &written).ok());
  EXPECT_TRUE(written);
  char buf[64];
  const ssize_t n = read(rd, buf, sizeof(buf));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "HDRrecord");
  EXPECT_FALSE(out.CheckReader(0));  // still there

  // It leaves: noticed, counted, the records held for it dropped and counted.
  close(rd);
  EXPECT_TRUE(out.CheckReader(/*pending_records=*/2));
  EXPECT_EQ(stats.reader_gone, 1u);
  EXPECT_EQ(stats.dropped_no_reader, 5u);
  EXPECT_FALSE(out.is_open());
  EXPECT_EQ(said, (std::vector<int>{0, 1, 0}));
  EXPECT_EQ(stats.write_errors, 0u);
  EXPECT_TRUE(out.Close(true).ok());
  unlink(path.c_str());
}

}  // namespace
}  // namespace pktkit
