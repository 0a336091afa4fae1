// tools/nflog/window_sink.h — the NFLOG receiver's in-memory window of recent traffic (what
// nflog-pcap-query fetches) as a PacketSink, fed beside the core's PcapSink through the core's
// TeeSink (pktkit/io/sink.h).
//
//   RecentWindowSink window(/*max_bytes=*/64 << 20, LinkType::kRaw, snaplen);
//   pktkit::TeeSink both(pcap_sink, window);
//   RunPipeline(source, transforms, both, stop, options, nullptr);
//   std::string dump = window.Dump();   // a complete pcap file of the window, for a query
//
// The window copies each packet (up to max_bytes of packet data in all; the oldest leave
// first; a packet larger than the whole window is not kept) and writes the dump with the core's
// record codec (pktkit/io/pcap_record.h). Memory is bounded by max_bytes plus a small header
// per packet. Not thread-safe: Dump() from the thread that runs the pipeline (its on_tick).
#ifndef PKTKIT_TOOLS_NFLOG_WINDOW_SINK_H_
#define PKTKIT_TOOLS_NFLOG_WINDOW_SINK_H_

#include <cstdint>
#include <deque>
#include <string>

#include "absl/status/status.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/pcap_record.h"
#include "pktkit/io/sink.h"

namespace pktkit::nflog {

class RecentWindowSink : public PacketSink {
 public:
  RecentWindowSink(size_t max_bytes, LinkType link_type, uint32_t snaplen)
      : max_bytes_(max_bytes), link_type_(link_type), snaplen_(snaplen) {}

  absl::Status Write(const PacketBatch& batch) override {
    for (const PacketView& p : batch) {
      if (p.caplen > max_bytes_) {
        ++stats_.dropped;  // larger than the whole window
        continue;
      }
      entries_.push_back(Entry{p.timestamp_ns, p.wire_len, std::string(p.bytes().begin(),
                                                                        p.bytes().end())});
      bytes_ += p.caplen;
      ++stats_.packets;
      stats_.bytes += p.caplen;
      while (bytes_ > max_bytes_) {
        bytes_ -= entries_.front().bytes.size();
        entries_.pop_front();
      }
    }
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  SinkStats stats() const override { return stats_; }

  // The window as a complete pcap file (nanosecond, the window's link type).
  std::string Dump() const {
    std::string out;
    out.reserve(kPcapFileHeaderSize + bytes_ + kPcapRecordHeaderSize * entries_.size());
    AppendPcapFileHeader(link_type_, snaplen_, &out);
    for (const Entry& e : entries_) {
      AppendPcapRecord(ByteSpan(reinterpret_cast<const uint8_t*>(e.bytes.data()), e.bytes.size()),
                       e.wire_len, e.ts_ns, snaplen_, &out);
    }
    return out;
  }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int64_t ts_ns;
    uint32_t wire_len;
    std::string bytes;
  };
  size_t max_bytes_;
  LinkType link_type_;
  uint32_t snaplen_;
  size_t bytes_ = 0;
  std::deque<Entry> entries_;
  SinkStats stats_;
};

}  // namespace pktkit::nflog

#endif  // PKTKIT_TOOLS_NFLOG_WINDOW_SINK_H_
