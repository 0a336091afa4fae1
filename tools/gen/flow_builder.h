// tools/gen/flow_builder.h — internals of the traffic generator: Ethernet/802.1Q/QinQ, IPv4
// and IPv6 headers (with fragments) and the TCP, HTTP, DNS, ICMP and UDP flows, each packet with
// correct checksums. Use tools/gen/generator.h; this header is its implementation.
//
//   pktkit::gen::internal::FlowBuilder b(flow, options, &rng, index, &packets);
//   b.Dns();
//
// References: RFC 791, RFC 793, RFC 768, RFC 792, RFC 8200 §4.5, RFC 4443, RFC 1035.
#ifndef PKTKIT_TOOLS_GEN_FLOW_BUILDER_H_
#define PKTKIT_TOOLS_GEN_FLOW_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "pktkit/wire/bytes.h"
#include "pktkit/wire/checksum.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/ipv4.h"
#include "pktkit/wire/ipv6.h"
#include "pktkit/wire/link_type.h"
#include "tools/gen/gen_options.h"

namespace pktkit::gen {

namespace internal {

inline constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoFrag = 44,
                         kProtoIcmpv6 = 58;
inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpPsh = 0x08, kTcpAck = 0x10;

// Everything about one flow's endpoints and encapsulation.
struct FlowCtx {
  bool v6 = false;
  uint8_t client[16] = {}, server[16] = {};
  uint8_t client_mac[6] = {}, server_mac[6] = {};
  uint16_t client_port = 0, server_port = 0;
  int tags = 0;  // 0, 1 (802.1Q) or 2 (QinQ)
  uint16_t s_vid = 0, c_vid = 0;
  uint32_t ip_id = 0;
};

// Writes Ethernet (+ tags) + IP header for an IP payload of `ip_payload_len` bytes. For IPv6
// with `frag` set, an 8-byte Fragment header is added (its bytes count in ip_payload_len's
// caller-provided total via `frag_next`).
struct IpPart {
  bool from_client = true;
  uint8_t proto = 0;
  size_t payload_len = 0;  // bytes after the IP header (and after a v6 fragment header)
  bool fragment = false;
  uint16_t frag_offset8 = 0;  // in 8-byte units
  bool more_fragments = false;
  uint32_t ident = 0;
};

inline void WriteL2L3(const FlowCtx& f, const IpPart& p, std::vector<uint8_t>* out) {
  const uint8_t* src = p.from_client ? f.client : f.server;
  const uint8_t* dst = p.from_client ? f.server : f.client;
  const size_t l2 = 14 + 4 * static_cast<size_t>(f.tags);
  const size_t v6frag = (f.v6 && p.fragment) ? 8 : 0;
  const size_t l3 = (f.v6 ? 40 : 20) + v6frag;
  out->assign(l2 + l3 + p.payload_len, 0);
  ByteWriter w(out->data(), out->size());
  EthernetHeader eth;
  memcpy(eth.dst, p.from_client ? f.server_mac : f.client_mac, 6);
  memcpy(eth.src, p.from_client ? f.client_mac : f.server_mac, 6);
  if (f.tags == 2) eth.vlans[eth.vlan_count++] = VlanTag{kTpid8021AD, f.s_vid};
  if (f.tags >= 1) eth.vlans[eth.vlan_count++] = VlanTag{kTpid8021Q, f.c_vid};
  eth.ethertype = f.v6 ? kEtherTypeIpv6 : kEtherTypeIpv4;
  SerializeEthernet(eth, &w);
  if (!f.v6) {
    Ipv4Header ip;
    ip.id = static_cast<uint16_t>(p.ident);
    ip.fragment_offset = p.frag_offset8;
    ip.more_fragments = p.more_fragments;
    ip.dont_fragment = !p.fragment && p.proto == kProtoTcp;  // DF on TCP, like real stacks
    ip.ttl = 64;
    ip.protocol = p.proto;
    memcpy(ip.src, src, 4);
    memcpy(ip.dst, dst, 4);
    SerializeIpv4(ip, p.payload_len, &w);
  } else {
    Ipv6Header ip;
    ip.next_header = p.fragment ? kProtoFrag : p.proto;
    ip.hop_limit = 64;
    memcpy(ip.src, src, 16);
    memcpy(ip.dst, dst, 16);
    SerializeIpv6(ip, v6frag + p.payload_len, &w);
    if (p.fragment) {  // RFC 8200 §4.5: next, reserved, offset:13|res:2|M:1, identification
      w.WriteU8(p.proto);
      w.WriteU8(0);
      w.WriteU16(static_cast<uint16_t>((p.frag_offset8 << 3) | (p.more_fragments ? 1 : 0)));
      w.WriteU32(p.ident);
    }
  }
}

// Fills in the L4 checksum of a complete (unfragmented) L4 segment at `l4`.
inline void FixL4Checksum(const FlowCtx& f, bool from_client, uint8_t proto, uint8_t* l4,
                          size_t len) {
  const size_t off = proto == kProtoTcp ? 16 : proto == kProtoUdp ? 6 : 2;
  StoreBe16(l4 + off, 0);
  ChecksumAccumulator sum;
  const uint8_t* src = from_client ? f.client : f.server;
  const uint8_t* dst = from_client ? f.server : f.client;
  if (proto != kProtoIcmp) {  // ICMPv4 has no pseudo-header
    if (f.v6) {
      sum.AddIpv6PseudoHeader(src, dst, static_cast<uint32_t>(len), proto);
    } else {
      sum.AddIpv4PseudoHeader(src, dst, static_cast<uint16_t>(len), proto);
    }
  }
  sum.Add(l4, len);
  uint16_t c = sum.Finish();
  if (proto == kProtoUdp && c == 0) c = 0xffff;  // RFC 768
  StoreBe16(l4 + off, c);
}

class FlowBuilder {
 public:
  FlowBuilder(const FlowCtx& f, const GenOptions& o, Rng* rng, uint32_t flow,
              std::vector<GenPacket>* out)
      : f_(f), o_(o), rng_(rng), flow_(flow), out_(out) {}

