// Outer-header building: the per-destination template (pktkit::EncapTemplate, built once and
// patched per packet) against the full builder (WriteEncapsulatedFrame, every header serialized
// per packet) and against the VXLAN header alone (8 bytes, what a UDP socket send gathers).
//
//   bazel run --config=bench //bench/wire:encap_template_benchmark -- --benchmark_repetitions=3
//
// One packet per iteration over 64/512/1500/9000-byte inner frames; the source port and the
// IPv4 id change every packet as they do in the forwarder. "Frame" variants write the whole
// frame (headers + a copy of the inner bytes); "Headers" writes only the outer headers (what a
// transmit ring or a gather send needs when the inner bytes are placed separately).
// BM_Encap_Baseline_VxlanHeader and BM_Encap_Baseline_Memcpy are the baselines in this binary.
#include <cstdint>
#include <cstring>
#include <vector>

#include "benchmark/benchmark.h"
#include "pktkit/wire/encap.h"
#include "pktkit/wire/geneve.h"
#include "tests/testing/wire_samples.h"

namespace pktkit {
namespace {

using samples::PatternedFrame;

EncapSpec Spec(bool geneve) {
  return samples::SampleSpec(geneve ? EncapMode::kGeneve : EncapMode::kVxlan);
}

OuterSpec Outer(bool v6, bool udp_checksum) {
  OuterSpec o;
  o.src.family = o.dst.family = v6 ? 6 : 4;
  o.src.addr[0] = o.dst.addr[0] = v6 ? 0xfd : 10;
  o.src.addr[v6 ? 15 : 3] = 1;
  o.dst.addr[v6 ? 15 : 3] = 2;
  o.src.port = 50000;
  o.dst.port = 4789;
  o.udp_checksum = udp_checksum;
  return o;
}

void SetCounters(benchmark::State& state, size_t bytes) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_Encap_Baseline_Memcpy(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> inner = PatternedFrame(n);
  std::vector<uint8_t> out(n);
  for (auto _ : state) {
    std::memcpy(out.data(), inner.data(), n);
    benchmark::ClobberMemory();
  }
  SetCounters(state, n);
}

// The "~1 ns" reference: the 8-byte VXLAN header alone, nothing else.
void BM_Encap_Baseline_VxlanHeader(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const EncapSpec spec = Spec(false);
  uint8_t hdr[kMaxTunnelHeaderSize];
  for (auto _ : state) {
    ByteWriter w(hdr, sizeof hdr);
    benchmark::DoNotOptimize(WriteTunnelHeader(spec, &w));
    benchmark::ClobberMemory();
  }
  SetCounters(state, n);
}

// The full builder, every header serialized per packet (what pktkit-fwd -w does today).
void BuilderBench(benchmark::State& state, bool geneve, bool v6, bool csum) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> inner = PatternedFrame(n);
  const EncapSpec spec = Spec(geneve);
  OuterSpec outer = Outer(v6, csum);
  std::vector<uint8_t> out(EncapsulatedFrameSize(outer, spec, n));
  uint16_t k = 0;
  for (auto _ : state) {
    outer.src.port = static_cast<uint16_t>(49152 + (k & 0x3fff));
    outer.ip_id = k++;
    ByteWriter w(out.data(), out.size());
    if (!WriteEncapsulatedFrame(outer, spec, ByteSpan(inner.data(), n), &w)) {
      state.SkipWithError("encap failed");
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, n);
}

// The template: built once, per packet lengths/id/checksum/port patched (+ inner copy for
// whole frames).
void TemplateBench(benchmark::State& state, bool geneve, bool v6, bool csum, bool whole) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> inner = PatternedFrame(n);
  EncapTemplate t;
  if (!t.Init(Outer(v6, csum), Spec(geneve))) {
    state.SkipWithError("template");
    return;
  }
  std::vector<uint8_t> out(t.FrameSize(n));
  uint16_t k = 0;
  for (auto _ : state) {
    const uint16_t sport = static_cast<uint16_t>(49152 + (k & 0x3fff));
    const uint16_t id = k++;
    if (whole) {
      ByteWriter w(out.data(), out.size());
      if (!t.WriteFrame(sport, id, ByteSpan(inner.data(), n), &w)) state.SkipWithError("encap");
    } else {
      benchmark::DoNotOptimize(t.WriteHeaders(sport, id, ByteSpan(inner.data(), n), out.data()));
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, n);
}

// VXLAN over IPv4, UDP checksum 0 (the kernel vxlan device's default).
void BM_Encap_VxlanV4_Builder(benchmark::State& s) { BuilderBench(s, false, false, false); }
void BM_Encap_VxlanV4_TemplateFrame(benchmark::State& s) {
  TemplateBench(s, false, false, false, true);
}
void BM_Encap_VxlanV4_TemplateHeaders(benchmark::State& s) {
  TemplateBench(s, false, false, false, false);
}
// VXLAN over IPv4 with the UDP checksum (the old default of OuterSpec).
void BM_Encap_VxlanV4Csum_Builder(benchmark::State& s) { BuilderBench(s, false, false, true); }
void BM_Encap_VxlanV4Csum_TemplateFrame(benchmark::State& s) {
  TemplateBench(s, false, false, true, true);
}
// VXLAN over IPv6: the checksum is mandatory.
void BM_Encap_VxlanV6_Builder(benchmark::State& s) { BuilderBench(s, false, true, true); }
void BM_Encap_VxlanV6_TemplateFrame(benchmark::State& s) {
  TemplateBench(s, false, true, true, true);
}
// GENEVE with the three AWS GWLB options over IPv4, checksum 0.
void BM_Encap_GeneveV4_Builder(benchmark::State& s) { BuilderBench(s, true, false, false); }
void BM_Encap_GeneveV4_TemplateFrame(benchmark::State& s) {
  TemplateBench(s, true, false, false, true);
}
void BM_Encap_GeneveV4_TemplateHeaders(benchmark::State& s) {
  TemplateBench(s, true, false, false, false);
}

#define PKTKIT_SIZES Arg(64)->Arg(512)->Arg(1500)->Arg(9000)
BENCHMARK(BM_Encap_Baseline_Memcpy)->PKTKIT_SIZES;
BENCHMARK(BM_Encap_Baseline_VxlanHeader)->PKTKIT_SIZES;
BENCHMARK(BM_Encap_VxlanV4_Builder)->PKTKIT_SIZES;
BENCHMARK(BM_Encap_VxlanV4_TemplateFrame)->PKTKIT_SIZES;
BENCHMARK(BM_Encap_VxlanV4_TemplateHeaders)->PKTKIT_SIZES;
BENCHMARK(BM_Encap_VxlanV4Csum_Builder)->PKTKIT_SIZES;
BENCHMARK(BM_Encap_VxlanV4Csum_TemplateFrame)->PKTKIT_SIZES;
BENCHMARK(BM_Encap_VxlanV6_Builder)->PKTKIT_SIZES;
BENCHMARK(BM_Encap_VxlanV6_TemplateFrame)->PKTKIT_SIZES;
BENCHMARK(BM_Encap_GeneveV4_Builder)->PKTKIT_SIZES;
BENCHMARK(BM_Encap_GeneveV4_TemplateFrame)->PKTKIT_SIZES;
BENCHMARK(BM_Encap_GeneveV4_TemplateHeaders)->PKTKIT_SIZES;

}  // namespace
}  // namespace pktkit
