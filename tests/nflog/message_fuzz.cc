// Fuzzes the pipe's message format. Properties: a message that decodes delivers exactly
// `count` records that lie inside the (decompressed) body; re-encoding them as a raw message
// and decoding that gives the same records; a message that fails delivers nothing.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tools/nflog/codec.h"
#include "tools/nflog/message.h"

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
    PKTKIT_FUZZ_CHECK(recs.empty());
    return 0;
  }
  PKTKIT_FUZZ_CHECK(recs.size() == h.count);
  PKTKIT_FUZZ_CHECK(body.size() == h.body_len);
  std::vector<uint8_t> msg;
  WriteMessageHeader(MessageKind::kRaw, h.flags, h.count, static_cast<uint32_t>(body.size()), &msg);
  msg.insert(msg.end(), body.begin(), body.end());
  size_t i = 0;
  PKTKIT_FUZZ_CHECK(
      DecodeMessage(
          ByteSpan(msg.data(), msg.size()), &scratch, [&](const WireRecord& r, TlvByteOrder) {
            PKTKIT_FUZZ_CHECK(i < recs.size());
            PKTKIT_FUZZ_CHECK(std::vector<uint8_t>(r.record.begin(), r.record.end()) == recs[i]);
            PKTKIT_FUZZ_CHECK(r.ts_ns == ts[i]);
            ++i;
          }) == MessageError::kOk);
  PKTKIT_FUZZ_CHECK(i == recs.size());
  if (h.kind == MessageKind::kRaw)
    PKTKIT_FUZZ_CHECK(msg == std::vector<uint8_t>(data, data + size));
  return 0;
}
