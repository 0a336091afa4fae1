// tools/recv/vni_counters.h — pktkit-recv's per-VNI packet counters, with a bounded label set.
//
// Anyone who can send datagrams to the tunnel port chooses the VNIs, so one Prometheus series
// per VNI seen would let a sender grow memory and the /metrics page without limit. The first
// `max_series` distinct VNIs get their own series (pktkit_recv_vni_packets_total{vni="N"});
// every later one is counted in a single {vni="other"} series. The lookup is lock-free (a fixed
// open-addressing table, written only under a mutex, never resized or emptied), so a spray of
// new VNIs costs each packet a few probes and one atomic add, and no registry scan.
//
//   pktkit::recv::BoundedVniCounters vnis(&registry, /*max_series=*/256);
//   pktkit::recv::VniCountTransform count(&vnis);     // one per worker thread
//   pktkit::PacketBatch same = count.Apply(batch);    // counts, passes every packet on
#ifndef PKTKIT_TOOLS_RECV_VNI_COUNTERS_H_
#define PKTKIT_TOOLS_RECV_VNI_COUNTERS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "pktkit/io/packet.h"
#include "pktkit/io/transform.h"
#include "tools/common/metrics.h"

namespace pktkit::recv {

inline constexpr const char* kVniSeriesName = "pktkit_recv_vni_packets_total";
inline constexpr const char* kVniSeriesHelp =
    "Inner packets by VNI (the first --max_vni_series VNIs seen; later ones as vni=\"other\")";

class BoundedVniCounters {
 public:
  BoundedVniCounters(tools::MetricsRegistry* registry, size_t max_series)
      : registry_(registry), max_series_(max_series) {
    size_t cap = 16;
    while (cap < 2 * max_series_ + 2) cap <<= 1;  // load factor <= 1/2: short probe chains
    mask_ = cap - 1;
    keys_.reset(new std::atomic<uint32_t>[cap]);
    counters_.reset(new std::atomic<tools::Counter*>[cap]);
    for (size_t i = 0; i < cap; ++i) {
      keys_[i].store(0, std::memory_order_relaxed);
      counters_[i].store(nullptr, std::memory_order_relaxed);
    }
  }

  // The counter of `vni` (24 bits). Thread-safe.
  tools::Counter* For(uint32_t vni) {
    const uint32_t key = vni + 1;  // 0 marks an empty slot
    if (tools::Counter* c = Find(key)) return c;
    if (admitted_.load(std::memory_order_acquire) >= max_series_) return Other();
    std::lock_guard<std::mutex> lock(mu_);
    if (tools::Counter* c = Find(key)) return c;  // another thread admitted it meanwhile
    if (admitted_.load(std::memory_order_relaxed) >= max_series_) return Other();
    tools::Counter* c =
        registry_->AddCounter(kVniSeriesName, kVniSeriesHelp, {{"vni", std::to_string(vni)}});
    size_t i = Hash(key) & mask_;
    while (keys_[i].load(std::memory_order_relaxed) != 0) i = (i + 1) & mask_;
    counters_[i].store(c, std::memory_order_relaxed);
    keys_[i].store(key, std::memory_order_release);  // publishes the counter with it
    admitted_.fetch_add(1, std::memory_order_release);
    return c;
  }

  size_t admitted() const { return admitted_.load(std::memory_order_relaxed); }
  size_t max_series() const { return max_series_; }

 private:
  static size_t Hash(uint32_t key) {
    uint64_t h = key * 0x9e3779b97f4a7c15ULL;
    return static_cast<size_t>(h >> 32);
  }

  tools::Counter* Find(uint32_t key) const {
    for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      const uint32_t k = keys_[i].load(std::memory_order_acquire);
      if (k == key) return counters_[i].load(std::memory_order_relaxed);
      if (k == 0) return nullptr;
    }
  }

  tools::Counter* Other() {
    tools::Counter* o = other_.load(std::memory_order_acquire);
    if (o != nullptr) return o;
    std::lock_guard<std::mutex> lock(other_mu_);
    o = other_.load(std::memory_order_relaxed);
    if (o == nullptr) {
      o = registry_->AddCounter(kVniSeriesName, kVniSeriesHelp, {{"vni", "other"}});
      other_.store(o, std::memory_order_release);
    }
    return o;
  }

  tools::MetricsRegistry* registry_;
  size_t max_series_;
  size_t mask_ = 0;
  std::unique_ptr<std::atomic<uint32_t>[]> keys_;
  std::unique_ptr<std::atomic<tools::Counter*>[]> counters_;
  std::atomic<size_t> admitted_{0};
  std::mutex mu_;
  std::mutex other_mu_;
  std::atomic<tools::Counter*> other_{nullptr};
};

// Counts every packet that carries a VNI and passes the batch on unchanged.
class VniCountTransform : public PacketTransform {
 public:
  explicit VniCountTransform(BoundedVniCounters* counters) : counters_(counters) {}
  PacketBatch Apply(const PacketBatch& in) override {
    for (const PacketView& p : in) {
      if (p.tunnel.vni.has_value()) counters_->For(p.tunnel.vni.value().value())->Add();
    }
    return in;
  }

 private:
  BoundedVniCounters* counters_;
};

}  // namespace pktkit::recv

#endif  // PKTKIT_TOOLS_RECV_VNI_COUNTERS_H_
