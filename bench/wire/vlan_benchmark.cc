// VLAN tag reinsertion and Ethernet parsing against a memcpy of the same frame.
//
//   bazel run --config=bench //bench/wire:vlan_benchmark
//
// One frame per iteration over 64/512/1500/9000-byte frames; items are packets. The baseline
// copies the frame once (what a copying re-tagging path costs at least); InsertVlanTag moves
// only the 12 MAC bytes, so its cost does not grow with the frame.
#include <cstdint>
#include <cstring>
#include <vector>

#include "benchmark/benchmark.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/vlan.h"

namespace pktkit {
namespace {

constexpr size_t kHeadroom = 64;

std::vector<uint8_t> Buffer(size_t n) {
  std::vector<uint8_t> b(kHeadroom + n);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 7);
  b[kHeadroom + 12] = 0x08;
  b[kHeadroom + 13] = 0x00;
  return b;
}

void BM_VlanInsert_Reinsert(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf = Buffer(n);
  const VlanTag tag{kTpid8021Q, 0x2064};
  for (auto _ : state) {
    VlanInsertResult r = InsertVlanTag(buf.data() + kHeadroom, n, kHeadroom, tag);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}

void BM_VlanInsert_ReinsertAndParse(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf = Buffer(n);
  const VlanTag tag{kTpid8021AD, 0x2064};
  for (auto _ : state) {
    VlanInsertResult r = InsertVlanTag(buf.data() + kHeadroom, n, kHeadroom, tag);
    EthernetHeader eth;
    benchmark::DoNotOptimize(ParseEthernet(ByteSpan(r.frame, r.length), &eth));
    benchmark::DoNotOptimize(eth);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}

void BM_VlanInsert_Baseline(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> src = Buffer(n);
  std::vector<uint8_t> dst(n + 4);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data() + kHeadroom, n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}

BENCHMARK(BM_VlanInsert_Baseline)->Arg(64)->Arg(512)->Arg(1500)->Arg(9000);
BENCHMARK(BM_VlanInsert_Reinsert)->Arg(64)->Arg(512)->Arg(1500)->Arg(9000);
BENCHMARK(BM_VlanInsert_ReinsertAndParse)->Arg(64)->Arg(512)->Arg(1500)->Arg(9000);

}  // namespace
}  // namespace pktkit
