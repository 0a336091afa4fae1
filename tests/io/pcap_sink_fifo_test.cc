// PcapSink on a real FIFO. FifoMode::kKeepAlive: without a reader the sink neither blocks nor
// fails (records dropped and counted), readers come and go (one that reads what it wants and
// closes, one that leaves in the middle of a large write, one that stops reading and is left
// behind), and every reader's bytes, given to
// libpcap (pcap_open_offline), are a capture of whole records (pcap and pcapng): a header first,
// then exactly the packets written while it was there. The process does not ignore SIGPIPE (gtest
// does not): the sink must not raise it. kWaitForReader (the default): a reader leaving is an EPIPE
// error.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "pktkit/io/pcap_sink.h"
#include "pktkit/io/pcapng_record.h"
#include "tests/testing/packet_samples.h"

namespace pktkit {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

std::string MakeFifo(const std::string& name) {
  const std::string p = TempPath(name);
  unlink(p.c_str());
  EXPECT_EQ(mkfifo(p.c_str(), 0600), 0) << std::strerror(errno);
  return p;
}

using Packets = samples::OwnedPackets;

// n packets, numbered from `first` (so each reader's share can be told apart); sizes cross
// PIPE_BUF (4096) so writes to the FIFO are split by the kernel.
Packets Make(size_t first, size_t n, size_t big = 9000) {
  Packets p;
  for (size_t i = first; i < first + n; ++i) {
    p.Add(i, i % 4 == 3 ? big : 60 + (i * 37) % 1400, 0,
          1700000000123456789LL + static_cast<int64_t>(i) * 1000);
  }
  return p;
}

// A reader on another thread: opens the FIFO (non-blocking, so the open itself never waits),
// says so, then reads until end of file or until it holds `limit` bytes, and closes.
class Reader {
 public:
  Reader(const std::string& path, size_t limit) {
    std::promise<void> opened;
    std::future<void> f = opened.get_future();
    thread_ = std::thread([this, path, limit, p = std::move(opened)]() mutable {
      const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      p.set_value();
      if (fd < 0) return;
      while (bytes_.size() < limit) {
        // Before a writer ever came, poll waits (no POLLHUP yet): pipe(7), fifo(7).
        pollfd pf{fd, POLLIN, 0};
        if (poll(&pf, 1, 20000) <= 0) break;  // nothing for 20 s: the test fails on the bytes
        char buf[65536];
        const size_t want = std::min(sizeof buf, limit - bytes_.size());
        const ssize_t n = read(fd, buf, want);
        if (n == 0) break;  // the writer closed
        if (n < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          break;
        }
        bytes_.append(buf, static_cast<size_t>(n));
      }
      close(fd);
    });
    f.wait();
  }
  // Waits for the reader to finish and returns what it read.
  std::string Join() {
    if (thread_.joinable()) thread_.join();
    return bytes_;
  }
  ~Reader() { Join(); }

 private:
  std::string bytes_;
  std::thread thread_;
};

using Format = PcapSinkOptions::Format;

// The bytes a reader gets for the file header and for records [off, off + n).
size_t HeaderBytes(Format f) {
  return f == Format::kPcap ? kPcapFileHeaderSize : PcapngShbSize("pktkit") + PcapngIdbSize();
}
size_t RecordBytes(const Packets& p, size_t off, size_t n, Format f) {
  size_t total = 0;
  for (size_t i = off; i < off + n; ++i) {
    const size_t c = p.views[i].caplen;
    total += f == Format::kPcap ? kPcapRecordHeaderSize + c : 32 + c + PcapngPadding(c);
  }
  return total;
}

// Gives `bytes` to libpcap (pcap_open_offline on a file holding them) and checks that the
// records are exactly `want[off, off + n)`, whole; with `prefix_only`, a torn last record and
// fewer records are allowed (a reader that left in the middle). Returns the records read.
size_t ExpectCapture(const std::string& bytes, const Packets& want, size_t off, size_t n,
                     bool prefix_only = false) {
  const std::string path = TempPath("reader.pcap");
  { std::ofstream(path, std::ios::binary) << bytes; }
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  EXPECT_NE(p, nullptr) << err << " (" << bytes.size() << " bytes)";
  if (p == nullptr) return 0;
  EXPECT_EQ(pcap_datalink(p), DLT_EN10MB);
  size_t i = 0;
  int rc;
  pcap_pkthdr* h;
  const u_char* d;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
    EXPECT_LT(i, n) << "more records than written to this reader";
    if (i >= n) break;
    const PacketView& v = want.views[off + i];
    EXPECT_EQ(h->caplen, v.caplen) << i;
    EXPECT_EQ(h->len, v.wire_len) << i;
    EXPECT_EQ(int64_t{h->ts.tv_sec} * 1000000000 + h->ts.tv_usec, v.timestamp_ns) << i;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(d), h->caplen),
              std::string(reinterpret_cast<const char*>(v.data), v.caplen))
        << i;
    ++i;
  }
  if (prefix_only) {
    EXPECT_LE(i, n);
  } else {
    EXPECT_EQ(rc, PCAP_ERROR_BREAK) << "not whole records: " << pcap_geterr(p);
    EXPECT_EQ(i, n);
  }
  pcap_close(p);
  return i;
}

