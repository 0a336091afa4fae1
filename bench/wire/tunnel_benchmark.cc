// Tunnel decapsulation and encapsulation against a memcpy of the same inner packet.
//
//   bazel run --config=bench //bench/wire:tunnel_benchmark
//
// Each benchmark handles one packet per iteration over 64/512/1500/9000-byte inner frames and
// reports packets/s (items) and bytes/s; BM_Tunnel_Baseline copies the inner frame once (what a
// copying receive path would cost at least), so every figure reads as a ratio to it.
#include <cstdint>
#include <cstring>
#include <vector>

#include "benchmark/benchmark.h"
#include "pktkit/wire/decap.h"
#include "pktkit/wire/encap.h"
#include "pktkit/wire/geneve.h"
#include "tests/testing/wire_samples.h"

namespace pktkit {
namespace {

using samples::PatternedFrame;
using samples::SampleSpec;

OuterSpec Outer() {
  OuterSpec o;
  o.src.family = o.dst.family = 4;
  o.src.addr[0] = o.dst.addr[0] = 10;
  o.src.addr[3] = 1;
  o.dst.addr[3] = 2;
  o.src.port = 50000;
  o.dst.port = 4789;
  return o;
}

// The UDP payload (tunnel header + inner) for a decapsulation benchmark.
std::vector<uint8_t> Datagram(EncapMode mode, size_t inner_len) {
  const std::vector<uint8_t> inner = PatternedFrame(inner_len);
  const EncapSpec spec = SampleSpec(mode);
  std::vector<uint8_t> d(TunnelHeaderSize(spec) + inner_len);
  ByteWriter w(d.data(), d.size());
  WriteTunnelHeader(spec, &w);
  w.WriteBytes(inner.data(), inner.size());
  return d;
}

void SetCounters(benchmark::State& state, size_t bytes) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_Tunnel_Baseline(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> inner = PatternedFrame(n);
  std::vector<uint8_t> out(n);
  for (auto _ : state) {
    std::memcpy(out.data(), inner.data(), n);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, n);
}

void DecapBench(benchmark::State& state, EncapMode mode) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> d = Datagram(mode, n);
  DecapConfig cfg;
  cfg.mode = mode;
  const ByteSpan in(d.data(), d.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(in.data);
    DecapResult r = Decapsulate(in, cfg);
    benchmark::DoNotOptimize(r);
    if (r.error != DecapError::kOk) state.SkipWithError("decap failed");
  }
  SetCounters(state, n);
}
void BM_Tunnel_DecapVxlan(benchmark::State& state) { DecapBench(state, EncapMode::kVxlan); }
void BM_Tunnel_DecapGeneveOptions(benchmark::State& state) {
  DecapBench(state, EncapMode::kGeneve);
}

// A whole captured frame: outer Ethernet/IPv4/UDP parsed too (the pcap -r path).
void BM_Tunnel_DecapFrameVxlan(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> inner = PatternedFrame(n);
  const EncapSpec spec = SampleSpec(EncapMode::kVxlan);
  std::vector<uint8_t> f(EncapsulatedFrameSize(Outer(), spec, n));
  ByteWriter w(f.data(), f.size());
  WriteEncapsulatedFrame(Outer(), spec, ByteSpan(inner.data(), n), &w);
  const ByteSpan in(f.data(), f.size());
  const DecapConfig cfg;
  for (auto _ : state) {
    benchmark::DoNotOptimize(in.data);
    DecapResult r = DecapsulateFrame(in, LinkType::kEthernet, kVxlanDefaultPort, cfg);
    benchmark::DoNotOptimize(r);
    if (r.error != DecapError::kOk) state.SkipWithError("decap failed");
  }
  SetCounters(state, n);
}

// Header only, for a UDP send gathered with the inner bytes: independent of the inner size.
void EncapHeaderBench(benchmark::State& state, EncapMode mode) {
  const size_t n = static_cast<size_t>(state.range(0));
  const EncapSpec spec = SampleSpec(mode);
  uint8_t hdr[kMaxTunnelHeaderSize];
  for (auto _ : state) {
    ByteWriter w(hdr, sizeof hdr);
    benchmark::DoNotOptimize(WriteTunnelHeader(spec, &w));
    benchmark::ClobberMemory();
  }
  SetCounters(state, n);
}
void BM_Tunnel_EncapVxlanHeader(benchmark::State& state) {
  EncapHeaderBench(state, EncapMode::kVxlan);
}
void BM_Tunnel_EncapGeneveHeader(benchmark::State& state) {
  EncapHeaderBench(state, EncapMode::kGeneve);
}

// Full frame for a pcap: outer headers, inner copied in, UDP checksum over everything.
void EncapFrameBench(benchmark::State& state, EncapMode mode) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> inner = PatternedFrame(n);
  const EncapSpec spec = SampleSpec(mode);
  const OuterSpec outer = Outer();
  std::vector<uint8_t> out(EncapsulatedFrameSize(outer, spec, n));
  for (auto _ : state) {
    ByteWriter w(out.data(), out.size());
    const size_t need = EncapsulatedFrameSize(outer, spec, n);  // size first, then write
    if (need > w.capacity() ||
        !WriteEncapsulatedFrame(outer, spec, ByteSpan(inner.data(), n), &w)) {
      state.SkipWithError("encap failed");
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, n);
}
void BM_Tunnel_EncapVxlanFrame(benchmark::State& state) {
  EncapFrameBench(state, EncapMode::kVxlan);
}
void BM_Tunnel_EncapGeneveFrame(benchmark::State& state) {
  EncapFrameBench(state, EncapMode::kGeneve);
}

// Full frame without the UDP checksum (IPv4 allows it): copy-bound rather than sum-bound.
void BM_Tunnel_EncapVxlanFrameNoChecksum(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> inner = PatternedFrame(n);
  const EncapSpec spec = SampleSpec(EncapMode::kVxlan);
  OuterSpec outer = Outer();
  outer.udp_checksum = false;
  std::vector<uint8_t> out(EncapsulatedFrameSize(outer, spec, n));
  for (auto _ : state) {
    ByteWriter w(out.data(), out.size());
    if (!WriteEncapsulatedFrame(outer, spec, ByteSpan(inner.data(), n), &w)) {
      state.SkipWithError("encap failed");
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, n);
}

#define PKTKIT_SIZES Arg(64)->Arg(512)->Arg(1500)->Arg(9000)
BENCHMARK(BM_Tunnel_Baseline)->PKTKIT_SIZES;
BENCHMARK(BM_Tunnel_DecapVxlan)->PKTKIT_SIZES;
BENCHMARK(BM_Tunnel_DecapGeneveOptions)->PKTKIT_SIZES;
BENCHMARK(BM_Tunnel_DecapFrameVxlan)->PKTKIT_SIZES;
BENCHMARK(BM_Tunnel_EncapVxlanHeader)->PKTKIT_SIZES;
BENCHMARK(BM_Tunnel_EncapGeneveHeader)->PKTKIT_SIZES;
BENCHMARK(BM_Tunnel_EncapVxlanFrame)->PKTKIT_SIZES;
BENCHMARK(BM_Tunnel_EncapGeneveFrame)->PKTKIT_SIZES;
BENCHMARK(BM_Tunnel_EncapVxlanFrameNoChecksum)->PKTKIT_SIZES;

}  // namespace
}  // namespace pktkit
