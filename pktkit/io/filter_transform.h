// pktkit/io/filter_transform.h — filters over batches: by tunnel VNI, and by a BPF expression
// (tcpdump syntax) compiled for each link type the packets come in.
//
//   pktkit::VniFilterTransform vni(pktkit::Vni::FromMasked(42));
//   auto bpf = pktkit::BpfTransform::Create("tcp port 80");   // syntax checked here
//   if (!bpf.ok()) return bpf.status();
//   pktkit::PacketBatch out = (*bpf)->Apply(vni.Apply(batch));
//   ... vni.filtered() + (*bpf)->filtered() ...
//
// The BPF program is compiled for a link type the first time a packet of that link type comes
// (GENEVE carries Ethernet or raw IP), with libpcap (pktkit/io/bpf.h); a program that does not
// compile for a link type filters out every packet of it (counted as filtered, and
// compile_errors). Output views are the input's views (no copy); they stay valid until the next
// Apply() or until the input batch is released.
#ifndef PKTKIT_IO_FILTER_TRANSFORM_H_
#define PKTKIT_IO_FILTER_TRANSFORM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "pktkit/io/bpf.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/transform.h"
#include "pktkit/wire/tunnel_meta.h"

namespace pktkit {

// Keeps the packets decapsulated from tunnel VNI `vni`; others (and packets without a VNI)
// are counted as filtered.
class VniFilterTransform : public PacketTransform {
 public:
  explicit VniFilterTransform(Vni vni) : vni_(vni) {}

  PacketBatch Apply(const PacketBatch& in) override {
    if (out_.size() < in.size) out_.resize(in.size);
    size_t n = 0;
    for (const PacketView& p : in) {
      if (p.tunnel.vni.has_value() && p.tunnel.vni.value() == vni_) {
        out_[n++] = p;
      } else {
        ++filtered_;
      }
    }
    return PacketBatch{out_.data(), n};
  }
  uint64_t filtered() const { return filtered_; }

 private:
  Vni vni_;
  std::vector<PacketView> out_;
  uint64_t filtered_ = 0;
};

// Keeps the packets a BPF expression matches.
class BpfTransform : public PacketTransform {
 public:
  // Checks the expression's syntax by compiling it for `check_link_type`. Errors:
  // InvalidArgument with libpcap's message.
  static absl::StatusOr<std::unique_ptr<BpfTransform>> Create(
      const std::string& expr, LinkType check_link_type = LinkType::kEthernet) {
    absl::StatusOr<BpfFilter> f = BpfFilter::Compile(expr, check_link_type);
    if (!f.ok()) return f.status();
    std::unique_ptr<BpfTransform> t(new BpfTransform(expr));
    t->filters_.push_back(Entry{check_link_type, std::make_unique<BpfFilter>(std::move(*f))});
    return t;
  }

  PacketBatch Apply(const PacketBatch& in) override {
    if (out_.size() < in.size) out_.resize(in.size);
    size_t n = 0;
    for (const PacketView& p : in) {
      const BpfFilter* f = For(p.link_type);
      if (f != nullptr && f->Matches(p.bytes(), p.wire_len)) {
        out_[n++] = p;
      } else {
        ++filtered_;
      }
    }
    return PacketBatch{out_.data(), n};
  }
  uint64_t filtered() const { return filtered_; }
  uint64_t compile_errors() const { return compile_errors_; }

 private:
  explicit BpfTransform(std::string expr) : expr_(std::move(expr)) {}

  struct Entry {
    LinkType link_type;
    std::unique_ptr<BpfFilter> filter;  // null: does not compile for this link type
  };

  const BpfFilter* For(LinkType lt) {
    for (const Entry& e : filters_) {
      if (e.link_type == lt) return e.filter.get();
    }
    absl::StatusOr<BpfFilter> f = BpfFilter::Compile(expr_, lt);
    if (!f.ok()) ++compile_errors_;
    filters_.push_back(
        Entry{lt, f.ok() ? std::make_unique<BpfFilter>(std::move(*f)) : nullptr});
    return filters_.back().filter.get();
  }

  std::string expr_;
  std::vector<Entry> filters_;
  std::vector<PacketView> out_;
  uint64_t filtered_ = 0;
  uint64_t compile_errors_ = 0;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_FILTER_TRANSFORM_H_
