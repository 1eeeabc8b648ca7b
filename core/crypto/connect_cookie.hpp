#pragma once
// Issue 13: stateless proof that a CONNECT's source address is real (WireGuard's cookie reply, in the Mokaccino
// line format). Under load a node answers a CONNECT it will not pay to verify with `MKCOOKIE <cookie>`, where the
// cookie is a MAC of the source address under a secret that rotates every `period`. Only a host that receives at
// that address can echo it back, so a flood of CONNECTs from forged addresses cannot crowd out real peers: their
// echoed cookie buys them a place in the verification budget's reserve. The node keeps no state per cookie.
// Pure: time and randomness are parameters.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <botan/rng.h>

namespace mk::crypto {

class connect_cookies {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr clock::duration period = std::chrono::minutes{2};
  static constexpr std::size_t cookie_bytes = 16;

  connect_cookies(Botan::RandomNumberGenerator& rng, clock::time_point now);

  using cookie = std::array<std::uint8_t, cookie_bytes>;

  // The cookie for `source` (an address text such as "127.0.0.1:4000"). Rotates the secret first when a period
  // has passed.
  cookie issue(std::string_view source, clock::time_point now, Botan::RandomNumberGenerator& rng);

  // True if `cookie` was issued for `source` under the current secret or the one before it, and that secret is
  // at most two periods old (so a cookie lives between one and two periods).
  bool valid(std::string_view source, const cookie& c, clock::time_point now) const;

 private:
  struct secret {
    std::array<std::uint8_t, 32> key{};
    clock::time_point since{};
  };
  static cookie mac(const secret& s, std::string_view source);
  void rotate(clock::time_point now, Botan::RandomNumberGenerator& rng);

  secret current_, previous_;
  bool has_previous_ = false;
};

}  // namespace mk::crypto
