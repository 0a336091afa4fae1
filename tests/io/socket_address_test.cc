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

}  // namespace
}  // namespace pktkit
