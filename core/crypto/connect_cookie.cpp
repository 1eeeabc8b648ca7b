#include "core/crypto/connect_cookie.hpp"

#include <botan/mac.h>

namespace mk::crypto {

connect_cookies::connect_cookies(Botan::RandomNumberGenerator& rng, clock::time_point now) {
  rng.randomize(current_.key.data(), current_.key.size());
  current_.since = now;
}

void connect_cookies::rotate(clock::time_point now, Botan::RandomNumberGenerator& rng) {
  previous_ = current_;
  has_previous_ = true;
  rng.randomize(current_.key.data(), current_.key.size());
  current_.since = now;
}

connect_cookies::cookie connect_cookies::mac(const secret& s,
                                                                             std::string_view source) {
  auto h = Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)");
  h->set_key(s.key.data(), s.key.size());
  h->update(reinterpret_cast<const std::uint8_t*>(source.data()), source.size());
  auto full = h->final();
  cookie out{};
  std::copy_n(full.begin(), out.size(), out.begin());
  return out;
}

connect_cookies::cookie connect_cookies::issue(std::string_view source, clock::time_point now,
                                               Botan::RandomNumberGenerator& rng) {
  if (now - current_.since >= period)
    rotate(now, rng);
  return mac(current_, source);
}

bool connect_cookies::valid(std::string_view source, const cookie& c, clock::time_point now) const {
  auto matches = [&](const secret& s) {
    if (now - s.since >= 2 * period)
      return false;
    auto m = mac(s, source);
    std::uint8_t diff = 0;  // constant time
    for (std::size_t i = 0; i < cookie_bytes; ++i)
      diff |= static_cast<std::uint8_t>(m[i] ^ c[i]);
    return diff == 0;
  };
  return matches(current_) || (has_previous_ && matches(previous_));
}

}  // namespace mk::crypto
