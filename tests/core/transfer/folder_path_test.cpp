// A received folder's paths (issue 15): a hostile peer's `..`, absolute paths and junk never leave the folder.
#include <doctest/doctest.h>

#include "core/limits.hpp"
#include "core/transfer/folder_path.hpp"

using mk::transfer::sanitize_folder_path;
using parts = std::vector<std::string>;

TEST_CASE("folder path: nested, spaces, unicode and leading dots are kept component by component") {
  CHECK(*sanitize_folder_path("a.txt") == parts{"a.txt"});
  CHECK(*sanitize_folder_path("2026/summer holiday/été.jpg") == parts{"2026", "summer holiday", "été.jpg"});
  CHECK(*sanitize_folder_path(".config/.hidden") == parts{".config", ".hidden"});
  // each component is made safe like a file name: separators of other systems and control bytes become '_'
  CHECK(*sanitize_folder_path("a\\b/c\x1b[31m") == parts{"a_b", "c_[31m"});
  CHECK(*sanitize_folder_path("..\\..\\etc/passwd") == parts{".._.._etc", "passwd"});
}

TEST_CASE("folder path: absolute paths, dot components, empty components and depth are refused") {
  for (std::string bad : {"", "/etc/passwd", "\\share", "../x", "a/../../x", "a/./b", "a/..", "..", ".", "a//b",
                          "a/", "a/ ", "a/..."}) {
    CAPTURE(bad);
    auto r = sanitize_folder_path(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == mk::errc::refused);
  }
  std::string deep;
  for (std::size_t i = 0; i < mk::limits::max_folder_depth; ++i)
    deep += "d/";
  CHECK(sanitize_folder_path(deep + "f").error().message.find("deep") != std::string::npos);
  deep.pop_back();
  CHECK(sanitize_folder_path(deep).ok());  // exactly max_folder_depth components
}
