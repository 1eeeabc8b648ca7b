#pragma once
// A fresh directory under the system temp dir, removed with everything in it at scope exit, and the two file
// helpers every test needs. The one temp-dir helper of the test suite.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mk::test {

class temp_dir {
 public:
  explicit temp_dir(std::string_view tag = "mk-test") {
    auto tmpl = (std::filesystem::temp_directory_path() / (std::string{tag} + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  // How many entries the directory holds (to prove no temp file was left behind).
  std::size_t entry_count() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator{path_}, {}));
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_all(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

inline void write_all(const std::filesystem::path& p, std::string_view text) {
  std::ofstream out{p, std::ios::binary};
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

}  // namespace mk::test
