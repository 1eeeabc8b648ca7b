#include "cli/json.hpp"

#include <cmath>
#include <cstdio>

namespace mk::cli {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto c0 = b(0);
  std::size_t n = c0 < 0x80 ? 1 : (c0 >= 0xC2 && c0 <= 0xDF) ? 2 : (c0 >= 0xE0 && c0 <= 0xEF) ? 3
                                : (c0 >= 0xF0 && c0 <= 0xF4) ? 4 : 0;
  if (n == 0 || i + n > s.size())
    return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(k) & 0xC0) != 0x80)
      return 0;
  if (n == 3 && ((c0 == 0xE0 && b(1) < 0xA0) || (c0 == 0xED && b(1) > 0x9F)))
    return 0;
  if (n == 4 && ((c0 == 0xF0 && b(1) < 0x90) || (c0 == 0xF4 && b(1) > 0x8F)))
    return 0;
  return n;
}

}  // namespace

void json_append_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      auto n = utf8_sequence(text, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

std::string json_string(std::string_view text) {
  std::string out;
  json_append_string(out, text);
  return out;
}

void json_object::key(std::string_view k) {
  if (text_.size() > 1)
    text_ += ',';
  json_append_string(text_, k);
  text_ += ':';
}

json_object& json_object::add(std::string_view k, std::string_view value) {
  key(k);
  json_append_string(text_, value);
  return *this;
}

json_object& json_object::add(std::string_view k, std::int64_t value) {
  key(k);
  text_ += std::to_string(value);
  return *this;
}

json_object& json_object::add(std::string_view k, std::uint64_t value) {
  key(k);
  text_ += std::to_string(value);
  return *this;
}

json_object& json_object::add(std::string_view k, bool value) {
  key(k);
  text_ += value ? "true" : "false";
  return *this;
}

json_object& json_object::add(std::string_view k, double value) {
  key(k);
  text_ += json_number(value);
  return *this;
}

json_object& json_object::add_raw(std::string_view k, std::string_view json) {
  key(k);
  text_ += json;
  return *this;
}

std::string json_number(double value) {
  if (!std::isfinite(value))
    return "0";
  char buf[64];
  auto n = std::snprintf(buf, sizeof buf, "%.3f", value);
  std::string s(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!s.empty() && s.back() == '0')
    s.pop_back();
  if (!s.empty() && s.back() == '.')
    s.pop_back();
  if (s.empty() || s == "-0")
    return "0";
  return s;
}

json_array& json_array::add_raw(std::string_view json) {
  if (text_.size() > 1)
    text_ += ',';
  text_ += json;
  return *this;
}

json_array& json_array::add(std::string_view value) { return add_raw(json_string(value)); }

}  // namespace mk::cli
