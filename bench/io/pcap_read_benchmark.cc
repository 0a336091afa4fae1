// Reading a capture file: PcapMmapReader (mapped, views into the file, no copy) against
// libpcap's pcap_next_ex (the baseline, in this binary) and pktkit's libpcap-based PcapReader
// (which copies each batch into its own arena).
//
//   bazel run --config=bench //bench/io:pcap_read_benchmark -- --benchmark_repetitions=3
//
// One iteration opens the file and reads all of its 20,000 packets, touching the first and last
// byte of each (what any consumer does at least); items are packets. The file is written once
// per size to /dev/shm (tmpfs, falling back to $TMPDIR) so the disk is never measured, only
// the page cache: the same condition for all readers. Sizes are Ethernet frame bytes.
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "pktkit/io/pcap.h"
#include "pktkit/io/pcap_mmap_reader.h"

namespace pktkit {
namespace {

constexpr int kPackets = 20000;

const std::string& TraceFile(size_t frame) {
  static std::string paths[4];
  const int k = frame == 64 ? 0 : frame == 512 ? 1 : frame == 1500 ? 2 : 3;
  if (!paths[k].empty()) return paths[k];
  const std::string dir = access("/dev/shm", W_OK) == 0      ? "/dev/shm"
                          : std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR")
                                                             : "/tmp";
  paths[k] = dir + "/pktkit_pcap_read_bench_" + std::to_string(getpid()) + "_" +
             std::to_string(frame) + ".pcap";
  pcap_t* dead =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
  pcap_dumper_t* d = pcap_dump_open(dead, paths[k].c_str());
  std::vector<uint8_t> f(frame);
  for (size_t i = 0; i < frame; ++i) f[i] = static_cast<uint8_t>(i * 7);
  for (int i = 0; i < kPackets; ++i) {
    pcap_pkthdr h = {};
    h.caplen = h.len = static_cast<bpf_u_int32>(frame);
    h.ts.tv_sec = 1700000000 + i / 1000;
    h.ts.tv_usec = i;
    f[20] = static_cast<uint8_t>(i);
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
  std::atexit([] {
    for (const std::string& p : paths) {
      if (!p.empty()) unlink(p.c_str());
    }
  });
  return paths[k];
}

void Finish(benchmark::State& state, int64_t packets, size_t frame) {
  state.SetItemsProcessed(packets);
  state.SetBytesProcessed(packets * static_cast<int64_t>(frame));
}

void BM_PcapRead_Baseline_LibpcapNextEx(benchmark::State& state) {
  const size_t frame = static_cast<size_t>(state.range(0));
  const std::string& path = TraceFile(frame);
  int64_t packets = 0;
  for (auto _ : state) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    if (p == nullptr) {
      state.SkipWithError(err);
      return;
    }
    pcap_pkthdr* h;
    const u_char* d;
    uint32_t touch = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
      touch += d[0] + d[h->caplen - 1];
      ++packets;
    }
    benchmark::DoNotOptimize(touch);
    pcap_close(p);
  }
  Finish(state, packets, frame);
}

// Reads the whole trace through a pktkit PacketSource (PcapMmapReader or PcapReader), touching
// the first and last byte of every packet as the libpcap loop does.
template <typename Reader>
void ReadThroughSource(benchmark::State& state) {
  const size_t frame = static_cast<size_t>(state.range(0));
  const std::string& path = TraceFile(frame);
  int64_t packets = 0;
  for (auto _ : state) {
    auto r = Reader::Open(path);
    if (!r.ok()) {
      state.SkipWithError("open");
      return;
    }
    uint32_t touch = 0;
    while (true) {
      absl::StatusOr<PacketBatch> b = (*r)->NextBatch(0);
      if (!b.ok()) break;
      for (const PacketView& v : *b) touch += v.data[0] + v.data[v.caplen - 1];
      packets += static_cast<int64_t>(b->size);
      (*r)->ReleaseBatch();
    }
    benchmark::DoNotOptimize(touch);
  }
  Finish(state, packets, frame);
}

void BM_PcapRead_Mmap(benchmark::State& state) { ReadThroughSource<PcapMmapReader>(state); }

void BM_PcapRead_PcapReaderCopying(benchmark::State& state) {
  ReadThroughSource<PcapReader>(state);
}

#define PKTKIT_SIZES Arg(64)->Arg(512)->Arg(1500)->Arg(9000)->Unit(benchmark::kMillisecond)
BENCHMARK(BM_PcapRead_Baseline_LibpcapNextEx)->PKTKIT_SIZES;
BENCHMARK(BM_PcapRead_Mmap)->PKTKIT_SIZES;
BENCHMARK(BM_PcapRead_PcapReaderCopying)->PKTKIT_SIZES;

}  // namespace
}  // namespace pktkit
