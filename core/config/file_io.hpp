#pragma once
// Whole-file reads and atomic rewrites for the small text files of §3 (config, known_users).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mk::config {

// The file's bytes; nullopt if it does not exist; errc::io_error if it exists but cannot be read.
mk::result<std::optional<std::string>> read_text_file(const std::filesystem::path& file);

// Writes `content` to a temp file in the same directory, fsyncs it and renames it over `file`, so a reader sees
// either the old or the new content, never a torn file (DESIGN: atomic rewrite). Keeps an existing file's mode.
// Creates the parent directory if missing. On failure the temp file is removed and `file` is untouched.
mk::result<void> write_file_atomic(const std::filesystem::path& file, std::string_view content);

}  // namespace mk::config
