#pragma once
// How much a receiver has written so far, read while it writes.

#include <cstdint>
#include <filesystem>
#include <system_error>

namespace mk::test {

// The bytes in a file, or in the files under a directory, while the receiver writes, renames and removes them: a
// file that goes away between listing and reading counts nothing (file_size's error value is not a size), and a
// walk cut short by such a change is walked again.
inline std::uint64_t bytes_under(const std::filesystem::path& p) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(p, ec)) {
    auto n = std::filesystem::file_size(p, ec);
    return ec ? 0 : n;
  }
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::uint64_t n = 0;
    ec.clear();
    std::filesystem::recursive_directory_iterator it{p, ec}, end;
    for (; !ec && it != end; it.increment(ec)) {
      std::error_code fec;
      if (!it->is_regular_file(fec) || it->path().extension() == ".resume")
        continue;
      auto size = std::filesystem::file_size(it->path(), fec);
      if (!fec)
        n += size;
    }
    if (!ec)
      return n;
  }
  return 0;
}

}  // namespace mk::test
