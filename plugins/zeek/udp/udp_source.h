// plugins/zeek/udp/udp_source.h — the `pktkit_udp::` Zeek packet source: a UDP tunnel endpoint
// (VXLAN, GENEVE, geneve+vxlan, raw, skip=N; IPv4 or IPv6) read with pktkit's recvmmsg or
// io_uring receiver, each datagram decapsulated by pktkit/wire/decap.h and handed to Zeek
// without a copy. Thin glue: the grammar is pktkit/spec/interface_spec.h, the socket, receivers
// and drop counters are pktkit/io's.
//
//   zeek -i pktkit_udp::0.0.0.0:4789:vxlan
//   zeek -i 'pktkit_udp::[::1]:6081:geneve:dlt=raw' -f 'tcp port 80'
//
// Per-packet tunnel metadata (VNIs, GENEVE options) of the packet Zeek is processing is
// reachable through CurrentMeta(pkt): the ConnKey factories and the BIFs use it. It is the
// metadata of that very packet (checked by identity), never a value left over from another one.
#ifndef PLUGINS_ZEEK_UDP_UDP_SOURCE_H_
#define PLUGINS_ZEEK_UDP_UDP_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "pktkit/io/udp_receiver.h"
#include "pktkit/spec/interface_spec.h"
#include "pktkit/wire/tunnel_meta.h"
#include "plugins/zeek/common/packet_glue.h"
#include "zeek/Val.h"
#include "zeek/iosource/PktSrc.h"

namespace plugin::PktKit_UDP {

// Counters shared with Zeek's telemetry callbacks (they outlive the source).
struct SourceCounters {
  const pktkit::UdpReceiverStats* live = nullptr;  // the receiver's, while open
  pktkit::UdpReceiverStats final_stats;            // a copy taken at close
  uint64_t delivered = 0;
  uint64_t filtered = 0;
  int receive_buffer_bytes = 0;

  const pktkit::UdpReceiverStats& stats() const { return live != nullptr ? *live : final_stats; }
};

class UdpSource : public zeek::iosource::PktSrc {
 public:
  ~UdpSource() override;

  // Zeek's factory: `path` is what follows "pktkit_udp::". A bad path still returns a source,
  // whose Open() reports the error naming the bad token (zeek -i then fails with it).
  static zeek::iosource::PktSrc* Instantiate(const std::string& path, bool is_live);

  // The tunnel metadata of `pkt` when it is the packet this process's pktkit_udp:: source is
  // handing to Zeek right now; null otherwise.
  static const pktkit::TunnelMeta* CurrentMeta(const zeek::Packet* pkt);

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
  UdpSource(std::string path, absl::StatusOr<pktkit::InterfaceSpec> spec);
  void RegisterTelemetry();

  std::string path_;
  absl::StatusOr<pktkit::InterfaceSpec> spec_;
  std::unique_ptr<pktkit::UdpReceiver> receiver_;
  pktkit::PacketBatch batch_;
  size_t next_ = 0;
  const pktkit::PacketView* current_ = nullptr;
  const zeek::Packet* current_pkt_ = nullptr;
  bool had_packet_ = false;
  bool pollable_ = false;
  double poll_interval_ = 0.0001;
  uint64_t bytes_ = 0;
  uint64_t read_errors_ = 0;
  pktkit_zeek::InnerFilters filters_;
  std::shared_ptr<SourceCounters> counters_ = std::make_shared<SourceCounters>();
};

// For the BIFs: the packet Zeek is processing now (or none).
int64_t CurrentVni(bool outer);
zeek::ValPtr CurrentGeneveOption(uint64_t option_class, uint64_t option_type);
int64_t CurrentGwlbFlowCookie();

}  // namespace plugin::PktKit_UDP

#endif  // PLUGINS_ZEEK_UDP_UDP_SOURCE_H_
