// pktkit/io/bpf.h — BPF filters in libpcap syntax, compiled once, matched in user space or
// handed to the kernel.
//
//   auto filter = pktkit::BpfFilter::Compile("tcp port 80", pktkit::LinkType::kEthernet);
//   if (!filter.ok()) return filter.status();          // names the bad expression
//   if (filter->Matches(view.bytes(), view.wire_len)) Write(view);
//   // Kernel side: setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, ...) with filter->program().
//
// The compiled program is owned by the filter (move-only) and freed with it.
// Reference: pcap-filter(7), pcap_compile(3PCAP), pcap_offline_filter(3PCAP).
#ifndef PKTKIT_IO_BPF_H_
#define PKTKIT_IO_BPF_H_

#include <pcap/pcap.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/packet.h"

namespace pktkit {

class BpfFilter {
 public:
  // Compiles `expr` (optimised) for link type `lt`. An empty expression matches everything.
  // Errors: InvalidArgument naming the expression and libpcap's reason.
  static absl::StatusOr<BpfFilter> Compile(const std::string& expr, LinkType lt,
                                           uint32_t snaplen = 262144) {
    pcap_t* dead = pcap_open_dead(lt == LinkType::kRaw ? DLT_RAW : static_cast<int>(lt),
                                  static_cast<int>(snaplen));
    if (dead == nullptr) return absl::InternalError("pcap_open_dead failed");
    BpfFilter f;
    f.expr_ = expr;
    f.prog_.reset(new bpf_program());
    if (pcap_compile(dead, f.prog_.get(), expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      absl::Status s = absl::InvalidArgumentError(
          absl::StrCat("bad filter expression '", expr, "': ", pcap_geterr(dead)));
      pcap_close(dead);
      f.prog_.reset();
      return s;
    }
    pcap_close(dead);
    return f;
  }

  // True when the packet passes. `wire_len` is the original length (BPF `len`).
  bool Matches(ByteSpan bytes, uint32_t wire_len) const {
    pcap_pkthdr hdr = {};
    hdr.caplen = static_cast<bpf_u_int32>(bytes.size);
    hdr.len = wire_len < bytes.size ? static_cast<bpf_u_int32>(bytes.size) : wire_len;
    return pcap_offline_filter(prog_.get(), &hdr, bytes.data) != 0;
  }

  const bpf_program& program() const { return *prog_; }
  const std::string& expression() const { return expr_; }

 private:
  struct Free {
    void operator()(bpf_program* p) const {
      pcap_freecode(p);
      delete p;
    }
  };
  BpfFilter() = default;

  std::string expr_;
  std::unique_ptr<bpf_program, Free> prog_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_BPF_H_
