// Fuzzes Decapsulate in every mode and DecapsulateFrame. Input: byte 0 picks the mode (low 3
// bits: 0 vxlan, 1 geneve, 2 geneve+vxlan, 3 raw, 4 skip, 5 frame/vxlan, 6 frame/geneve,
// 7 raw-IP frame/geneve+vxlan; bit 3: accept unknown critical options; bit 4: the frame was
// cut by a snap length, its wire length 1000 bytes more), byte 1 is skip=N,
// the rest is the datagram or frame. Properties: on success the inner span lies within the
// input and is non-empty, Ethernet inner frames have at least 14 bytes, the error name is
// known; on error the inner span is empty; VNIs fit 24 bits; only a cut frame is `snapped`.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pktkit/wire/decap.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using pktkit::DecapError;
  if (size < 2) return 0;
  const pktkit::ByteSpan in(data + 2, size - 2);
  pktkit::DecapConfig cfg;
  cfg.accept_unknown_critical = (data[0] & 0x08) != 0;
  cfg.skip_bytes = data[1];
  const bool cut = (data[0] & 0x10) != 0;
  const size_t wire_len = cut ? in.size + 1000 : 0;
  pktkit::DecapResult r;
  switch (data[0] & 7) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4: {
      static constexpr pktkit::EncapMode kModes[] = {
          pktkit::EncapMode::kVxlan, pktkit::EncapMode::kGeneve, pktkit::EncapMode::kGeneveVxlan,
          pktkit::EncapMode::kRaw, pktkit::EncapMode::kSkip};
      cfg.mode = kModes[data[0] & 7];
      r = pktkit::Decapsulate(in, cfg);
      break;
    }
    case 5:
      r = pktkit::DecapsulateFrame(in, pktkit::LinkType::kEthernet, 0, cfg, wire_len);
      break;
    case 6:
      cfg.mode = pktkit::EncapMode::kGeneve;
      r = pktkit::DecapsulateFrame(in, pktkit::LinkType::kEthernet, pktkit::kGeneveDefaultPort,
                                   cfg, wire_len);
      break;
    default:
      cfg.mode = pktkit::EncapMode::kGeneveVxlan;
      r = pktkit::DecapsulateFrame(in, pktkit::LinkType::kRaw, 0, cfg, wire_len);
      break;
  }
  PKTKIT_FUZZ_CHECK(static_cast<int>(r.error) < static_cast<int>(DecapError::kCount));
  PKTKIT_FUZZ_CHECK(std::strcmp(pktkit::DecapErrorName(r.error), "unknown") != 0);
  if (!cut) PKTKIT_FUZZ_CHECK(!r.snapped);
  if (r.error != DecapError::kOk) {
    PKTKIT_FUZZ_CHECK(r.inner.empty());
    PKTKIT_FUZZ_CHECK(!r.snapped);
    return 0;
  }
  PKTKIT_FUZZ_CHECK(!r.inner.empty());
  PKTKIT_FUZZ_CHECK(r.inner.data >= in.data && r.inner.size <= in.size &&
                    static_cast<size_t>(r.inner.data - in.data) <= in.size - r.inner.size);
  if (r.link_type == pktkit::LinkType::kEthernet && r.meta.type != pktkit::TunnelType::kRaw &&
      r.meta.type != pktkit::TunnelType::kSkip) {
    PKTKIT_FUZZ_CHECK(r.inner.size >= 14);
  }
  if (r.meta.vni.has_value()) PKTKIT_FUZZ_CHECK(r.meta.vni.value().value() <= pktkit::Vni::kMax);
  if (!r.meta.geneve_options.empty()) {
    const pktkit::ByteSpan o = r.meta.geneve_options;
    PKTKIT_FUZZ_CHECK(o.data >= in.data &&
                      static_cast<size_t>(o.data - in.data) <= in.size - o.size);
    PKTKIT_FUZZ_CHECK(o.size % 4 == 0 && o.size <= pktkit::kGeneveMaxOptionsBytes);
  }
  if (r.meta.type == pktkit::TunnelType::kGeneveVxlan) {
    PKTKIT_FUZZ_CHECK(r.meta.outer_vni.has_value() && r.meta.vni.has_value());
  }
  return 0;
}
