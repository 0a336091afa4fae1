// Fuzzes the pipe's message format. Properties: a message that decodes delivers exactly
// `count` records that lie inside the (decompressed) body; re-encoding them as a raw message
// and decoding that gives the same records; a message that fails delivers nothing.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tools/nflog/codec.h"
#include "tools/nflog/message.h"

#define FUZZ_ASSERT(c)          \
  do {                          \
    if (!(c)) __builtin_trap(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pktkit;
  using namespace pktkit::nflog;
  std::vector<uint8_t> scratch, body;
  std::vector<std::vector<uint8_t>> recs;
  std::vector<int64_t> ts;
  MessageHeader h;
  const MessageError e = DecodeMessage(
      ByteSpan(data, size), &scratch,
      [&](const WireRecord& r, TlvByteOrder) {
        recs.emplace_back(r.record.begin(), r.record.end());
        ts.push_back(r.ts_ns);
        AppendRecord(r.ts_ns, r.record, &body);
      },
      &h);
  if (e != MessageError::kOk) {
    FUZZ_ASSERT(recs.empty());
    return 0;
  }
  FUZZ_ASSERT(recs.size() == h.count);
  FUZZ_ASSERT(body.size() == h.body_len);
  std::vector<uint8_t> msg;
  WriteMessageHeader(MessageKind::kRaw, h.flags, h.count, static_cast<uint32_t>(body.size()), &msg);
  msg.insert(msg.end(), body.begin(), body.end());
  size_t i = 0;
  FUZZ_ASSERT(DecodeMessage(ByteSpan(msg.data(), msg.size()), &scratch,
                            [&](const WireRecord& r, TlvByteOrder) {
                              FUZZ_ASSERT(i < recs.size());
                              FUZZ_ASSERT(std::vector<uint8_t>(r.record.begin(), r.record.end()) ==
                                          recs[i]);
                              FUZZ_ASSERT(r.ts_ns == ts[i]);
                              ++i;
                            }) == MessageError::kOk);
  FUZZ_ASSERT(i == recs.size());
  if (h.kind == MessageKind::kRaw) FUZZ_ASSERT(msg == std::vector<uint8_t>(data, data + size));
  return 0;
}
