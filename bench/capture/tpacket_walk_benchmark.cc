// Micro-benchmark of the TPACKET_V3 block walker over synthetic blocks (no socket): packets/s
// for untagged frames and for frames whose stripped VLAN tag is reinserted, against a baseline
// that only memcpy's each frame out of the block.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "pktkit/io/tpacket_ring.h"
#include "tests/capture/synthetic_block.h"

namespace {

constexpr size_t kBlock = 1 << 20;

pktkit::testing::SyntheticBlock MakeBlock(size_t frame_len, bool tagged, size_t* count) {
  pktkit::testing::SyntheticBlock b(kBlock, 4);
  std::vector<uint8_t> f(frame_len, 0xab);
  f[12] = 0x08;
  f[13] = 0x00;
  *count = 0;
  while (b.Add(f, tagged ? TP_STATUS_VLAN_VALID : 0, 0, 100, 0) != 0) ++*count;
  b.Finish(1);
  return b;
}

void Walk(benchmark::State& state, bool tagged) {
  size_t count = 0;
  pktkit::testing::SyntheticBlock b =
      MakeBlock(static_cast<size_t>(state.range(0)), tagged, &count);
  pktkit::RingCounters c;
  pktkit::BlockWalker w(&c);
  uint64_t sum = 0;
  for (auto _ : state) {
    w.Begin(b.data(), b.size());
    pktkit::PacketView v;
    while (w.Next(&v)) sum += v.caplen + v.data[0];
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
}

void BM_TpacketWalk_Untagged(benchmark::State& state) { Walk(state, false); }
void BM_TpacketWalk_VlanReinsert(benchmark::State& state) { Walk(state, true); }

// Baseline: copy every frame out of the block (what a copying reader would at least pay).
void BM_TpacketWalk_Baseline(benchmark::State& state) {
  const size_t len = static_cast<size_t>(state.range(0));
  size_t count = 0;
  pktkit::testing::SyntheticBlock b = MakeBlock(len, false, &count);
  std::vector<uint8_t> dst(len);
  const size_t stride = TPACKET_ALIGN(TPACKET_ALIGN(TPACKET3_HDRLEN + 16) + 4 - 14 + len);
  const size_t first = TPACKET_ALIGN(sizeof(tpacket_block_desc)) + 82 + 4;
  for (auto _ : state) {
    for (size_t i = 0; i < count; ++i) std::memcpy(dst.data(), b.data() + first + i * stride, len);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
}

BENCHMARK(BM_TpacketWalk_Baseline)->Arg(64)->Arg(512)->Arg(1500)->Arg(9000);
BENCHMARK(BM_TpacketWalk_Untagged)->Arg(64)->Arg(512)->Arg(1500)->Arg(9000);
BENCHMARK(BM_TpacketWalk_VlanReinsert)->Arg(64)->Arg(512)->Arg(1500)->Arg(9000);

}  // namespace