class KeepAliveTest : public ::testing::TestWithParam<std::tuple<PcapSinkOptions::Method, Format>> {
};

TEST_P(KeepAliveTest, ReadersComeAndGoEachGetsAWholeCapture) {
  const auto [method, format] = GetParam();
  const std::string fifo = MakeFifo("keepalive_" + std::to_string(static_cast<int>(method)) +
                                    std::to_string(static_cast<int>(format)));
  std::vector<bool> said;
  PcapSinkOptions o;
  o.method = method;
  o.format = format;
  o.fifo_mode = PcapSinkOptions::FifoMode::kKeepAlive;
  o.buffer_bytes = 32 * 1024;
  o.on_fifo_reader = [&](const std::string& p, bool reader) {
    EXPECT_EQ(p, fifo);
    said.push_back(reader);
  };
  // No reader: Open neither blocks nor fails, and says so once.
  auto s = PcapSink::Open(fifo, o);
  ASSERT_TRUE(s.ok()) << s.status();
  PcapSink& sink = **s;
  EXPECT_FALSE(sink.is_open());
  Packets p = Make(0, 400);
  ASSERT_TRUE(sink.Write(p.batch(0, 10)).ok());
  ASSERT_TRUE(sink.Write(p.batch(10, 10)).ok());
  ASSERT_TRUE(sink.Flush().ok());
  EXPECT_EQ(sink.pcap_stats().dropped_no_reader, 20u);
  EXPECT_EQ(sink.stats().packets, 0u);
  EXPECT_EQ(said, std::vector<bool>{false});

  // Reader 1 reads exactly what is written to it, then closes; the next batches find it gone.
  {
    Reader r1(fifo, HeaderBytes(format) + RecordBytes(p, 20, 60, format));
    ASSERT_TRUE(sink.Write(p.batch(20, 30)).ok());
    ASSERT_TRUE(sink.Write(p.batch(50, 30)).ok());
    ASSERT_TRUE(sink.Flush().ok());
    ExpectCapture(r1.Join(), p, 20, 60);
  }
  EXPECT_EQ(sink.stats().packets, 60u);
  ASSERT_TRUE(sink.Write(p.batch(80, 10)).ok());  // the reader has gone: dropped, counted
  ASSERT_TRUE(sink.Flush().ok());
  EXPECT_FALSE(sink.is_open());
  EXPECT_EQ(sink.pcap_stats().reader_gone, 1u);
  EXPECT_EQ(sink.pcap_stats().dropped_no_reader, 30u);
  EXPECT_EQ(said, (std::vector<bool>{false, true, false}));

  // Reader 2 leaves in the middle of a large write (after 10000 bytes, so inside a record of
  // a kernel-split write): the sink sees EPIPE, drops the rest, does not die of SIGPIPE.
  {
    Reader r2(fifo, 10000);
    ASSERT_TRUE(sink.Write(p.batch(90, 100)).ok());
    ASSERT_TRUE(sink.Write(p.batch(190, 100)).ok());
    ASSERT_TRUE(sink.Flush().ok());
    const std::string got = r2.Join();
    EXPECT_EQ(got.size(), 10000u);
    ExpectCapture(got, p, 90, 200, /*prefix_only=*/true);
  }
  ASSERT_TRUE(sink.Write(p.batch(290, 10)).ok());  // makes sure the sink has seen it leave
  EXPECT_FALSE(sink.is_open());
  EXPECT_EQ(sink.pcap_stats().reader_gone, 2u);
  EXPECT_EQ(sink.pcap_stats().reader_opens, 2u);

  // Reader 3 arrives after all that: a fresh header, then exactly what was written while it
  // was there, whole, up to the end (Close).
  {
    Reader r3(fifo, SIZE_MAX);
    ASSERT_TRUE(sink.Write(p.batch(300, 50)).ok());
    ASSERT_TRUE(sink.Write(p.batch(350, 50)).ok());
    ASSERT_TRUE(sink.Close().ok());
    ExpectCapture(r3.Join(), p, 300, 100);
  }
  const PcapSinkStats& st = sink.pcap_stats();
  EXPECT_EQ(st.reader_opens, 3u);
  EXPECT_EQ(st.write_errors, 0u);
  // Every packet is either written (to some reader) or counted as dropped.
  EXPECT_EQ(st.packets + st.dropped_no_reader, 400u);
  EXPECT_EQ(sink.stats().dropped, st.dropped_no_reader);
  EXPECT_EQ(said, (std::vector<bool>{false, true, false, true, false, true}));
}

