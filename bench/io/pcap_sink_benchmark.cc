// The pcap sink's write methods (buffered, writev, auto) against the baseline, libpcap's pcap_dump
// (what PcapWriter and the old tools used), in the same binary: 64-packet batches of 64, 512, 1500
// and 9000-byte packets written to a file in the page cache (and to /dev/null, which shows the
// per-call cost alone). Items are packets, so results read as packets/s; compare ratios.
// BM_PcapngSink_* write the same batches as pcapng (EPB per packet: 28-byte header, padding,
// trailing length) with the same methods; libpcap has no pcapng writer, so their ratio is to the
// pcap rows of the same method (and to the baseline).
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "pktkit/io/pcap_sink.h"

namespace {

constexpr size_t kBatch = 64;

std::string OutPath(bool dev_null) {
  if (dev_null) return "/dev/null";
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/pktkit_pcap_sink_bench.pcap";
}

struct Batch {
  explicit Batch(size_t size) : bytes(kBatch * size, 0x5a), views(kBatch) {
    for (size_t i = 0; i < kBatch; ++i) {
      views[i].data = bytes.data() + i * size;
      views[i].caplen = views[i].wire_len = static_cast<uint32_t>(size);
      views[i].timestamp_ns = 1700000000000000000LL + static_cast<int64_t>(i);
    }
  }
  pktkit::PacketBatch batch() const { return pktkit::PacketBatch{views.data(), views.size()}; }
  std::vector<uint8_t> bytes;
  std::vector<pktkit::PacketView> views;
};

void RunSink(benchmark::State& state, pktkit::PcapSinkOptions::Method method,
             pktkit::PcapSinkOptions::Format format = pktkit::PcapSinkOptions::Format::kPcap) {
  const size_t size = static_cast<size_t>(state.range(0));
  const bool dev_null = state.range(1) != 0;
  Batch b(size);
  pktkit::PcapSinkOptions o;
  o.method = method;
  o.format = format;
  o.atomic_rename = false;
  uint64_t since_reopen = 0;
  auto s = pktkit::PcapSink::Open(OutPath(dev_null), o);
  for (auto _ : state) {
    if (!(*s)->Write(b.batch()).ok()) state.SkipWithError("write failed");
    // Keep the file (and the page cache it fills) bounded: start over every ~256 MiB.
    since_reopen += kBatch * size;
    if (since_reopen > (256u << 20)) {
      state.PauseTiming();
      (*s)->Close().IgnoreError();
      s = pktkit::PcapSink::Open(OutPath(dev_null), o);
      since_reopen = 0;
      state.ResumeTiming();
    }
  }
  (*s)->Close().IgnoreError();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBatch * size));
}

void BM_PcapSink_Buffered(benchmark::State& state) {
  RunSink(state, pktkit::PcapSinkOptions::Method::kBuffered);
}
void BM_PcapSink_Writev(benchmark::State& state) {
  RunSink(state, pktkit::PcapSinkOptions::Method::kWritev);
}
void BM_PcapSink_Auto(benchmark::State& state) {
  RunSink(state, pktkit::PcapSinkOptions::Method::kAuto);
}

void BM_PcapngSink_Buffered(benchmark::State& state) {
  RunSink(state, pktkit::PcapSinkOptions::Method::kBuffered,
          pktkit::PcapSinkOptions::Format::kPcapng);
}
void BM_PcapngSink_Writev(benchmark::State& state) {
  RunSink(state, pktkit::PcapSinkOptions::Method::kWritev,
          pktkit::PcapSinkOptions::Format::kPcapng);
}
void BM_PcapngSink_Auto(benchmark::State& state) {
  RunSink(state, pktkit::PcapSinkOptions::Method::kAuto, pktkit::PcapSinkOptions::Format::kPcapng);
}

// Baseline: libpcap's dumper (stdio-buffered fwrite of header and bytes per packet).
void BM_PcapSink_Baseline(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const bool dev_null = state.range(1) != 0;
  Batch b(size);
  pcap_t* dead =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
  pcap_dumper_t* d = pcap_dump_open(dead, OutPath(dev_null).c_str());
  uint64_t since_reopen = 0;
  for (auto _ : state) {
    for (const pktkit::PacketView& v : b.views) {
      pcap_pkthdr h;
      h.caplen = v.caplen;
      h.len = v.wire_len;
      h.ts.tv_sec = static_cast<time_t>(v.timestamp_ns / 1000000000);
      h.ts.tv_usec = static_cast<suseconds_t>(v.timestamp_ns % 1000000000);
      pcap_dump(reinterpret_cast<u_char*>(d), &h, v.data);
    }
    since_reopen += kBatch * size;
    if (since_reopen > (256u << 20)) {
      state.PauseTiming();
      pcap_dump_close(d);
      d = pcap_dump_open(dead, OutPath(dev_null).c_str());
      since_reopen = 0;
      state.ResumeTiming();
    }
  }
  pcap_dump_flush(d);
  pcap_dump_close(d);
  pcap_close(dead);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBatch * size));
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int dev_null : {0, 1}) {
    for (int size : {64, 512, 1500, 9000}) b->Args({size, dev_null});
  }
  b->ArgNames({"bytes", "devnull"});
}

BENCHMARK(BM_PcapSink_Baseline)->Apply(Sizes);
BENCHMARK(BM_PcapSink_Buffered)->Apply(Sizes);
BENCHMARK(BM_PcapSink_Writev)->Apply(Sizes);
BENCHMARK(BM_PcapSink_Auto)->Apply(Sizes);
BENCHMARK(BM_PcapngSink_Buffered)->Apply(Sizes);
BENCHMARK(BM_PcapngSink_Writev)->Apply(Sizes);
BENCHMARK(BM_PcapngSink_Auto)->Apply(Sizes);

}  // namespace
