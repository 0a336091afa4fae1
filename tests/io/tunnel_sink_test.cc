// Loopback tests of pktkit/io/tunnel_sink.h: VXLAN and GENEVE datagrams from the sink decode
// (pktkit/wire/decap.h) to exactly the inner frames, with the VNI (default and per VLAN) and the
// GENEVE Protocol Type; flows (both directions) stick to one of two destinations; raw sockets
// carry the flow hash as the source port (needs CAP_NET_RAW, skipped without); IPv6
// destinations; frames mode builds whole frames with valid checksums; unsupported input,
// oversize and too-big packets are counted by cause.
#include "pktkit/io/tunnel_sink.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "pktkit/flow/destination.h"
#include "pktkit/io/udp_socket.h"
#include "pktkit/wire/checksum.h"
#include "pktkit/wire/decap.h"
#include "pktkit/wire/ethernet.h"
#include "pktkit/wire/ipv4.h"
#include "pktkit/wire/l4.h"

namespace pktkit {
namespace {

// An Ethernet/IPv4/UDP frame a -> b (last address bytes), optionally with one VLAN tag.
std::vector<uint8_t> Frame(uint8_t a, uint8_t b, int vid = -1, size_t payload = 20) {
  std::vector<uint8_t> f = {2, 0, 0, 0, 0, b, 2, 0, 0, 0, 0, a};
  if (vid >= 0)
    f.insert(f.end(), {0x81, 0x00, static_cast<uint8_t>(vid >> 8), static_cast<uint8_t>(vid)});
  f.insert(f.end(), {0x08, 0x00});
  const uint16_t total = static_cast<uint16_t>(28 + payload);
  const uint8_t ip[] = {0x45,
                        0,
                        static_cast<uint8_t>(total >> 8),
                        static_cast<uint8_t>(total),
                        0,
                        1,
                        0,
                        0,
                        64,
                        17,
                        0,
                        0,
                        10,
                        0,
                        0,
                        a,
                        10,
                        0,
                        0,
                        b,
                        0x30,
                        0x39,
                        0x00,
                        0x35,
                        static_cast<uint8_t>((8 + payload) >> 8),
                        static_cast<uint8_t>(8 + payload),
                        0,
                        0};
  f.insert(f.end(), ip, ip + sizeof ip);
  for (size_t i = 0; i < payload; ++i) f.push_back(static_cast<uint8_t>(a * 7 + b + i));
  return f;
}

PacketView View(const std::vector<uint8_t>& f, LinkType lt = LinkType::kEthernet) {
  PacketView v;
  v.data = f.data();
  v.caplen = v.wire_len = static_cast<uint32_t>(f.size());
  v.link_type = lt;
  v.timestamp_ns = 1700000000123456789;
  return v;
}

struct Listener {
  UdpSocket socket;
  uint16_t port = 0;
};

Listener Listen(const char* host) {
  absl::StatusOr<UdpSocket> s = UdpSocket::Bind(*SocketAddress::Parse(host, 0), UdpSocketOptions());
  EXPECT_TRUE(s.ok()) << s.status();
  Listener l{std::move(*s), 0};
  l.port = l.socket.local_port();
  return l;
}

struct Datagram {
  std::vector<uint8_t> bytes;
  uint16_t source_port = 0;
};

// Everything that arrives within 300 ms of the last datagram.
std::vector<Datagram> Receive(Listener* l) {
  std::vector<Datagram> out;
  pollfd p{l->socket.fd(), POLLIN, 0};
  while (poll(&p, 1, 300) > 0) {
    uint8_t buf[70000];
    sockaddr_storage from;
    socklen_t fl = sizeof from;
    const ssize_t n =
        recvfrom(l->socket.fd(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) break;
    out.push_back(
        {std::vector<uint8_t>(buf, buf + n), SocketAddress::FromSockaddr(from, fl).port()});
  }
  return out;
}

TunnelDestination Dest(const char* host, uint16_t port) {
  absl::StatusOr<TunnelDestination> d = ParseTunnelDestination(
      absl::StrCat(host[0] == ':' ? "[" : "", host, host[0] == ':' ? "]" : "", ":", port), 4789);
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

// Sends `frames` through a VXLAN sink to two loopback listeners; returns what each received.
void CheckFlowsStickToOneDestination(UdpSenderOptions::Socket socket_kind) {
  Listener l0 = Listen("127.0.0.1"), l1 = Listen("127.0.0.1");
  TunnelSinkOptions o;
  o.vni = Vni::FromMasked(4242);
  UdpSenderOptions so;
  so.socket = socket_kind;
  auto sink =
      TunnelSink::OpenSender({Dest("127.0.0.1", l0.port), Dest("127.0.0.1", l1.port)}, o, so);
  ASSERT_TRUE(sink.ok()) << sink.status();
  if (socket_kind == UdpSenderOptions::Socket::kRaw) {
    ASSERT_TRUE((*sink)->per_flow_source_port());
  }
  // 40 flows, both directions, 3 packets each way.
  std::vector<std::vector<uint8_t>> frames;
  for (uint8_t f = 1; f <= 40; ++f) {
    for (int i = 0; i < 3; ++i) {
      frames.push_back(Frame(f, static_cast<uint8_t>(100 + f)));
      frames.push_back(Frame(static_cast<uint8_t>(100 + f), f));
    }
  }
  std::vector<PacketView> views;
  for (const auto& f : frames) views.push_back(View(f));
  ASSERT_TRUE((*sink)->Write(PacketBatch{views.data(), views.size()}).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  EXPECT_EQ((*sink)->stats().packets, frames.size());
  EXPECT_EQ((*sink)->stats().dropped, 0u);
  uint64_t inner_bytes = 0;
  for (const auto& f : frames) inner_bytes += f.size();
  EXPECT_EQ((*sink)->stats().bytes, inner_bytes);

  std::map<uint32_t, std::pair<int, uint16_t>> where;  // flow (low address byte) -> dest, port
  std::multiset<std::vector<uint8_t>> got_frames;
  size_t total = 0;
  std::set<int> used;
  for (int d = 0; d < 2; ++d) {
    for (const Datagram& g : Receive(d == 0 ? &l0 : &l1)) {
      ++total;
      DecapResult r = Decapsulate(ByteSpan(g.bytes.data(), g.bytes.size()), DecapConfig());
      ASSERT_EQ(r.error, DecapError::kOk);
      ASSERT_TRUE(r.meta.vni.has_value());
      EXPECT_EQ(r.meta.vni.value().value(), 4242u);
      std::vector<uint8_t> inner(r.inner.data, r.inner.data + r.inner.size);
      const uint32_t flow = std::min(inner[29], inner[33]);  // last bytes of the IP addresses
      got_frames.insert(inner);
      used.insert(d);
      auto it = where.emplace(flow, std::make_pair(d, g.source_port)).first;
      EXPECT_EQ(it->second.first, d) << "flow " << flow << " split over destinations";
      if (socket_kind == UdpSenderOptions::Socket::kRaw) {
        EXPECT_EQ(it->second.second, g.source_port) << "flow " << flow;
        EXPECT_GE(g.source_port, 49152);
      }
    }
  }
  EXPECT_EQ(total, frames.size());
  EXPECT_EQ(got_frames, std::multiset<std::vector<uint8_t>>(frames.begin(), frames.end()));
  EXPECT_EQ(used.size(), 2u);
  if (socket_kind == UdpSenderOptions::Socket::kRaw) {
    std::set<uint16_t> ports;
    for (const auto& kv : where) ports.insert(kv.second.second);
    EXPECT_GT(ports.size(), 20u);  // the flow hash spreads source ports
  }
}

TEST(TunnelSinkTest, VxlanOverUdpSocketsKeepsEachFlowOnOneDestination) {
  CheckFlowsStickToOneDestination(UdpSenderOptions::Socket::kUdp);
}

TEST(TunnelSinkTest, RawSocketsPutTheFlowHashInTheSourcePort) {
  const int probe = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
  if (probe < 0) GTEST_SKIP() << "SKIP: raw sockets need CAP_NET_RAW (run as root)";
  close(probe);
  CheckFlowsStickToOneDestination(UdpSenderOptions::Socket::kRaw);
}

TEST(TunnelSinkTest, GeneveOverIpv6CarriesRawIpWithItsProtocolTypeAndOptions) {
  Listener l = Listen("::1");
  TunnelSinkOptions o;
  o.mode = EncapMode::kGeneve;
  o.vni = Vni::FromMasked(0xabcdef);
  const uint8_t opt_data[4] = {1, 2, 3, 4};
  GeneveOptionSpec opt;
  opt.option_class = 0x0108;
  opt.type = 1;
  opt.data = ByteSpan(opt_data, 4);
  o.geneve_options = {opt};
  auto sink = TunnelSink::OpenSender({Dest("::1", l.port)}, o, UdpSenderOptions());
  ASSERT_TRUE(sink.ok()) << sink.status();
  const std::vector<uint8_t> eth = Frame(1, 2);
  const std::vector<uint8_t> ip(eth.begin() + 14, eth.end());
  std::vector<uint8_t> ip6(48, 0);
  ip6[0] = 0x60;
  ip6[6] = 59;  // no next header
  PacketView v[3] = {View(eth), View(ip, LinkType::kRaw), View(ip6, LinkType::kRaw)};
  ASSERT_TRUE((*sink)->Write(PacketBatch{v, 3}).ok());
  std::vector<Datagram> got = Receive(&l);
  ASSERT_EQ(got.size(), 3u);
  DecapConfig cfg;
  cfg.mode = EncapMode::kGeneve;
  cfg.accept_unknown_critical = true;
  const std::vector<uint8_t>* want[3] = {&eth, &ip, &ip6};
  const LinkType want_lt[3] = {LinkType::kEthernet, LinkType::kRaw, LinkType::kRaw};
  for (size_t i = 0; i < 3; ++i) {
    DecapResult r = Decapsulate(ByteSpan(got[i].bytes.data(), got[i].bytes.size()), cfg);
    ASSERT_EQ(r.error, DecapError::kOk) << DecapErrorName(r.error);
    EXPECT_EQ(r.link_type, want_lt[i]);
    EXPECT_EQ(std::vector<uint8_t>(r.inner.data, r.inner.data + r.inner.size), *want[i]);
    EXPECT_EQ(r.meta.vni.value().value(), 0xabcdefu);
    ASSERT_EQ(r.meta.geneve_options.size, 8u);
    EXPECT_EQ(0, std::memcmp(r.meta.geneve_options.data + 4, opt_data, 4));
  }
  // Protocol Type, straight from the header bytes (RFC 8926 §3.4: bytes 2-3).
  EXPECT_EQ(LoadBe16(got[0].bytes.data() + 2), 0x6558);
  EXPECT_EQ(LoadBe16(got[1].bytes.data() + 2), 0x0800);
  EXPECT_EQ(LoadBe16(got[2].bytes.data() + 2), 0x86dd);
}

TEST(TunnelSinkTest, VniByOuterVlanAndDropsByCause) {
  Listener l = Listen("127.0.0.1");
  TunnelSinkOptions o;
  o.vni = Vni::FromMasked(5);
  o.vni_by_vlan = {{100, Vni::FromMasked(1000)}, {0, Vni::FromMasked(7)}};
  o.mtu = 200;
  o.drop_oversize = true;
  auto sink = TunnelSink::OpenSender({Dest("127.0.0.1", l.port)}, o, UdpSenderOptions());
  ASSERT_TRUE(sink.ok()) << sink.status();
  const auto tagged = Frame(1, 2, 100), other_tag = Frame(1, 2, 200), untagged = Frame(3, 4);
  const auto big = Frame(5, 6, -1, 300);  // over the 200-byte MTU
  const auto raw = std::vector<uint8_t>(tagged.begin() + 18, tagged.end());
  std::vector<uint8_t> stripped = Frame(7, 8);  // tag 100 stripped by the kernel
  PacketView sv = View(stripped);
  sv.vlan_count = 1;
  sv.vlan[0].tpid = kTpid8021Q;
  sv.vlan[0].tci = 100;
  PacketView v[6] = {View(tagged), View(other_tag),           View(untagged),
                     View(big),    View(raw, LinkType::kRaw), sv};
  ASSERT_TRUE((*sink)->Write(PacketBatch{v, 6}).ok());
  std::vector<Datagram> got = Receive(&l);
  ASSERT_EQ(got.size(), 4u);
  std::vector<uint32_t> vnis;
  for (const Datagram& g : got) {
    DecapResult r = Decapsulate(ByteSpan(g.bytes.data(), g.bytes.size()), DecapConfig());
    ASSERT_EQ(r.error, DecapError::kOk);
    vnis.push_back(r.meta.vni.value().value());
  }
  EXPECT_EQ(vnis, (std::vector<uint32_t>{1000, 5, 7, 1000}));
  const TunnelSinkStats st = (*sink)->tunnel_stats();
  EXPECT_EQ(st.packets, 4u);
  EXPECT_EQ(st.oversize, 1u);
  EXPECT_EQ(st.dropped, 2u);
  EXPECT_EQ(st.dropped_by[static_cast<size_t>(TunnelDrop::kOversize)], 1u);
  EXPECT_EQ(st.dropped_by[static_cast<size_t>(TunnelDrop::kUnsupportedLinkType)],
            1u);  // VXLAN: raw IP
  EXPECT_EQ((*sink)->stats().dropped, 2u);
  EXPECT_STREQ(TunnelDropName(TunnelDrop::kTooBigForUdp), "too_big_for_udp");
}

TEST(TunnelSinkTest, TooBigForUdpIsCountedAndOversizeIsSentWhenAllowed) {
  Listener l = Listen("127.0.0.1");
  TunnelSinkOptions o;
  o.mtu = 1500;  // oversize packets are sent and fragmented by the kernel
  UdpSenderOptions so;
  so.allow_fragmentation = true;
  auto sink = TunnelSink::OpenSender({Dest("127.0.0.1", l.port)}, o, so);
  ASSERT_TRUE(sink.ok()) << sink.status();
  std::vector<uint8_t> jumbo = Frame(1, 2, -1, 3000);
  std::vector<uint8_t> huge(65500, 0xee);  // + 16 bytes of headers > 65507
  PacketView v[2] = {View(jumbo), View(huge)};
  ASSERT_TRUE((*sink)->Write(PacketBatch{v, 2}).ok());
  std::vector<Datagram> got = Receive(&l);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes.size(), 8 + jumbo.size());
  const TunnelSinkStats st = (*sink)->tunnel_stats();
  EXPECT_EQ(st.oversize, 2u);
  EXPECT_EQ(st.dropped_by[static_cast<size_t>(TunnelDrop::kTooBigForUdp)], 1u);
}

// Keeps copies of what it is given.
class CollectingSink : public PacketSink {
 public:
  absl::Status Write(const PacketBatch& b) override {
    for (const PacketView& p : b) {
      frames.emplace_back(p.data, p.data + p.caplen);
      link_types.push_back(p.link_type);
      timestamps.push_back(p.timestamp_ns);
    }
    return absl::OkStatus();
  }
  absl::Status Flush() override {
    ++flushes;
    return absl::OkStatus();
  }
  SinkStats stats() const override { return SinkStats{frames.size(), 0, 0}; }
  std::vector<std::vector<uint8_t>> frames;
  std::vector<LinkType> link_types;
  std::vector<int64_t> timestamps;
  int flushes = 0;
};

TEST(TunnelSinkTest, FramesModeBuildsWholeFramesWithValidChecksums) {
  CollectingSink out;
  TunnelSinkOptions o;
  o.vni = Vni::FromMasked(77);
  o.source_port_lo = 50000;
  o.source_port_hi = 50999;
  auto sink = TunnelSink::OpenFrames({Dest("192.0.2.10", 4789), Dest("192.0.2.11", 4790)}, o,
                                     TunnelFrameOptions(), &out);
  ASSERT_TRUE(sink.ok()) << sink.status();
  std::vector<std::vector<uint8_t>> frames;
  for (uint8_t f = 1; f <= 20; ++f) frames.push_back(Frame(f, static_cast<uint8_t>(f + 1)));
  std::vector<PacketView> views;
  for (const auto& f : frames) views.push_back(View(f));
  ASSERT_TRUE((*sink)->Write(PacketBatch{views.data(), views.size()}).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  EXPECT_EQ(out.flushes, 1);
  ASSERT_EQ(out.frames.size(), frames.size());
  const FlowDestinationChooser chooser(
      {DestinationKey("192.0.2.10|4789"), DestinationKey("192.0.2.11|4790")}, 0, 50000, 50999);
  for (size_t i = 0; i < frames.size(); ++i) {
    const std::vector<uint8_t>& f = out.frames[i];
    EXPECT_EQ(out.link_types[i], LinkType::kEthernet);
    EXPECT_EQ(out.timestamps[i], 1700000000123456789);
    EthernetHeader eth;
    ASSERT_EQ(ParseEthernet(ByteSpan(f.data(), f.size()), &eth), EthernetError::kOk);
    EXPECT_EQ(0, std::memcmp(eth.src, kSynthesizedSrcMac, 6));
    Ipv4Header ip;
    ASSERT_EQ(ParseIpv4(eth.payload, &ip), Ipv4Error::kOk);
    EXPECT_EQ(InternetChecksum(eth.payload.data, 20), 0);
    EXPECT_EQ(ip.src[3], 1);  // 192.0.2.1
    UdpHeader udp;
    ASSERT_EQ(ParseUdp(ip.payload, &udp), L4Error::kOk);
    const FlowChoice c =
        chooser.Choose(ByteSpan(frames[i].data(), frames[i].size()), LinkType::kEthernet);
    EXPECT_EQ(udp.src_port, c.source_port);
    EXPECT_EQ(udp.dst_port, c.destination == 0 ? 4789 : 4790);
    EXPECT_EQ(ip.dst[3], c.destination == 0 ? 10 : 11);
    ChecksumAccumulator sum;
    sum.AddIpv4PseudoHeader(ip.src, ip.dst, udp.length, kIpProtoUdp);
    sum.Add(ip.payload.data, udp.length);
    EXPECT_EQ(sum.Finish(), 0);
    DecapResult r = DecapsulateFrame(ByteSpan(f.data(), f.size()), LinkType::kEthernet,
                                     udp.dst_port, DecapConfig());
    ASSERT_EQ(r.error, DecapError::kOk) << DecapErrorName(r.error);
    EXPECT_EQ(std::vector<uint8_t>(r.inner.data, r.inner.data + r.inner.size), frames[i]);
    EXPECT_EQ(r.meta.vni.value().value(), 77u);
  }
  EXPECT_EQ((*sink)->stats().packets, frames.size());
}

TEST(TunnelSinkTest, RejectsBadOptions) {
  TunnelSinkOptions o;
  EXPECT_FALSE(TunnelSink::OpenSender({}, o, UdpSenderOptions()).ok());
  o.mode = EncapMode::kRaw;
  EXPECT_FALSE(TunnelSink::OpenSender({Dest("127.0.0.1", 9)}, o, UdpSenderOptions()).ok());
  o.mode = EncapMode::kVxlan;
  o.geneve_options.resize(1);
  EXPECT_FALSE(TunnelSink::OpenSender({Dest("127.0.0.1", 9)}, o, UdpSenderOptions()).ok());
  o.mode = EncapMode::kGeneve;
  const uint8_t three[3] = {};
  o.geneve_options[0].data = ByteSpan(three, 3);  // not a multiple of 4
  EXPECT_FALSE(TunnelSink::OpenSender({Dest("127.0.0.1", 9)}, o, UdpSenderOptions()).ok());
  TunnelSinkOptions p;
  p.source_port_lo = 2;
  p.source_port_hi = 1;
  EXPECT_FALSE(TunnelSink::OpenSender({Dest("127.0.0.1", 9)}, p, UdpSenderOptions()).ok());
  EXPECT_FALSE(TunnelSink::OpenFrames({Dest("127.0.0.1", 9)}, TunnelSinkOptions(),
                                      TunnelFrameOptions(), nullptr)
                   .ok());
}

}  // namespace
}  // namespace pktkit
