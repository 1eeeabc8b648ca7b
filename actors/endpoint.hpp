#pragma once
// A UDP peer address (IPv4 or IPv6) as a small value type: cheap to copy, hash and send between actors.
// PROTOCOL §13.12: a peer is its exact source IP:port.

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <caf/meta/type_name.hpp>

namespace mk {

struct endpoint {
  std::array<std::uint8_t, 16> address{};  // IPv4 in the first 4 bytes when v6 == false
  bool v6 = false;
  std::uint16_t port = 0;

  auto operator<=>(const endpoint&) const = default;
  bool operator==(const endpoint&) const = default;

  static endpoint v4(std::uint32_t host_order_addr, std::uint16_t port);
  static endpoint loopback_v4(std::uint16_t port) { return v4(0x7f000001u, port); }
  // Parses a numeric "a.b.c.d:port" or "[v6]:port" (no name resolution; see resolve_host in udp_socket.hpp).
  static std::optional<endpoint> parse(std::string_view text);
  // A numeric host ("a.b.c.d", "::1" or "[::1]") and a port; none for a name (no resolution here either).
  static std::optional<endpoint> numeric(std::string_view host, std::uint16_t port);
  std::string to_string() const;  // "127.0.0.1:23232" or "[::1]:23232" (the REQUESTED form, §7)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, endpoint& x) {
  return f(caf::meta::type_name("mk::endpoint"), x.address, x.v6, x.port);
}

// The address alone (port 0): what the per-address flood guards count by (issue 13).
inline endpoint address_of(endpoint ep) {
  ep.port = 0;
  return ep;
}

// Splits "host[:port]" (or "[v6]:port") into host and port; the port defaults to `default_port`.
std::optional<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view text,
                                                                     std::uint16_t default_port);

}  // namespace mk

template <>
struct std::hash<mk::endpoint> {
  std::size_t operator()(const mk::endpoint& e) const noexcept {
    std::size_t h = e.port * 0x9E3779B97F4A7C15ull + e.v6;
    for (auto b : e.address)
      h = (h ^ b) * 0x100000001B3ull;
    return h;
  }
};
