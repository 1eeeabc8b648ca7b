#include "actors/endpoint.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace mk {

endpoint endpoint::v4(std::uint32_t host_order_addr, std::uint16_t port) {
  endpoint e;
  e.address[0] = static_cast<std::uint8_t>(host_order_addr >> 24);
  e.address[1] = static_cast<std::uint8_t>(host_order_addr >> 16);
  e.address[2] = static_cast<std::uint8_t>(host_order_addr >> 8);
  e.address[3] = static_cast<std::uint8_t>(host_order_addr);
  e.port = port;
  return e;
}

static std::optional<std::uint16_t> parse_port(std::string_view s) {
  unsigned value = 0;
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0'))
    return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || ptr != s.data() + s.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::optional<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view text,
                                                                     std::uint16_t default_port) {
  if (text.empty())
    return std::nullopt;
  if (text.front() == '[') {  // [v6]:port or [v6]
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    std::string host{text.substr(1, close - 1)};
    auto rest = text.substr(close + 1);
    if (rest.empty())
      return std::pair{host, default_port};
    if (rest.front() != ':')
      return std::nullopt;
    auto port = parse_port(rest.substr(1));
    if (!port)
      return std::nullopt;
    return std::pair{host, *port};
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return std::pair{std::string{text}, default_port};
  if (text.find(':') != colon)  // bare IPv6 literal without brackets and without port
    return std::pair{std::string{text}, default_port};
  auto port = parse_port(text.substr(colon + 1));
  if (!port || colon == 0)
    return std::nullopt;
  return std::pair{std::string{text.substr(0, colon)}, *port};
}

std::optional<endpoint> endpoint::parse(std::string_view text) {
  auto hp = split_host_port(text, 0);
  if (!hp || hp->second == 0)
    return std::nullopt;
  endpoint e;
  e.port = hp->second;
  if (inet_pton(AF_INET, hp->first.c_str(), e.address.data()) == 1)
    return e;
  if (inet_pton(AF_INET6, hp->first.c_str(), e.address.data()) == 1) {
    e.v6 = true;
    return e;
  }
  return std::nullopt;
}

std::optional<endpoint> endpoint::numeric(std::string_view host, std::uint16_t port) {
  // The one place "host:port" text is made from parts: an IPv6 literal needs its brackets.
  bool bare_v6 = host.find(':') != std::string_view::npos && !host.starts_with('[');
  std::string text;  // appended, not "[" + std::string (GCC 12's -Wrestrict false positive)
  if (bare_v6)
    text += '[';
  text += host;
  if (bare_v6)
    text += ']';
  text += ':';
  text += std::to_string(port);
  return parse(text);
}

std::string endpoint::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, address.data(), buf, sizeof buf);
  std::string out;  // built by appending: "[" + std::string trips GCC 12's -Wrestrict (a false positive)
  if (v6)
    out += '[';
  out += buf;
  if (v6)
    out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace mk
