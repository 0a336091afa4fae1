// The generator's output rate (packets/s) against a memcpy of the same bytes.
#include <benchmark/benchmark.h>

#include <cstring>

#include "tools/gen/generator.h"

namespace {

pktkit::gen::GenOptions Options(size_t frame) {
  pktkit::gen::GenOptions o;
  o.flows = 0;
  o.max_packets = 10000;
  if (frame != 0) {
    o.kinds = {pktkit::gen::FlowKind::kUdpFixed};
    o.fixed_frame_bytes = frame;
  }
  return o;
}

void BM_Gen_Mixed(benchmark::State& state) {
  const auto o = Options(0);
  for (auto _ : state) benchmark::DoNotOptimize(pktkit::gen::Generate(o));
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_Gen_Mixed);

void BM_Gen_UdpFixed(benchmark::State& state) {
  const auto o = Options(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(pktkit::gen::Generate(o));
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_Gen_UdpFixed)->Arg(64)->Arg(512)->Arg(1500)->Arg(9000);

// Copying the finished packets: what writing them out costs at least.
void BM_Gen_Baseline(benchmark::State& state) {
  const auto pkts = pktkit::gen::Generate(Options(static_cast<size_t>(state.range(0))));
  std::vector<uint8_t> out(16384);
  for (auto _ : state) {
    for (const auto& p : pkts) {
      std::memcpy(out.data(), p.bytes.data(), p.bytes.size());
      benchmark::ClobberMemory();
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(pkts.size()));
}
BENCHMARK(BM_Gen_Baseline)->Arg(64)->Arg(512)->Arg(1500)->Arg(9000);

}  // namespace
