#include "core/session/display_text.hpp"

#include <cstdint>

namespace mk::session {

namespace {

// Length of a valid UTF-8 sequence at s[i] (1..4), or 0 when invalid; sets cp.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp) {
  auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size())
    return 0;
  for (std::size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr std::uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

// Skips an escape sequence starting at s[i] == ESC; returns the index after it.
std::size_t skip_escape(std::string_view s, std::size_t i) {
  ++i;
  if (i >= s.size())
    return i;
  char kind = s[i++];
  if (kind == '[') {  // CSI: parameters and intermediates, then a final byte 0x40..0x7E
    while (i < s.size()) {
      auto c = static_cast<unsigned char>(s[i++]);
      if (c >= 0x40 && c <= 0x7E)
        break;
    }
  } else if (kind == ']' || kind == 'P' || kind == '_' || kind == '^' || kind == 'X') {
    // OSC / DCS / APC / PM / SOS: up to BEL or ST (ESC \)
    while (i < s.size()) {
      if (s[i] == '\a')
        return i + 1;
      if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '\\')
        return i + 2;
      ++i;
    }
  }
  return i;  // two-byte sequences (ESC c, ESC 7, ...) end after `kind`
}

// Controls (C0, DEL, C1), the bidi embeddings/overrides/isolates that make text read other than it is stored
// (Trojan Source: U+202A..U+202E, U+2066..U+2069), and the Unicode line/paragraph separators (a forged line).
bool printable(std::uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
    return false;
  if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
    return false;
  return cp != 0x2028 && cp != 0x2029;
}

}  // namespace

std::string display_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b) {
      i = skip_escape(s, i);
      continue;
    }
    std::uint32_t cp = 0;
    auto len = utf8_sequence(s, i, cp);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    if (cp == '\t')
      out += ' ';
    else if (printable(cp))
      out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string display_lines(std::string_view s) {
  std::string out;
  for (std::size_t start = 0;;) {
    auto nl = s.find('\n', start);
    out += display_text(s.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (nl == std::string_view::npos)
      return out;
    out += '\n';
    start = nl + 1;
  }
}

}  // namespace mk::session
