// Fuzzes SocketAddress::ParseHostPort. Property: whatever parses prints (ToString) to a form
// that parses again to the same address and port.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_check.h"
#include "pktkit/io/socket_address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<pktkit::SocketAddress> a = pktkit::SocketAddress::ParseHostPort(text);
  if (!a.ok()) return 0;
  const std::string printed = a->ToString();
  absl::StatusOr<pktkit::SocketAddress> b = pktkit::SocketAddress::ParseHostPort(printed);
  PKTKIT_FUZZ_CHECK(b.ok());
  PKTKIT_FUZZ_CHECK(b->ToString() == printed);
  PKTKIT_FUZZ_CHECK(b->port() == a->port() && b->family() == a->family());
  return 0;
}
