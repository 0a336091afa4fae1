// Fuzzes InsertVlanTag. Input: 1 byte picks the TPID and the headroom, 2 bytes the TCI, the
// rest is the frame. Properties: with >= 4 bytes of headroom and >= 12 frame bytes the result
// starts 4 bytes earlier, keeps both MACs, carries the tag big-endian, leaves every later byte
// unchanged, and ParseEthernet (when the frame parses) sees the tag outermost; otherwise the
// call fails and no byte changes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/vlan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pktkit;
  if (size < 3) return 0;
  const uint16_t tpids[] = {kTpid8021Q, kTpid8021AD, kTpidLegacyQinQ, 0x1234};
  const VlanTag tag{tpids[data[0] & 3], static_cast<uint16_t>(data[1] << 8 | data[2])};
  const size_t headroom = (data[0] >> 2) & 7;  // 0..7
  const size_t len = size - 3;
  std::vector<uint8_t> buf(headroom + len);
  if (len != 0) std::memcpy(buf.data() + headroom, data + 3, len);
  const std::vector<uint8_t> before = buf;
  const VlanInsertResult r = InsertVlanTag(buf.data() + headroom, len, headroom, tag);
  if (len < 12 || headroom < 4) {
    PKTKIT_FUZZ_CHECK(r.error != VlanInsertError::kOk);
    PKTKIT_FUZZ_CHECK(buf == before);
    return 0;
  }
  PKTKIT_FUZZ_CHECK(r.error == VlanInsertError::kOk);
  PKTKIT_FUZZ_CHECK(r.frame == buf.data() + headroom - 4 && r.length == len + 4);
  PKTKIT_FUZZ_CHECK(std::memcmp(r.frame, data + 3, 12) == 0);
  PKTKIT_FUZZ_CHECK(LoadBe16(r.frame + 12) == tag.tpid && LoadBe16(r.frame + 14) == tag.tci);
  PKTKIT_FUZZ_CHECK(std::memcmp(r.frame + 16, data + 3 + 12, len - 12) == 0);
  if (IsVlanTpid(tag.tpid)) {
    EthernetHeader eth;
    const EthernetError e = ParseEthernet(ByteSpan(r.frame, r.length), &eth);
    if (e == EthernetError::kOk) {
      PKTKIT_FUZZ_CHECK(eth.vlan_count >= 1);
      PKTKIT_FUZZ_CHECK(eth.vlans[0].tpid == tag.tpid && eth.vlans[0].tci == tag.tci);
    } else {
      PKTKIT_FUZZ_CHECK(e == EthernetError::kTruncated || e == EthernetError::kTooManyTags);
    }
  }
  return 0;
}
