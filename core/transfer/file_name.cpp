#include "core/transfer/file_name.hpp"

#include <array>
#include <cctype>

#include "core/limits.hpp"

namespace mk::transfer {
namespace {

constexpr std::size_t max_kept_extension = 16;  // a longer "extension" is just part of the name

bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length of the valid UTF-8 sequence starting at s[i], or 0 if the byte there does not start one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) -> unsigned char { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  unsigned char c = at(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return continuation(at(1)) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;  // no overlongs, no surrogates
    return at(1) >= lo && at(1) <= hi && continuation(at(2)) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    return at(1) >= lo && at(1) <= hi && continuation(at(2)) && continuation(at(3)) ? 4 : 0;
  }
  return 0;
}

char32_t decode(std::string_view seq) {
  auto b = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(seq[k])); };
  switch (seq.size()) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

bool replaced(char32_t cp) {
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return true;  // C0, DEL, C1 controls
  if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) return true;  // bidi overrides
  switch (cp) {
    case '/': case '\\': case ':': case '*': case '?': case '"': case '<': case '>': case '|': return true;
    default: return false;
  }
}

bool reserved_device(std::string_view name) {
  auto stem = name.substr(0, name.find('.'));
  while (!stem.empty() && stem.back() == ' ') stem.remove_suffix(1);
  std::string up;
  for (char c : stem) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static constexpr std::array<std::string_view, 4> plain{"CON", "PRN", "AUX", "NUL"};
  for (auto p : plain)
    if (up == p) return true;
  return up.size() == 4 && (up.starts_with("COM") || up.starts_with("LPT")) && up[3] >= '1' && up[3] <= '9';
}

void trim(std::string& s) {
  std::size_t b = 0;
  while (b < s.size() && s[b] == ' ') ++b;
  s.erase(0, b);
  while (!s.empty() && (s.back() == ' ' || s.back() == '.')) s.pop_back();
}

// Splits at the last dot that is not the first character.
std::pair<std::string_view, std::string_view> split_extension(std::string_view name) {
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {name, {}};
  return {name.substr(0, dot), name.substr(dot)};
}

// Shortens `stem` so that stem + suffix fits in max_file_name (suffix = " (n)" + extension).
std::string fit(std::string_view stem, std::string_view suffix) {
  std::size_t room = suffix.size() < limits::max_file_name ? limits::max_file_name - suffix.size() : 0;
  std::string out(stem.substr(0, utf8_prefix_length(stem, room)));
  out += suffix;
  return out;
}

}  // namespace

std::size_t utf8_prefix_length(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s.size();
  std::size_t n = max_bytes;
  while (n > 0 && continuation(static_cast<unsigned char>(s[n]))) --n;  // s[n] starts the first cut-off char
  return n;
}

mk::result<std::string> sanitize_file_name(std::string_view wire_name) {
  std::string out;
  out.reserve(wire_name.size());
  for (std::size_t i = 0; i < wire_name.size();) {
    std::size_t len = utf8_sequence(wire_name, i);
    if (len == 0) {  // invalid byte: replace it alone and resynchronise on the next one
      out += '_';
      ++i;
      continue;
    }
    auto seq = wire_name.substr(i, len);
    if (replaced(decode(seq)))
      out += '_';
    else
      out += seq;
    i += len;
  }
  trim(out);
  if (out.empty()) return make_error(errc::refused, "file name is empty after cleaning");
  if (reserved_device(out)) out.insert(out.begin(), '_');
  if (out.size() > limits::max_file_name) {
    auto [stem, ext] = split_extension(out);
    if (ext.size() > max_kept_extension) ext = {};
    out = fit(stem, ext);
    trim(out);
    if (out.empty()) return make_error(errc::refused, "file name is empty after shortening");
  }
  return out;
}

std::string unique_file_name(std::string_view name, const std::function<bool(std::string_view)>& exists) {
  if (!exists(name)) return std::string(name);
  auto [stem, ext] = split_extension(name);
  for (int n = 1; n <= limits::max_unique_name_attempts; ++n) {
    std::string suffix = " (" + std::to_string(n) + ")";
    suffix += ext;
    auto candidate = fit(stem, suffix);
    if (!exists(candidate)) return candidate;
  }
  return {};
}

}  // namespace mk::transfer
