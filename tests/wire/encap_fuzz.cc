// Encapsulation round-trip property fuzzer. Input: byte 0 flags (bit 0 GENEVE, bit 1 IPv6,
// bit 2 no IPv4 UDP checksum), bytes 1-3 the VNI, byte 4 the option count (0-3), then for each
// option one byte of length in words (0-31) and its data; the rest is the inner frame.
// Properties: the frame has exactly the announced size; DecapsulateFrame gives back the inner
// bytes, the VNI, the options and the outer ports; the IPv4 header and UDP checksums verify;
// EncapTemplate (built once, patched per packet) writes byte for byte the same frame, also for a
// second packet with another source port, IPv4 id and a shorter inner frame.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "pktkit/wire/checksum.h"
#include "pktkit/wire/decap.h"
#include "pktkit/wire/encap.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  pktkit::ByteReader r(data, size);
  uint8_t flags = 0, count = 0;
  uint32_t vni = 0;
  r.ReadU8(&flags);
  r.ReadU24(&vni);
  r.ReadU8(&count);
  const bool geneve = (flags & 1) != 0, v6 = (flags & 2) != 0;
  pktkit::GeneveOptionSpec opts[3];
  size_t n_opts = 0;
  for (size_t i = 0; geneve && i < (count & 3u); ++i) {
    uint8_t words = 0;
    pktkit::ByteSpan d;
    if (!r.ReadU8(&words) || !r.ReadSpan(size_t{words & 31u} * 4, &d)) return 0;
    opts[n_opts++] =
        pktkit::GeneveOptionSpec{static_cast<uint16_t>(0x0100 + i), static_cast<uint8_t>(i + 1), d};
  }
  const pktkit::ByteSpan inner = r.Rest();
  if (inner.size < 14) return 0;  // decap reports shorter Ethernet frames as truncated

  pktkit::EncapSpec spec;
  spec.mode = geneve ? pktkit::EncapMode::kGeneve : pktkit::EncapMode::kVxlan;
  spec.vni = pktkit::Vni::FromMasked(vni);
  spec.options = opts;
  spec.option_count = n_opts;
  pktkit::OuterSpec outer;
  outer.src.family = outer.dst.family = v6 ? 6 : 4;
  outer.src.addr[0] = 10;
  outer.dst.addr[0] = 11;
  outer.src.port = static_cast<uint16_t>(vni);
  outer.dst.port = geneve ? pktkit::kGeneveDefaultPort : pktkit::kVxlanDefaultPort;
  outer.udp_checksum = (flags & 4) == 0;
  outer.ip_id = static_cast<uint16_t>(vni * 31u);
  const size_t n = pktkit::EncapsulatedFrameSize(outer, spec, inner.size);
  if (n == 0) return 0;  // options over 252 bytes or too large for IP: nothing to check
  std::vector<uint8_t> frame(n);
  pktkit::ByteWriter w(frame.data(), frame.size());
  PKTKIT_FUZZ_CHECK(pktkit::WriteEncapsulatedFrame(outer, spec, inner, &w));
  PKTKIT_FUZZ_CHECK(w.size() == n);

  // The template path: same bytes for this packet, then for a second one through the same
  // template (other source port, id and length), compared with a fresh full build.
  pktkit::EncapTemplate t;
  PKTKIT_FUZZ_CHECK(t.Init(outer, spec));
  PKTKIT_FUZZ_CHECK(t.FrameSize(inner.size) == n);
  {
    std::vector<uint8_t> tf(n);
    pktkit::ByteWriter tw(tf.data(), tf.size());
    PKTKIT_FUZZ_CHECK(t.WriteFrame(outer.src.port, outer.ip_id, inner, &tw));
    PKTKIT_FUZZ_CHECK(tf == frame);
    pktkit::OuterSpec o2 = outer;
    o2.src.port = static_cast<uint16_t>(~vni);
    o2.ip_id = static_cast<uint16_t>(vni >> 8);
    const pktkit::ByteSpan inner2(inner.data, inner.size / 2);
    const size_t n2 = pktkit::EncapsulatedFrameSize(o2, spec, inner2.size);
    PKTKIT_FUZZ_CHECK(n2 != 0 && t.FrameSize(inner2.size) == n2);
    std::vector<uint8_t> a(n2), b(n2);
    pktkit::ByteWriter wa(a.data(), a.size()), wb(b.data(), b.size());
    PKTKIT_FUZZ_CHECK(pktkit::WriteEncapsulatedFrame(o2, spec, inner2, &wa));
    PKTKIT_FUZZ_CHECK(t.WriteFrame(o2.src.port, o2.ip_id, inner2, &wb));
    PKTKIT_FUZZ_CHECK(a == b);
  }

  pktkit::DecapConfig cfg;
  cfg.mode = spec.mode;
  const pktkit::DecapResult d =
      pktkit::DecapsulateFrame(pktkit::ByteSpan(frame.data(), frame.size()),
                               pktkit::LinkType::kEthernet, outer.dst.port, cfg);
  PKTKIT_FUZZ_CHECK(d.error == pktkit::DecapError::kOk);
  PKTKIT_FUZZ_CHECK(d.inner.size == inner.size &&
                std::memcmp(d.inner.data, inner.data, inner.size) == 0);
  PKTKIT_FUZZ_CHECK(d.meta.vni.value() == spec.vni);
  PKTKIT_FUZZ_CHECK(d.meta.outer_src.port == outer.src.port);
  pktkit::GeneveOptionIterator it(d.meta.geneve_options);
  for (size_t i = 0; i < n_opts; ++i) {
    pktkit::GeneveOption o;
    PKTKIT_FUZZ_CHECK(it.Next(&o) == pktkit::GeneveError::kOk);
    PKTKIT_FUZZ_CHECK(o.option_class == opts[i].option_class && o.type == opts[i].type);
    PKTKIT_FUZZ_CHECK(
        o.data.size == opts[i].data.size &&
        (o.data.size == 0 || std::memcmp(o.data.data, opts[i].data.data, o.data.size) == 0));
  }
  PKTKIT_FUZZ_CHECK(it.Done());

  const size_t ip_len = v6 ? 40 : 20;
  const uint8_t* ip = frame.data() + 14;
  const uint8_t* udp = ip + ip_len;
  const size_t udp_len = n - 14 - ip_len;
  if (!v6) PKTKIT_FUZZ_CHECK(pktkit::InternetChecksum(ip, 20) == 0);
  if (v6 || outer.udp_checksum) {
    pktkit::ChecksumAccumulator sum;
    if (v6) {
      sum.AddIpv6PseudoHeader(ip + 8, ip + 24, static_cast<uint32_t>(udp_len), 17);
    } else {
      sum.AddIpv4PseudoHeader(ip + 12, ip + 16, static_cast<uint16_t>(udp_len), 17);
    }
    sum.Add(udp, udp_len);
    PKTKIT_FUZZ_CHECK(sum.Finish() == 0);
  } else {
    PKTKIT_FUZZ_CHECK(pktkit::LoadBe16(udp + 6) == 0);
  }
  return 0;
}
