// plugins/zeek/af_packet/af_packet_source.h — the `pktkit_af_packet::` Zeek packet source:
// pktkit's AF_PACKET TPACKET_V3 capture (pktkit/io/af_packet.h) handed to Zeek without a copy.
// Thin glue: the ring walk, VLAN tag reinsertion, fanout, in-kernel filter, hardware
// timestamps and link recovery are the core's; this file maps Zeek's options and PktSrc calls
// onto it and reports counters to Zeek's stats and telemetry.
//
//   zeek -i pktkit_af_packet::eth0
//   zeek -i pktkit_af_packet::eth0 -f 'vlan 10 and tcp port 80'    # filter runs in the kernel
//
// After the prefix the path is pktkit's interface grammar (`af_packet::<iface>` there).
// References: Zeek iosource::PktSrc and Zeek::AF_Packet (src/iosource/af_packet), packet(7).
#ifndef PLUGINS_ZEEK_AF_PACKET_AF_PACKET_SOURCE_H_
#define PLUGINS_ZEEK_AF_PACKET_AF_PACKET_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pktkit/io/af_packet.h"
#include "pktkit/spec/interface_spec.h"
#include "plugins/zeek/common/packet_glue.h"
#include "zeek/iosource/PktSrc.h"

namespace plugin::PktKit_AF_Packet {

// What Zeek's telemetry reads (refreshed on the main thread; it outlives the source).
struct SourceCounters {
  pktkit::AfPacketStats stats;
  uint64_t delivered = 0;
  uint64_t user_filtered = 0;  // kernel_filter = F: rejected in user space
  uint64_t software_ts = 0;    // hardware timestamps requested, packet had a software one
  uint64_t link_gaps = 0;      // times the interface went away (logged once each)
  size_t block_bytes = 0;
  size_t block_count = 0;
  bool hw_fallback = false;  // hardware timestamps could not be enabled at all
};

class AfPacketPktSrc : public zeek::iosource::PktSrc {
 public:
  ~AfPacketPktSrc() override;

  // Zeek's factory: `path` is what follows "pktkit_af_packet::". A bad path still returns a
  // source, whose Open() reports the error naming the bad token.
  static zeek::iosource::PktSrc* Instantiate(const std::string& path, bool is_live);

 protected:
  void Open() override;
  void Close() override;
  bool ExtractNextPacket(zeek::Packet* pkt) override;
  void DoneWithPacket() override;
  bool PrecompileFilter(int index, const std::string& filter) override;
  bool SetFilter(int index) override;
  void Statistics(Stats* stats) override;
  double GetNextTimeout() override;

 private:
  AfPacketPktSrc(std::string path, absl::StatusOr<pktkit::InterfaceSpec> spec, bool is_live);
  // Builds the core's configuration from the script options. Errors name the option.
  absl::StatusOr<pktkit::AfPacketConfig> ConfigFromOptions(const std::string& iface);
  absl::Status OpenCore(const pktkit::AfPacketConfig& cfg);
  void OnEvent(const std::string& message);
  void SyncFd();
  void RefreshCounters();
  void RegisterTelemetry();

  std::string path_;
  absl::StatusOr<pktkit::InterfaceSpec> spec_;
  bool is_live_;
  pktkit::AfPacketConfig cfg_;
  std::unique_ptr<pktkit::AfPacketSource> src_;
  pktkit::PacketBatch batch_;
  size_t next_ = 0;
  int registered_fd_ = -1;
  int link_type_ = 1;
  int checksum_mode_ = 0;
  bool want_hw_ts_ = false;
  bool had_packet_ = false;
  bool link_down_ = false;
  double down_since_ = 0;
  int64_t next_refresh_ms_ = 0;
  int64_t next_link_check_ms_ = 0;
  uint64_t bytes_ = 0;
  uint64_t read_errors_ = 0;
  // Precompiled capture filters by Zeek's index (kernel_filter = T: expressions only).
  std::vector<std::string> filter_exprs_;
  pktkit_zeek::InnerFilters user_filters_;
  bool use_user_filter_ = false;
  std::shared_ptr<SourceCounters> counters_ = std::make_shared<SourceCounters>();
};

// Parses a `tcpdump -ddd` program ("N,c t f k,..."); errors name the bad token.
absl::StatusOr<std::vector<sock_filter>> ParseCbpfProgram(const std::string& text);

}  // namespace plugin::PktKit_AF_Packet

#endif  // PLUGINS_ZEEK_AF_PACKET_AF_PACKET_SOURCE_H_