  // One unfragmented IP packet with L4 bytes `l4` (checksum computed here).
  void Emit(bool from_client, uint8_t proto, std::vector<uint8_t> l4) {
    FixL4Checksum(f_, from_client, proto, l4.data(), l4.size());
    IpPart p;
    p.from_client = from_client;
    p.proto = proto;
    p.payload_len = l4.size();
    p.ident = NextId();
    GenPacket g;
    WriteL2L3(f_, p, &g.bytes);
    std::memcpy(g.bytes.data() + g.bytes.size() - l4.size(), l4.data(), l4.size());
    Push(std::move(g), from_client);
  }

  // An L4 segment split into IP fragments so that each fits the MTU.
  void EmitFragmented(bool from_client, uint8_t proto, std::vector<uint8_t> l4) {
    FixL4Checksum(f_, from_client, proto, l4.data(), l4.size());
    const size_t per = ((o_.mtu - (f_.v6 ? 48 : 20)) / 8) * 8;
    const uint32_t ident = NextId();
    for (size_t off = 0; off < l4.size(); off += per) {
      const size_t n = l4.size() - off < per ? l4.size() - off : per;
      IpPart p;
      p.from_client = from_client;
      p.proto = proto;
      p.payload_len = n;
      p.fragment = true;
      p.frag_offset8 = static_cast<uint16_t>(off / 8);
      p.more_fragments = off + n < l4.size();
      p.ident = ident;
      GenPacket g;
      WriteL2L3(f_, p, &g.bytes);
      std::memcpy(g.bytes.data() + g.bytes.size() - n, l4.data() + off, n);
      Push(std::move(g), from_client);
    }
  }

  std::vector<uint8_t> Tcp(bool from_client, uint8_t flags, const std::string& payload) {
    std::vector<uint8_t> b(20 + payload.size());
    ByteWriter w(b.data(), b.size());
    w.WriteU16(from_client ? f_.client_port : f_.server_port);
    w.WriteU16(from_client ? f_.server_port : f_.client_port);
    w.WriteU32(from_client ? cseq_ : sseq_);
    w.WriteU32((flags & kTcpAck) ? (from_client ? sseq_ : cseq_) : 0);
    w.WriteU8(5 << 4);  // data offset 5 words
    w.WriteU8(flags);
    w.WriteU16(64240);
    w.WriteU32(0);  // checksum, urgent pointer
    w.WriteBytes(payload.data(), payload.size());
    uint32_t adv = static_cast<uint32_t>(payload.size()) + ((flags & (kTcpSyn | kTcpFin)) ? 1 : 0);
    (from_client ? cseq_ : sseq_) += adv;
    return b;
  }

