// Micro-benchmarks of the NFLOG pipe's per-packet work, as packets/s, with a memcpy baseline
// in the same binary: the TLV parser (what the socket and the receiver do per record), raw
// message decoding, and batch compression (zlib vs zstd: which one wins).
#include <cstring>
#include <vector>

#include "benchmark/benchmark.h"
#include "pktkit/wire/nflog.h"
#include "tools/nflog/codec.h"
#include "tools/nflog/message.h"
#include "tools/nflog/rate_control.h"

namespace {

using pktkit::ByteSpan;

// A kernel-like NFLOG record carrying an IPv4 packet of `size` bytes.
std::vector<uint8_t> Record(size_t size) {
  static std::vector<uint8_t> payload;
  payload.assign(size, 0);
  for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>((i * 31) >> 3);
  payload[0] = 0x45;
  pktkit::NflogRecord r;
  r.family = 2;
  r.resource_id = 5;
  r.has_packet_hdr = true;
  r.hw_protocol = 0x0800;
  r.hook = 3;
  r.outdev = 1;
  r.has_uid = r.has_gid = true;
  r.has_prefix = true;
  static const char kPrefix[] = "bench";
  r.prefix = ByteSpan(reinterpret_cast<const uint8_t*>(kPrefix), 5);
  r.has_payload = true;
  r.payload = ByteSpan(payload.data(), payload.size());
  std::vector<uint8_t> out(pktkit::NflogSerializedSize(r));
  pktkit::ByteWriter w(out.data(), out.size());
  pktkit::SerializeNflog(r, pktkit::kHostTlvOrder, &w);
  return out;
}

void BM_NflogParse_Baseline(benchmark::State& state) {
  const std::vector<uint8_t> rec = Record(static_cast<size_t>(state.range(0)));
  std::vector<uint8_t> dst(rec.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), rec.data(), rec.size());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_NflogParse_Record(benchmark::State& state) {
  const std::vector<uint8_t> rec = Record(static_cast<size_t>(state.range(0)));
  pktkit::NflogRecord r;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        pktkit::ParseNflog(ByteSpan(rec.data(), rec.size()), pktkit::kHostTlvOrder, &r));
    benchmark::DoNotOptimize(r.payload.data);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_NflogMessage_DecodeRaw(benchmark::State& state) {
  const std::vector<uint8_t> rec = Record(static_cast<size_t>(state.range(0)));
  std::vector<uint8_t> body, msg, scratch;
  pktkit::nflog::AppendRecord(1, ByteSpan(rec.data(), rec.size()), &body);
  pktkit::nflog::WriteMessageHeader(pktkit::nflog::MessageKind::kRaw, 0, 1,
                                    static_cast<uint32_t>(body.size()), &msg);
  msg.insert(msg.end(), body.begin(), body.end());
  size_t n = 0;
  for (auto _ : state) {
    pktkit::nflog::DecodeMessage(
        ByteSpan(msg.data(), msg.size()), &scratch,
        [&n](const pktkit::nflog::WireRecord&, pktkit::TlvByteOrder) { ++n; });
  }
  benchmark::DoNotOptimize(n);
  state.SetItemsProcessed(state.iterations());
}

// Packets/s through BatchEncoder in compress mode (batch of 256 records, then flushed).
void Encode(benchmark::State& state, pktkit::nflog::MessageKind codec) {
  const std::vector<uint8_t> rec = Record(static_cast<size_t>(state.range(0)));
  pktkit::nflog::RateControlConfig cfg;
  cfg.low_bps = 0;
  cfg.codec = codec;
  cfg.max_batch_records = 256;
  cfg.max_batch_bytes = 1u << 30;
  uint64_t out_bytes = 0;
  pktkit::nflog::BatchEncoder enc(
      cfg, [&out_bytes](const std::vector<uint8_t>& m, uint32_t) { out_bytes += m.size(); });
  int64_t now = 0;
  for (auto _ : state) {
    enc.Push(now, ByteSpan(rec.data(), rec.size()), now);
    ++now;
  }
  enc.Flush();
  state.SetItemsProcessed(state.iterations());
  state.counters["ratio"] = static_cast<double>(enc.stats().batch_bytes_in.load()) /
                            static_cast<double>(enc.stats().batch_bytes_out.load() + 1);
}
void BM_NflogEncode_Zlib(benchmark::State& s) { Encode(s, pktkit::nflog::MessageKind::kZlib); }
void BM_NflogEncode_Zstd(benchmark::State& s) { Encode(s, pktkit::nflog::MessageKind::kZstd); }

#define SIZES ->Arg(64)->Arg(512)->Arg(1500)->Arg(9000)
BENCHMARK(BM_NflogParse_Baseline) SIZES;
BENCHMARK(BM_NflogParse_Record) SIZES;
BENCHMARK(BM_NflogMessage_DecodeRaw) SIZES;
BENCHMARK(BM_NflogEncode_Zlib) SIZES;
BENCHMARK(BM_NflogEncode_Zstd) SIZES;

}  // namespace
