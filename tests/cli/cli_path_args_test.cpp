// `file send <user> <path>...` (issue 15): one path with blanks as before, or several, quoted like a shell.
#include <doctest/doctest.h>

#include <set>

#include "cli/path_args.hpp"

using mk::cli::split_paths;
using paths = std::vector<std::string>;

TEST_CASE("path args: an existing path with blanks stays one path, otherwise blanks separate and quotes group") {
  std::set<std::string> on_disk{"my file.txt"};
  auto exists = [&](const std::string& p) { return on_disk.count(p) != 0; };
  CHECK(split_paths("my file.txt", exists) == paths{"my file.txt"});
  CHECK(split_paths("a.txt photos", exists) == paths{"a.txt", "photos"});
  CHECK(split_paths("\"my file.txt\" photos  'x y'", exists) == paths{"my file.txt", "photos", "x y"});
  CHECK(split_paths("my\\ file.txt b", exists) == paths{"my file.txt", "b"});
  CHECK(split_paths("\"say \\\"hi\\\"\"", exists) == paths{"say \"hi\""});
  CHECK(split_paths("\"unbalanced", exists).empty());
  CHECK(split_paths("''", exists) == paths{""});
}