INSTANTIATE_TEST_SUITE_P(MethodsAndFormats, KeepAliveTest,
                         ::testing::Combine(::testing::Values(PcapSinkOptions::Method::kAuto,
                                                              PcapSinkOptions::Method::kBuffered,
                                                              PcapSinkOptions::Method::kWritev),
                                            ::testing::Values(Format::kPcap, Format::kPcapng)));

// The reader leaves with bytes unread in the pipe while the sink is idle; the next reader
// must not get those bytes (a stream without its header): Flush, on a tick, notices the
// reader has gone and closes the FIFO, which frees the pipe and what it held.
TEST(KeepAliveFifoTest, UnreadBytesOfALeftReaderNeverReachTheNext) {
  const std::string fifo = MakeFifo("keepalive_unread");
  PcapSinkOptions o;
  o.fifo_mode = PcapSinkOptions::FifoMode::kKeepAlive;
  o.method = PcapSinkOptions::Method::kBuffered;
  auto s = PcapSink::Open(fifo, o);
  ASSERT_TRUE(s.ok()) << s.status();
  Packets p = Make(0, 20, 100);
  {
    Reader r1(fifo, 30);  // reads the header and a few bytes, leaves the rest in the pipe
    ASSERT_TRUE((*s)->Write(p.batch(0, 10)).ok());
    ASSERT_TRUE((*s)->Flush().ok());
    EXPECT_EQ(r1.Join().size(), 30u);
  }
  ASSERT_TRUE((*s)->Flush().ok());  // the idle tick
  EXPECT_FALSE((*s)->is_open());
  EXPECT_EQ((*s)->pcap_stats().reader_gone, 1u);
  {
    Reader r2(fifo, SIZE_MAX);
    ASSERT_TRUE((*s)->Write(p.batch(10, 10)).ok());
    ASSERT_TRUE((*s)->Close().ok());
    ExpectCapture(r2.Join(), p, 10, 10);
  }
}

