// tools/nflog/pipe_counters.h — the counters of the NFLOG pipe's ZeroMQ source and sink,
// registered once for every program that uses them (nflog-zmq-send, nflog-pcap-recv, the
// stages) and mirrored into the registry by the program's one CounterSync.
//
//   PipeMetrics m("compress");
//   tools::CounterSync sync;
//   WatchZmqSink(**sink, &m, &sync);      // out_*, compressed_packets, dropped_{packets,messages}
//   WatchZmqSource(**source, &m, &sync);  // in_*, dropped_messages{cause=<message error>}
//   options.on_tick = [&] { sync.Sync(); };
//
// Watch the side that sends before the side that receives: a Sync() then never shows a scrape
// more sent than received.
#ifndef PKTKIT_TOOLS_NFLOG_PIPE_COUNTERS_H_
#define PKTKIT_TOOLS_NFLOG_PIPE_COUNTERS_H_

#include <cstddef>

#include "tools/common/run_main.h"
#include "tools/nflog/message.h"
#include "tools/nflog/pipe_common.h"
#include "tools/nflog/zmq_sink.h"
#include "tools/nflog/zmq_source.h"

namespace pktkit::nflog {

// What the sink sent and dropped: `pktkit_nflog_<program>_out_{messages,packets,bytes}_total`,
// `_compressed_packets_total`, `_dropped_packets_total{cause="hwm"|"send_error"|"rate"}`,
// `_dropped_messages_total{cause="hwm"}`.
inline void WatchZmqSink(const ZmqBatchSink& sink, PipeMetrics* m, tools::CounterSync* sync) {
  const ZmqSinkStats& zs = sink.zmq_stats();
  const EncoderStats& es = sink.encoder_stats();
  sync->Watch(m->Add("out_messages", "ZeroMQ messages sent"), [&zs] { return zs.messages; });
  sync->Watch(m->Add("out_packets", "packets sent (raw or in batches)"),
              [&zs] { return zs.packets; });
  sync->Watch(m->Add("out_bytes", "message bytes sent"), [&zs] { return zs.bytes; });
  sync->Watch(m->Add("compressed_packets", "packets sent compressed"),
              [&es] { return es.compressed_packets.load(); });
  sync->Watch(m->Add("dropped_packets", "packets dropped", "hwm"),
              [&zs] { return zs.hwm_dropped_packets; });
  sync->Watch(m->Add("dropped_messages", "messages dropped", "hwm"),
              [&zs] { return zs.hwm_dropped_messages; });
  sync->Watch(m->Add("dropped_packets", "packets dropped", "send_error"),
              [&zs] { return zs.send_error_packets; });
  sync->Watch(m->Add("dropped_packets", "packets dropped", "rate"),
              [&es] { return es.dropped_rate.load(); });
}

// What the source received: `pktkit_nflog_<program>_in_{messages,bytes,packets}_total` and
// `_dropped_messages_total{cause=<MessageErrorName>}`.
inline void WatchZmqSource(const ZmqPullSource& source, PipeMetrics* m,
                           tools::CounterSync* sync) {
  const ZmqSourceStats& zs = source.stats();
  for (size_t e = 1; e < static_cast<size_t>(MessageError::kCount); ++e) {
    sync->Watch(m->Add("dropped_messages", "malformed messages dropped",
                       MessageErrorName(static_cast<MessageError>(e))),
                [&zs, e] { return zs.dropped_messages[e]; });
  }
  sync->Watch(m->Add("in_messages", "ZeroMQ messages received"), [&zs] { return zs.messages; });
  sync->Watch(m->Add("in_bytes", "message bytes received"), [&zs] { return zs.bytes; });
  sync->Watch(m->Add("in_packets", "packets received"), [&zs] { return zs.packets; });
}

}  // namespace pktkit::nflog

#endif  // PKTKIT_TOOLS_NFLOG_PIPE_COUNTERS_H_
