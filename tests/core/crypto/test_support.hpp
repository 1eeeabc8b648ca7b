#pragma once
// Helpers shared by the crypto tests: the known_users.toml pins of the
// captures (read with a tiny regex; the real store is core/config's job), and small byte helpers.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "support/interop_log.hpp"
#include "support/temp_dir.hpp"

namespace mk::test {



// `[name]` followed by `key = '...'` (or "..."), as the original writes it (§3).
inline std::map<std::string, std::string> read_known_users(const std::string& rel) {
  std::map<std::string, std::string> out;
  const std::string text = read_all(interop_path(rel));
  static const std::regex entry{R"(\[([^\]]+)\]\s*key\s*=\s*['"]([^'"]*)['"])"};
  for (std::sregex_iterator it{text.begin(), text.end(), entry}, end; it != end; ++it)
    out[(*it)[1].str()] = (*it)[2].str();
  return out;
}

// Flips one bit of the character at `pos`, staying inside the base64 alphabet for base64 text.
inline std::string flip_b64_char(std::string s, std::size_t pos) {
  s[pos] = s[pos] == 'A' ? 'B' : 'A';
  return s;
}

}  // namespace mk::test