// A reader that opens the FIFO and then reads nothing: once the pipe is full, no write waits
// longer than fifo_stall_ms for it. It is left behind (its bytes: a header and whole records
// up to where it stopped, perhaps one torn), later records are dropped and counted, nothing
// more is written into its pipe, and after it leaves the next reader gets a whole capture.
TEST(KeepAliveFifoTest, AReaderThatStopsReadingIsLeftBehind) {
  const std::string fifo = MakeFifo("keepalive_stalled");
  PcapSinkOptions o;
  o.fifo_mode = PcapSinkOptions::FifoMode::kKeepAlive;
  o.method = PcapSinkOptions::Method::kWritev;
  o.fifo_stall_ms = 100;
  std::vector<bool> said;
  o.on_fifo_reader = [&](const std::string&, bool reader) { said.push_back(reader); };
  auto s = PcapSink::Open(fifo, o);
  ASSERT_TRUE(s.ok()) << s.status();
  const int stuck = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(stuck, 0) << std::strerror(errno);
  Packets p = Make(0, 50);  // every 4th of 9000 bytes
  ASSERT_TRUE((*s)->Write(p.batch(0, 3)).ok());    // three small records: they fit
  ASSERT_TRUE((*s)->Write(p.batch(3, 27)).ok());   // 78 KB: fills a 64 KiB pipe, then stalls
  ASSERT_TRUE((*s)->Write(p.batch(30, 10)).ok());  // dropped at once
  ASSERT_TRUE((*s)->Flush().ok());
  const PcapSinkStats& st = (*s)->pcap_stats();
  EXPECT_EQ(st.reader_stalled, 1u);
  EXPECT_FALSE((*s)->is_open());
  EXPECT_EQ(st.packets, 3u);
  EXPECT_EQ(st.dropped_no_reader, 37u);  // the write in progress counts as dropped, as for EPIPE
  // What the stuck reader holds is a capture of the first records, nothing of the later ones.
  std::string got;
  char buf[65536];
  ssize_t n;
  while ((n = read(stuck, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  EXPECT_GE(ExpectCapture(got, p, 0, 30, /*prefix_only=*/true), 3u);
  ASSERT_TRUE((*s)->Write(p.batch(40, 2)).ok());  // drained but still left behind: dropped
  EXPECT_EQ((*s)->pcap_stats().dropped_no_reader + (*s)->pcap_stats().packets, 42u);
  EXPECT_EQ(read(stuck, buf, sizeof buf), -1);  // nothing more came: EAGAIN
  close(stuck);
  ASSERT_TRUE((*s)->Flush().ok());  // the idle tick sees it gone
  EXPECT_EQ((*s)->pcap_stats().reader_gone, 1u);
  {
    Reader r2(fifo, SIZE_MAX);
    ASSERT_TRUE((*s)->Write(p.batch(42, 8)).ok());
    ASSERT_TRUE((*s)->Close().ok());
    ExpectCapture(r2.Join(), p, 42, 8);
  }
  EXPECT_EQ(said, (std::vector<bool>{false, true, false, true}));
}

// link_type_from_first_packet with a FIFO and no reader: nothing waits, the first batch fixes
// the link type, and Close without any reader is not an error.
TEST(KeepAliveFifoTest, NoReaderEverIsNotAnError) {
  const std::string fifo = MakeFifo("keepalive_never");
  PcapSinkOptions o;
  o.fifo_mode = PcapSinkOptions::FifoMode::kKeepAlive;
  o.link_type_from_first_packet = true;
  int said_none = 0;
  o.on_fifo_reader = [&](const std::string&, bool reader) { said_none += reader ? 100 : 1; };
  auto s = PcapSink::Open(fifo, o);
  ASSERT_TRUE(s.ok()) << s.status();
  Packets p = Make(0, 5);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*s)->Write(p.batch(0, 5)).ok());
  EXPECT_TRUE((*s)->Close().ok());
  EXPECT_EQ((*s)->pcap_stats().dropped_no_reader, 15u);
  EXPECT_EQ(said_none, 1);  // said once, not per batch
}

// The default mode is unchanged: a reader that leaves ends the run with EPIPE, as a status
// (no SIGPIPE, although this process does not ignore it).
TEST(WaitForReaderFifoTest, ReaderLeavingIsAnError) {
  const std::string fifo = MakeFifo("wait_epipe");
  ASSERT_NE(signal(SIGPIPE, SIG_DFL), SIG_ERR);
  Reader r(fifo, 10);
  PcapSinkOptions o;
  o.method = PcapSinkOptions::Method::kWritev;
  auto s = PcapSink::Open(fifo, o);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(r.Join().size(), 10u);
  Packets p = Make(0, 10);
  absl::Status st = (*s)->Write(p.batch(0, 10));
  if (st.ok()) st = (*s)->Flush();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Broken pipe"), std::string::npos) << st;
  EXPECT_EQ((*s)->stats().packets, 0u);
  EXPECT_EQ((*s)->pcap_stats().write_errors, 10u);
}

}  // namespace
}  // namespace pktkit
