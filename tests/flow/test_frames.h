// tests/flow/test_frames.h — builds Ethernet/IPv4/IPv6 + L4 frames for flow tests, and reads
// every packet of a capture with libpcap.
#ifndef PKTKIT_TESTS_FLOW_TEST_FRAMES_H_
#define PKTKIT_TESTS_FLOW_TEST_FRAMES_H_

#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/ipv4.h"
#include "pktkit/wire/ipv6.h"
#include "pktkit/wire/l4.h"
#include "pktkit/wire/link_type.h"

namespace pktkit::testing {

struct Endpoints {
  uint8_t family = 4;
  uint8_t src[16] = {};
  uint8_t dst[16] = {};
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t protocol = kIpProtoUdp;
};

inline Endpoints Swapped(const Endpoints& e) {
  Endpoints s = e;
  std::copy(e.src, e.src + 16, s.dst);
  std::copy(e.dst, e.dst + 16, s.src);
  s.sport = e.dport;
  s.dport = e.sport;
  return s;
}

// An Ethernet frame (with `tags`, outermost first, when link == kEthernet) or a raw IP packet
// carrying an 8-byte L4 header (ports in the first 4 bytes) and `payload_len` zero bytes.
inline std::vector<uint8_t> BuildFrame(const Endpoints& e, LinkType link = LinkType::kEthernet,
                                       std::vector<VlanTag> tags = {}, size_t payload_len = 8) {
  std::vector<uint8_t> out(14 + 4 * tags.size() + 40 + 20 + payload_len);
  ByteWriter w(out.data(), out.size());
  if (link == LinkType::kEthernet) {
    EthernetHeader eth;
    for (int i = 0; i < 6; ++i) eth.dst[i] = static_cast<uint8_t>(0x10 + i);
    for (int i = 0; i < 6; ++i) eth.src[i] = static_cast<uint8_t>(0x20 + i);
    eth.vlan_count = static_cast<uint8_t>(tags.size());
    for (size_t i = 0; i < tags.size(); ++i) eth.vlans[i] = tags[i];
    eth.ethertype = e.family == 6 ? kEtherTypeIpv6 : kEtherTypeIpv4;
    SerializeEthernet(eth, &w);
  }
  const size_t l4_len = (e.protocol == kIpProtoTcp ? 20 : 8) + payload_len;
  if (e.family == 6) {
    Ipv6Header ip;
    std::copy(e.src, e.src + 16, ip.src);
    std::copy(e.dst, e.dst + 16, ip.dst);
    ip.next_header = e.protocol;
    SerializeIpv6(ip, l4_len, &w);
  } else {
    Ipv4Header ip;
    std::copy(e.src, e.src + 4, ip.src);
    std::copy(e.dst, e.dst + 4, ip.dst);
    ip.protocol = e.protocol;
    SerializeIpv4(ip, l4_len, &w);
  }
  w.WriteU16(e.sport);
  w.WriteU16(e.dport);
  w.WriteZeros(l4_len - 4);
  if (e.protocol == kIpProtoTcp) out[w.size() - l4_len + 12] = 0x50;  // data offset 5
  out.resize(w.size());
  return out;
}

// Every packet of `path` (empty and *ok=false when it cannot be opened).
inline std::vector<std::vector<uint8_t>> ReadPcap(const std::string& path, int* linktype,
                                                  bool* ok) {
  std::vector<std::vector<uint8_t>> packets;
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  *ok = p != nullptr;
  if (p == nullptr) return packets;
  *linktype = pcap_datalink(p);
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(p, &hdr, &data) == 1) packets.emplace_back(data, data + hdr->caplen);
  pcap_close(p);
  return packets;
}

}  // namespace pktkit::testing

#endif  // PKTKIT_TESTS_FLOW_TEST_FRAMES_H_
