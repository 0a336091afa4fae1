#include "pktkit/spec/interface_spec.h"

#include <sys/socket.h>

#include <string>

#include "gtest/gtest.h"

namespace pktkit {
namespace {

TEST(InterfaceSpecTest, ParsesIpv4DefaultsToVxlan) {
  absl::StatusOr<InterfaceSpec> s = ParseInterfaceSpec("udp::0.0.0.0:4789");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->kind, InterfaceKind::kUdp);
  EXPECT_EQ(s->address.family(), AF_INET);
  EXPECT_EQ(s->address.port(), 4789);
  EXPECT_EQ(s->decap.mode, EncapMode::kVxlan);
  EXPECT_EQ(s->address.ToString(), "0.0.0.0:4789");
}

TEST(InterfaceSpecTest, ParsesIpv6WithEncap) {
  absl::StatusOr<InterfaceSpec> s = ParseInterfaceSpec("udp::[::1]:6081:geneve");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->address.family(), AF_INET6);
  EXPECT_EQ(s->address.port(), 6081);
  EXPECT_EQ(s->decap.mode, EncapMode::kGeneve);
  EXPECT_EQ(s->address.ToString(), "[::1]:6081");
}

TEST(InterfaceSpecTest, ParsesEveryEncapAndDlt) {
  auto s = ParseInterfaceSpec("udp::127.0.0.1:1:geneve+vxlan");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->decap.mode, EncapMode::kGeneveVxlan);
  s = ParseInterfaceSpec("udp::127.0.0.1:65535:raw:dlt=raw");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->address.port(), 65535);
  EXPECT_EQ(s->decap.mode, EncapMode::kRaw);
  EXPECT_EQ(s->decap.raw_link_type, LinkType::kRaw);
  s = ParseInterfaceSpec("udp::127.0.0.1:9:skip=8:dlt=ppp");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->decap.mode, EncapMode::kSkip);
  EXPECT_EQ(s->decap.skip_bytes, 8u);
  EXPECT_EQ(s->decap.raw_link_type, LinkType::kPpp);
  s = ParseInterfaceSpec("udp::127.0.0.1:9:dlt=en10mb");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->decap.raw_link_type, LinkType::kEthernet);
  EXPECT_EQ(s->decap.mode, EncapMode::kVxlan);
}

TEST(InterfaceSpecTest, ErrorsNameTheBadToken) {
  struct Case {
    const char* spec;
    const char* token;
  } cases[] = {
      {"udp::1.2.3.4:99999", "'99999'"},
      {"udp::1.2.3.4:47x", "'47x'"},
      {"udp::1.2.3.999:4789", "'1.2.3.999'"},
      {"udp::1.2.3.4:4789:gre", "'gre'"},
      {"udp::1.2.3.4:4789:dlt=fddi", "'dlt=fddi'"},
      {"udp::[::1:4789", "'[::1:4789'"},
      {"udp::1.2.3.4", "'1.2.3.4'"},
      {"tcp::1.2.3.4:1", "'tcp'"},
      {"udp::1.2.3.4:4789:", "''"},
      {"udp::1.2.3.4:1:skip=70000", "'skip=70000'"},
      {"udp::1.2.3.4:1:vxlan:geneve", "'geneve'"},
      {"af_packet::", "''"},
      {"af_packet::abcdefghijklmnopq", "'abcdefghijklmnopq'"},
      {"pcap:", "''"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<InterfaceSpec> s = ParseInterfaceSpec(c.spec);
    ASSERT_FALSE(s.ok()) << c.spec;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(s.status().message()).find(c.token), std::string::npos)
        << c.spec << ": " << s.status();
  }
}

TEST(InterfaceSpecTest, ParseDltNameIsThePublicDltTable) {
  LinkType lt = LinkType::kNull;
  EXPECT_TRUE(ParseDltName("en10mb", &lt));
  EXPECT_EQ(lt, LinkType::kEthernet);
  EXPECT_TRUE(ParseDltName("raw", &lt));
  EXPECT_EQ(lt, LinkType::kRaw);
  EXPECT_TRUE(ParseDltName("ethernet", &lt));
  EXPECT_EQ(lt, LinkType::kEthernet);
  EXPECT_TRUE(ParseDltName("ppp", &lt));
  EXPECT_EQ(lt, LinkType::kPpp);
  EXPECT_FALSE(ParseDltName("RAW", &lt));
  EXPECT_FALSE(ParseDltName("", &lt));
  EXPECT_EQ(lt, LinkType::kPpp);  // untouched on failure
}

TEST(InterfaceSpecTest, AfPacketAndPcap) {
  auto s = ParseInterfaceSpec("af_packet::eth0");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, InterfaceKind::kAfPacket);
  EXPECT_EQ(s->iface, "eth0");
  s = ParseInterfaceSpec("af_packet::abcdefghijklmno");  // 15 chars: the longest allowed
  ASSERT_TRUE(s.ok());
  s = ParseInterfaceSpec("pcap:/tmp/x:y.pcap");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, InterfaceKind::kPcap);
  EXPECT_EQ(s->path, "/tmp/x:y.pcap");
}

TEST(InterfaceSpecTest, EveryPrefixOfAValidSpecParsesOrFailsCleanly) {
  const std::string full = "udp::[2001:db8::1]:4789:skip=12:dlt=raw";
  for (size_t n = 0; n < full.size(); ++n) {
    absl::StatusOr<InterfaceSpec> s = ParseInterfaceSpec(full.substr(0, n));
    if (!s.ok()) {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  EXPECT_TRUE(ParseInterfaceSpec(full).ok());
}

}  // namespace
}  // namespace pktkit