  void TcpConnection(bool http) {
    cseq_ = static_cast<uint32_t>(rng_->Next());
    sseq_ = static_cast<uint32_t>(rng_->Next());
    Emit(true, kProtoTcp, Tcp(true, kTcpSyn, ""));
    Emit(false, kProtoTcp, Tcp(false, kTcpSyn | kTcpAck, ""));
    Emit(true, kProtoTcp, Tcp(true, kTcpAck, ""));
    const size_t mss = o_.mtu - (f_.v6 ? 60 : 40);
    const size_t segs = o_.data_segments == 0 ? 1 : o_.data_segments;
    std::string body;
    if (http) {
      const size_t body_len = segs * (mss / 2) + rng_->Below(mss / 2);
      Emit(true, kProtoTcp,
           Tcp(true, kTcpPsh | kTcpAck,
               "GET /object/" + std::to_string(flow_) + " HTTP/1.1\r\nHost: www" +
                   std::to_string(flow_) + ".example.com\r\nUser-Agent: pktkit-gen\r\n\r\n"));
      Emit(false, kProtoTcp, Tcp(false, kTcpAck, ""));
      body = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
             std::to_string(body_len) + "\r\n\r\n" + std::string(body_len, 'x');
    } else {
      for (size_t i = 0; i < segs / 2 + 1; ++i) {
        Emit(true, kProtoTcp, Tcp(true, kTcpPsh | kTcpAck, Random(1 + rng_->Below(mss))));
      }
      for (size_t i = 0; i < segs; ++i) body += Random(1 + rng_->Below(mss));
    }
    for (size_t off = 0; off < body.size(); off += mss) {
      Emit(false, kProtoTcp, Tcp(false, kTcpPsh | kTcpAck, body.substr(off, mss)));
    }
    Emit(true, kProtoTcp, Tcp(true, kTcpAck, ""));
    Emit(true, kProtoTcp, Tcp(true, kTcpFin | kTcpAck, ""));
    Emit(false, kProtoTcp, Tcp(false, kTcpFin | kTcpAck, ""));
    Emit(true, kProtoTcp, Tcp(true, kTcpAck, ""));
  }

  std::vector<uint8_t> Udp(bool from_client, const std::string& payload) {
    std::vector<uint8_t> b(8 + payload.size());
    ByteWriter w(b.data(), b.size());
    w.WriteU16(from_client ? f_.client_port : f_.server_port);
    w.WriteU16(from_client ? f_.server_port : f_.client_port);
    w.WriteU16(static_cast<uint16_t>(b.size()));
    w.WriteU16(0);
    w.WriteBytes(payload.data(), payload.size());
    return b;
  }

  void Dns() {
    const uint16_t id = static_cast<uint16_t>(rng_->Next());
    const std::string name = "host" + std::to_string(flow_) + ".example.com";
    std::string q;
    for (size_t start = 0; start <= name.size();) {  // RFC 1035 §3.1 labels
      size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      q += static_cast<char>(dot - start);
      q += name.substr(start, dot - start);
      start = dot + 1;
    }
    q += '\0';
    const uint16_t qtype = f_.v6 ? 28 : 1;  // AAAA or A
    q += {static_cast<char>(qtype >> 8), static_cast<char>(qtype & 0xff), 0, 1};
    auto hdr = [&](uint16_t flags, uint16_t an) {
      return std::string{static_cast<char>(id >> 8),
                         static_cast<char>(id & 0xff),
                         static_cast<char>(flags >> 8),
                         static_cast<char>(flags & 0xff),
                         0,
                         1,
                         static_cast<char>(an >> 8),
                         static_cast<char>(an & 0xff),
                         0,
                         0,
                         0,
                         0};
    };
    Emit(true, kProtoUdp, Udp(true, hdr(0x0100, 0) + q));
    std::string ans = {static_cast<char>(0xc0), 12};  // pointer to the question name
    ans += {static_cast<char>(qtype >> 8), static_cast<char>(qtype & 0xff), 0, 1, 0, 0, 0x0e, 0x10};
    const std::string rdata = Random(f_.v6 ? 16 : 4);
    ans += {0, static_cast<char>(rdata.size())};
    ans += rdata;
    Emit(false, kProtoUdp, Udp(false, hdr(0x8180, 1) + q + ans));
  }

