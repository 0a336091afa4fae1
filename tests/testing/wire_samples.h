// tests/testing/wire_samples.h — sample inputs shared by the wire tests and benchmarks: a
// patterned inner Ethernet frame of any length and the AWS Gateway Load Balancer GENEVE option
// set (endpoint id, attachment id, flow cookie; class 0x0108), so that every benchmark and test
// encapsulates the same bytes.
//
//   const std::vector<uint8_t> inner = pktkit::samples::PatternedFrame(1500);
//   pktkit::EncapSpec spec = pktkit::samples::SampleSpec(pktkit::EncapMode::kGeneve);  // GWLB options
#ifndef PKTKIT_TESTS_TESTING_WIRE_SAMPLES_H_
#define PKTKIT_TESTS_TESTING_WIRE_SAMPLES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pktkit/wire/encap.h"
#include "pktkit/wire/geneve.h"

namespace pktkit::samples {

// `n` bytes (n >= 14): a byte pattern with EtherType IPv4 at offset 12.
inline std::vector<uint8_t> PatternedFrame(size_t n) {
  std::vector<uint8_t> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = static_cast<uint8_t>(i * 13);
  f[12] = 0x08;
  f[13] = 0x00;
  return f;
}

inline constexpr uint8_t kGwlbEndpointId[8] = {1, 2, 3, 4, 5, 6, 7, 8};
inline constexpr uint8_t kGwlbAttachmentId[8] = {9, 10, 11, 12, 13, 14, 15, 16};
inline constexpr uint8_t kGwlbCookie[4] = {0xc0, 0xff, 0xee, 0x01};
inline constexpr size_t kGwlbOptionCount = 3;
// The AWS GWLB option set: what a GENEVE datagram with options looks like in practice.
inline const GeneveOptionSpec kGwlbOptions[kGwlbOptionCount] = {
    {kGeneveClassAwsGwlb, 1, ByteSpan(kGwlbEndpointId, 8)},
    {kGeneveClassAwsGwlb, 2, ByteSpan(kGwlbAttachmentId, 8)},
    {kGeneveClassAwsGwlb, 3, ByteSpan(kGwlbCookie, 4)},
};

// VNI 4242; GENEVE carries the GWLB options.
inline EncapSpec SampleSpec(EncapMode mode) {
  EncapSpec s;
  s.mode = mode;
  s.vni = Vni::FromMasked(4242);
  if (mode == EncapMode::kGeneve) {
    s.options = kGwlbOptions;
    s.option_count = kGwlbOptionCount;
  }
  return s;
}

}  // namespace pktkit::samples

#endif  // PKTKIT_TESTS_TESTING_WIRE_SAMPLES_H_
