#include "pktkit/io/socket_address.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

namespace pktkit {
namespace {

TEST(SocketAddressTest, ParsesHostPortForms) {
  auto v4 = SocketAddress::ParseHostPort("127.0.0.1:9100");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->ToString(), "127.0.0.1:9100");
  auto v6 = SocketAddress::ParseHostPort("[::1]:65535");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->ToString(), "[::1]:65535");
  auto any = SocketAddress::ParseHostPort(":0");
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ(any->ToString(), "0.0.0.0:0");
}

TEST(SocketAddressTest, RejectsBadHostPort) {
  for (const char* bad : {"", "9100", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x", "host:80",
                          "::1:80", "[::1:80", "[::1]80", "[::1]:", "[nope]:80"}) {
    EXPECT_FALSE(SocketAddress::ParseHostPort(bad).ok()) << bad;
  }
  auto r = SocketAddress::ParseHostPort("127.0.0.1:99999");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("99999"), std::string::npos);
}

TEST(SocketAddressTest, ResolvesDestinationFormsWithDefaultPort) {
  struct Case {
    const char* text;
    const char* want;
    const char* host;
  } cases[] = {
      {"127.0.0.1", "127.0.0.1:4789", "127.0.0.1"},
      {"127.0.0.1:4790", "127.0.0.1:4790", "127.0.0.1"},
      {"[::1]", "[::1]:4789", "::1"},
      {"[2001:db8::5]:6081", "[2001:db8::5]:6081", "2001:db8::5"},
      {"2001:db8::5", "[2001:db8::5]:4789", "2001:db8::5"},  // bare IPv6: no port
      {"localhost:9", nullptr, "localhost"},                 // a name, resolved (v4 or v6)
  };
  for (const Case& c : cases) {
    std::string host;
    auto a = SocketAddress::ResolveHostPort(c.text, 4789, &host);
    ASSERT_TRUE(a.ok()) << c.text << ": " << a.status();
    if (c.want != nullptr) {
      EXPECT_EQ(a->ToString(), c.want) << c.text;
    }
    EXPECT_EQ(host, c.host);
  }
  auto name = SocketAddress::ResolveHostPort("localhost:9", 1);
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->port(), 9);
  uint8_t ip[16] = {};
  ASSERT_EQ(SocketAddress::ResolveHostPort("192.0.2.7", 1)->CopyIp(ip), 4u);
  EXPECT_EQ(ip[0], 192);
  EXPECT_EQ(ip[3], 7);
}

TEST(SocketAddressTest, ResolveRejectsBadDestinations) {
  for (const char* bad : {"", "[::1", "[::1]x", "[::1]:", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:70000",
                          "1.2.3.4:port", ":80", "no-such-host.invalid"}) {
    auto r = SocketAddress::ResolveHostPort(bad, 4789);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok() && *bad != '\0') {
      EXPECT_NE(std::string(r.status().message()).find(bad), std::string::npos) << r.status();
    }
  }
}

}  // namespace
}  // namespace pktkit