  void Icmp() {
    const uint16_t ident = static_cast<uint16_t>(rng_->Next());
    const uint8_t proto = f_.v6 ? kProtoIcmpv6 : kProtoIcmp;
    for (size_t i = 0; i < (o_.icmp_pairs == 0 ? 1 : o_.icmp_pairs); ++i) {
      const std::string data = Random(56);
      for (bool req : {true, false}) {
        std::vector<uint8_t> b(8 + data.size());
        ByteWriter w(b.data(), b.size());
        // Echo request/reply: ICMP 8/0 (RFC 792), ICMPv6 128/129 (RFC 4443 §4).
        w.WriteU8(f_.v6 ? (req ? 128 : 129) : (req ? 8 : 0));
        w.WriteU8(0);
        w.WriteU16(0);
        w.WriteU16(ident);
        w.WriteU16(static_cast<uint16_t>(i + 1));
        w.WriteBytes(data.data(), data.size());
        Emit(req, proto, std::move(b));
      }
    }
  }

  void UdpFragments() {
    EmitFragmented(true, kProtoUdp, Udp(true, Random(o_.fragment_datagram_bytes)));
    EmitFragmented(false, kProtoUdp, Udp(false, Random(o_.fragment_datagram_bytes / 2 + 1)));
  }

  void UdpFixed() {
    const size_t hdrs = 14 + 4 * static_cast<size_t>(f_.tags) + (f_.v6 ? 40 : 20) + 8;
    const size_t payload = o_.fixed_frame_bytes > hdrs ? o_.fixed_frame_bytes - hdrs : 0;
    for (size_t i = 0; i < o_.fixed_packets; ++i)
      Emit(i % 2 == 0, kProtoUdp, Udp(i % 2 == 0, Random(payload)));
  }

 private:
  uint32_t NextId() { return ++ident_ + (flow_ << 16); }
  std::string Random(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; i += 8) {
      const uint64_t v = rng_->Next();
      for (size_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
    }
    return s;
  }
  void Push(GenPacket g, bool from_client) {
    g.flow = flow_;
    g.from_client = from_client;
    out_->push_back(std::move(g));
  }

  const FlowCtx& f_;
  const GenOptions& o_;
  Rng* rng_;
  uint32_t flow_;
  std::vector<GenPacket>* out_;
  uint32_t cseq_ = 0, sseq_ = 0, ident_ = 0;
};

inline FlowCtx MakeFlow(const GenOptions& o, Rng* rng, uint32_t i) {
  FlowCtx f;
  f.v6 = rng->Chance(o.ipv6_share);
  if (!f.v6) {  // clients in 10.0.0.0/8, servers in 172.16.0.0/12 (RFC 1918)
    const uint64_t r = rng->Next();
    f.client[0] = 10, f.client[1] = uint8_t(i >> 8), f.client[2] = uint8_t(i),
    f.client[3] = uint8_t(r | 1);
    f.server[0] = 172, f.server[1] = uint8_t(16 + ((r >> 8) & 15)), f.server[2] = uint8_t(r >> 16),
    f.server[3] = uint8_t((r >> 24) | 1);
  } else {  // fd00::/8 unique local addresses (RFC 4193)
    f.client[0] = f.server[0] = 0xfd;
    f.client[1] = 1, f.server[1] = 2;
    StoreBe64(f.client + 8, rng->Next());
    StoreBe64(f.server + 8, rng->Next());
    StoreBe32(f.client + 4, i);
  }
  // Locally administered unicast MACs (02:...).
  f.client_mac[0] = f.server_mac[0] = 0x02;
  StoreBe32(f.client_mac + 2, static_cast<uint32_t>(rng->Next()));
  StoreBe32(f.server_mac + 2, static_cast<uint32_t>(rng->Next()));
  f.client_port = static_cast<uint16_t>(32768 + rng->Below(28232));
  const double t = static_cast<double>(rng->Next() >> 11) * 0x1.0p-53;
  f.tags = t < o.qinq_share ? 2 : t < o.qinq_share + o.vlan_share ? 1 : 0;
  f.s_vid = static_cast<uint16_t>(1 + rng->Below(4094));
  f.c_vid = static_cast<uint16_t>(1 + rng->Below(4094));
  return f;
}

}  // namespace internal

}  // namespace pktkit::gen

#endif  // PKTKIT_TOOLS_GEN_FLOW_BUILDER_H_
