// pktkit/io/af_packet_config.h — options of an AF_PACKET TPACKET_V3 capture: ring geometry,
// fanout (every mode and flag the kernel offers), promiscuous mode, outgoing packets, hardware
// timestamps, an in-kernel BPF filter and the re-open back-off.
//
//   pktkit::AfPacketConfig cfg;
//   cfg.interface = "eth0";
//   cfg.bpf = "tcp port 80";                             // compiled by libpcap, run in the kernel
//   auto fanout = pktkit::ParseFanout("hash:23", /*defrag=*/true);
//   if (!fanout.ok()) return fanout.status();
//   cfg.fanout = *fanout;
//
// Defaults: 128 MiB ring, 10 ms block timeout, snap length 262144, blocks of at least 1 MiB
// and always larger than the largest frame (snap length or MTU, and GRO/LRO frames of 64 KiB+)
// plus its headers, so the kernel never clamps a frame to the block.
// Reference: Documentation/networking/packet_mmap.rst ("AF_PACKET fanout mode", TPACKET_V3).
#ifndef PKTKIT_IO_AF_PACKET_CONFIG_H_
#define PKTKIT_IO_AF_PACKET_CONFIG_H_

#include <linux/filter.h>
#include <linux/if_packet.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pktkit {

// PACKET_FANOUT_* modes (include/uapi/linux/if_packet.h).
enum class FanoutMode : uint8_t {
  kNone = 0,  // no fanout group
  kHash,      // PACKET_FANOUT_HASH: symmetric flow hash (both directions to one member)
  kLb,        // PACKET_FANOUT_LB: round robin
  kCpu,       // PACKET_FANOUT_CPU: by receiving CPU
  kRollover,  // PACKET_FANOUT_ROLLOVER: fill one member, then the next
  kRandom,    // PACKET_FANOUT_RND
  kQm,        // PACKET_FANOUT_QM: by NIC receive queue
  kCbpf,      // PACKET_FANOUT_CBPF: a classic BPF program picks the member
  kEbpf,      // PACKET_FANOUT_EBPF: an eBPF program (fd) picks the member
};

inline const char* FanoutModeName(FanoutMode m) {
  switch (m) {
    case FanoutMode::kNone:
      return "none";
    case FanoutMode::kHash:
      return "hash";
    case FanoutMode::kLb:
      return "lb";
    case FanoutMode::kCpu:
      return "cpu";
    case FanoutMode::kRollover:
      return "rollover";
    case FanoutMode::kRandom:
      return "random";
    case FanoutMode::kQm:
      return "qm";
    case FanoutMode::kCbpf:
      return "cbpf";
    case FanoutMode::kEbpf:
      return "ebpf";
  }
  return "unknown";
}

// The kernel's PACKET_FANOUT_* value for a mode (kNone has none; callers check first).
inline int FanoutModeToKernel(FanoutMode m) {
  switch (m) {
    case FanoutMode::kHash:
      return PACKET_FANOUT_HASH;
    case FanoutMode::kLb:
      return PACKET_FANOUT_LB;
    case FanoutMode::kCpu:
      return PACKET_FANOUT_CPU;
    case FanoutMode::kRollover:
      return PACKET_FANOUT_ROLLOVER;
    case FanoutMode::kRandom:
      return PACKET_FANOUT_RND;
    case FanoutMode::kQm:
      return PACKET_FANOUT_QM;
    case FanoutMode::kCbpf:
      return PACKET_FANOUT_CBPF;
    case FanoutMode::kEbpf:
      return PACKET_FANOUT_EBPF;
    case FanoutMode::kNone:
      break;
  }
  return -1;
}

struct FanoutConfig {
  FanoutMode mode = FanoutMode::kNone;
  uint16_t group_id = 0;  // per network namespace; shared by every member of the group
  bool defrag = false;    // PACKET_FANOUT_FLAG_DEFRAG: reassemble IP fragments before hashing
  bool rollover = false;  // PACKET_FANOUT_FLAG_ROLLOVER: spill to another member when full
  // kCbpf: the classic BPF program (returns the member index), set with PACKET_FANOUT_DATA.
  std::vector<sock_filter> cbpf_program;
  // kEbpf: a loaded BPF_PROG_TYPE_SOCKET_FILTER program's fd (not owned).
  int ebpf_fd = -1;

