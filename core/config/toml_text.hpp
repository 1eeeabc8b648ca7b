#pragma once
// Small helpers that write TOML text by hand, so written files keep the original's layout (§3, §12).

#include <string>
#include <string_view>

namespace mk::config {

// TOML text must be UTF-8: strict check (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

// A TOML basic string "..." with `"`, `\` and control characters escaped; UTF-8 passes through.
std::string toml_basic_string(std::string_view s);

// A literal string '...' when `s` allows one (no `'`, no control characters), else a basic string.
std::string toml_string(std::string_view s);

// A key as written in a table header or key/value line: bare if it is [A-Za-z0-9_-]+, else a basic string.
std::string toml_key(std::string_view s);

}  // namespace mk::config
