// Flow-key extraction and the three flow hashes against a memcpy of the same frame.
//
//   bazel run --config=bench //bench/flow:flow_benchmark
//
// One frame per iteration over 64/512/1500/9000-byte Ethernet + 802.1Q + IPv4/IPv6 + TCP
// frames; items are packets. Every hash benchmark includes the key extraction (what the
// forwarder pays per packet); BM_FlowKey_Extract shows extraction alone.
#include <cstdint>
#include <cstring>
#include <vector>

#include "benchmark/benchmark.h"
#include "pktkit/flow/flow_hash.h"
#include "pktkit/flow/flow_key.h"
#include "pktkit/flow/symmetric_hash.h"
#include "pktkit/flow/toeplitz.h"
#include "pktkit/wire/bytes.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/ipv4.h"
#include "pktkit/wire/ipv6.h"

namespace pktkit {
namespace {

// Ethernet + one 802.1Q tag + IPv4 (range(1) == 4) or IPv6 + TCP, `n` bytes in all.
std::vector<uint8_t> Frame(size_t n, bool v6) {
  std::vector<uint8_t> f(n);
  ByteWriter w(f.data(), f.size());
  EthernetHeader eth;
  eth.vlan_count = 1;
  eth.vlans[0] = VlanTag{kTpid8021Q, 100};
  eth.ethertype = v6 ? kEtherTypeIpv6 : kEtherTypeIpv4;
  SerializeEthernet(eth, &w);
  const size_t ip_len = v6 ? 40 : 20;
  const size_t l4 = n - 18 - ip_len;
  if (v6) {
    Ipv6Header ip;
    for (int i = 0; i < 16; ++i) ip.src[i] = static_cast<uint8_t>(0x20 + i);
    for (int i = 0; i < 16; ++i) ip.dst[i] = static_cast<uint8_t>(0x30 + i);
    ip.next_header = kIpProtoTcp;
    SerializeIpv6(ip, l4, &w);
  } else {
    Ipv4Header ip;
    const uint8_t s[4] = {10, 1, 2, 3}, d[4] = {192, 0, 2, 80};
    std::memcpy(ip.src, s, 4);
    std::memcpy(ip.dst, d, 4);
    ip.protocol = kIpProtoTcp;
    SerializeIpv4(ip, l4, &w);
  }
  w.WriteU16(40000);
  w.WriteU16(443);
  w.WriteZeros(8);
  w.WriteU8(0x50);  // data offset 5
  w.WriteZeros(l4 - 13);
  return f;
}

void SetCounters(benchmark::State& state, size_t n) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}

void BM_FlowHash_Baseline(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> f = Frame(n, state.range(1) == 6);
  std::vector<uint8_t> dst(n);
  for (auto _ : state) {
    std::memcpy(dst.data(), f.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, n);
}

void BM_FlowKey_Extract(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> f = Frame(n, state.range(1) == 6);
  for (auto _ : state) {
    FlowKeyInfo info;
    benchmark::DoNotOptimize(ExtractFlowKey(ByteSpan(f.data(), n), LinkType::kEthernet, &info));
    benchmark::DoNotOptimize(info);
  }
  SetCounters(state, n);
}

void BM_FlowHash_Toeplitz(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> f = Frame(n, state.range(1) == 6);
  static const ToeplitzTable* table = new ToeplitzTable(kMicrosoftRssKey, sizeof kMicrosoftRssKey);
  for (auto _ : state) {
    FlowKeyInfo info;
    ExtractFlowKey(ByteSpan(f.data(), n), LinkType::kEthernet, &info);
    uint8_t in[kRssInputMaxSize];
    const size_t len = RssInputFromKey(info.key, true, in);
    benchmark::DoNotOptimize(table->Hash(in, len));
  }
  SetCounters(state, n);
}

void BM_FlowHash_ToeplitzBitwise(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> f = Frame(n, state.range(1) == 6);
  for (auto _ : state) {
    FlowKeyInfo info;
    ExtractFlowKey(ByteSpan(f.data(), n), LinkType::kEthernet, &info);
    uint8_t in[kRssInputMaxSize];
    const size_t len = RssInputFromKey(info.key, true, in);
    benchmark::DoNotOptimize(ToeplitzHash(kMicrosoftRssKey, sizeof kMicrosoftRssKey, in, len));
  }
  SetCounters(state, n);
}

void BM_FlowHash_SymmetricToeplitz(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> f = Frame(n, state.range(1) == 6);
  static const ToeplitzTable* table = new ToeplitzTable(kSymmetricRssKey, sizeof kSymmetricRssKey);
  for (auto _ : state) {
    FlowKeyInfo info;
    ExtractFlowKey(ByteSpan(f.data(), n), LinkType::kEthernet, &info);
    uint8_t in[kRssInputMaxSize];
    const size_t len = RssInputFromKey(info.key, true, in);
    benchmark::DoNotOptimize(table->Hash(in, len));
  }
  SetCounters(state, n);
}

void BM_FlowHash_Seeded(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<uint8_t> f = Frame(n, state.range(1) == 6);
  for (auto _ : state) {
    benchmark::DoNotOptimize(SymmetricFlowHash(ByteSpan(f.data(), n), LinkType::kEthernet, 0x1234,
                                               FlowHashFields::kAddressesAndProtocol));
  }
  SetCounters(state, n);
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int family : {4, 6}) {
    for (int n : {64, 512, 1500, 9000}) b->Args({n, family});
  }
  b->ArgNames({"bytes", "ip"});
}

BENCHMARK(BM_FlowHash_Baseline)->Apply(Sizes);
BENCHMARK(BM_FlowKey_Extract)->Apply(Sizes);
BENCHMARK(BM_FlowHash_Toeplitz)->Apply(Sizes);
BENCHMARK(BM_FlowHash_ToeplitzBitwise)->Apply(Sizes);
BENCHMARK(BM_FlowHash_SymmetricToeplitz)->Apply(Sizes);
BENCHMARK(BM_FlowHash_Seeded)->Apply(Sizes);

}  // namespace
}  // namespace pktkit