  // The PACKET_FANOUT option value: id in the low 16 bits, mode and flags in the high 16.
  uint32_t OptionValue() const {
    uint32_t type = static_cast<uint32_t>(FanoutModeToKernel(mode));
    if (defrag) type |= PACKET_FANOUT_FLAG_DEFRAG;
    if (rollover) type |= PACKET_FANOUT_FLAG_ROLLOVER;
    return uint32_t{group_id} | (type << 16);
  }
};

// Parses "<mode>:<id>" (modes: hash lb cpu rollover random qm cbpf ebpf; id 0..65535), e.g.
// "hash:23". Errors: InvalidArgument naming the bad token.
inline absl::StatusOr<FanoutConfig> ParseFanout(const std::string& spec, bool defrag = false,
                                                bool rollover = false) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("fanout '", spec, "': expected <mode>:<id>, e.g. hash:23"));
  }
  const std::string mode = spec.substr(0, colon);
  const std::string id = spec.substr(colon + 1);
  FanoutConfig f;
  f.defrag = defrag;
  f.rollover = rollover;
  bool found = false;
  for (FanoutMode m :
       {FanoutMode::kHash, FanoutMode::kLb, FanoutMode::kCpu, FanoutMode::kRollover,
        FanoutMode::kRandom, FanoutMode::kQm, FanoutMode::kCbpf, FanoutMode::kEbpf}) {
    if (mode == FanoutModeName(m)) {
      f.mode = m;
      found = true;
    }
  }
  if (!found) {
    return absl::InvalidArgumentError(
        absl::StrCat("fanout '", spec, "': unknown mode '", mode,
                     "' (hash, lb, cpu, rollover, random, qm, cbpf, ebpf)"));
  }
  uint32_t value = 0;
  if (id.empty() || !absl::SimpleAtoi(id, &value) || value > 0xffff) {
    return absl::InvalidArgumentError(
        absl::StrCat("fanout '", spec, "': bad group id '", id, "' (0..65535)"));
  }
  f.group_id = static_cast<uint16_t>(value);
  return f;
}

struct AfPacketConfig {
  std::string interface;
  size_t buffer_bytes = size_t{128} << 20;  // whole ring
  size_t block_bytes = 0;                   // 0: DefaultBlockBytes(snaplen, mtu)
  uint32_t block_timeout_ms = 10;           // a partly filled block is handed over after this
  uint32_t snaplen = 262144;                // bytes kept per frame (after the VLAN tag is back)
  uint32_t reserve_bytes = 4;               // PACKET_RESERVE: headroom for the reinserted tag
  bool promiscuous = true;                  // PACKET_ADD_MEMBERSHIP(PACKET_MR_PROMISC)
  bool ignore_outgoing = false;             // PACKET_IGNORE_OUTGOING
  bool hardware_timestamps = false;         // SIOCSHWTSTAMP + PACKET_TIMESTAMP
  std::string bpf;                          // libpcap syntax; attached with SO_ATTACH_FILTER
  FanoutConfig fanout;
  uint32_t reopen_initial_backoff_ms = 100;  // after the interface went down or away
  uint32_t reopen_max_backoff_ms = 2000;
};

inline size_t PageBytes() {
  const long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<size_t>(page) : 4096;
}

// The smallest power-of-two block, at least 1 MiB, that holds one frame of
// max(snaplen, mtu + VLAN tags, 64 KiB GRO/LRO) plus the block and packet headers: then the
// kernel (which clamps a frame to the block's free space) never cuts a frame short.
inline size_t DefaultBlockBytes(uint32_t snaplen, uint32_t mtu) {
  size_t frame = snaplen;
  if (mtu + 14 + 8 > frame) frame = size_t{mtu} + 14 + 8;
  if (frame < (size_t{64} << 10) + 128) frame = (size_t{64} << 10) + 128;
  const size_t need = frame + 256;  // block descriptor + tpacket3_hdr + sockaddr_ll + reserve
  size_t block = size_t{1} << 20;
  while (block < need) block <<= 1;
  const size_t page = PageBytes();
  return (block + page - 1) / page * page;
}

}  // namespace pktkit

#endif  // PKTKIT_IO_AF_PACKET_CONFIG_H_
