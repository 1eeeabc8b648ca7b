#include "core/wire/fields.hpp"

#include <string>

#include "core/limits.hpp"
#include "core/wire/base64.hpp"

namespace mk::wire::detail {

namespace {

mk::error err(errc code, std::string_view field, std::string_view what) {
  std::string msg{field};
  msg += ": ";
  msg += what;
  return make_error(code, std::move(msg));
}

check check_b64_exact(std::string_view field, std::string_view s, std::size_t bytes) {
  if (s.size() != base64_encoded_size(bytes))
    return err(errc::malformed, field, "wrong length");
  if (base64_decoded_size(s) != bytes || !base64_valid(s))
    return err(errc::bad_base64, field, "invalid base64");
  return std::nullopt;
}

check check_b64_max(std::string_view field, std::string_view s, std::size_t max_chars) {
  if (s.size() > max_chars)
    return err(errc::too_long, field, "too long");
  if (!base64_valid(s))
    return err(errc::bad_base64, field, "invalid base64");
  return std::nullopt;
}

}  // namespace

bool parse_decimal(std::string_view s, std::uint64_t max, std::uint64_t& out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0'))
    return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;  // overflows uint64
    v = v * 10 + d;
  }
  if (v > max)
    return false;
  out = v;
  return true;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong lead (c0, c1) or above U+10FFFF (f5..ff)
    }
    if (n - i < len)
      return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

check check_username(std::string_view field, std::string_view s) {
  if (s.empty())
    return err(errc::malformed, field, "empty");
  if (s.size() > limits::max_username)
    return err(errc::too_long, field, "too long");
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      return err(errc::malformed, field, "control byte");
  }
  if (!valid_utf8(s))
    return err(errc::malformed, field, "invalid UTF-8");
  return std::nullopt;
}

check check_nonce(std::string_view field, std::string_view s) { return check_b64_exact(field, s, limits::nonce_bytes); }

check check_hash(std::string_view field, std::string_view s) { return check_b64_exact(field, s, limits::hash_bytes); }

check check_pubkey(std::string_view field, std::string_view s) {
  return check_b64_max(field, s, limits::max_pubkey_b64);
}

check check_signature(std::string_view field, std::string_view s) {
  return check_b64_max(field, s, limits::max_signature_b64);
}

check check_length(std::string_view field, std::string_view s, std::size_t max) {
  if (s.empty())
    return err(errc::malformed, field, "empty");
  if (s.size() > max)
    return err(errc::too_long, field, "too long");
  return std::nullopt;
}

}  // namespace mk::wire::detail
