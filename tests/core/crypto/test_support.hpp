#pragma once
// Helpers shared by the crypto tests: a temp dir removed on scope exit, the known_users.toml pins of the
// captures (read with a tiny regex; the real store is core/config's job), and small byte helpers.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "support/interop_log.hpp"

namespace mk::test {

class temp_dir {
 public:
  temp_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "mk-crypto-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out{p, std::ios::binary};
  out << text;
}

// `[name]` followed by `key = '...'` (or "..."), as the original writes it (§3).
inline std::map<std::string, std::string> read_known_users(const std::string& rel) {
  std::map<std::string, std::string> out;
  const std::string text = read_text(interop_path(rel));
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
