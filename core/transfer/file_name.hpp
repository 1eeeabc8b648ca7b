#pragma once
// Safe local names for received files. PROTOCOL §10 FIX: the original accepts `.`/`..`, mangles UTF-8 and
// overwrites existing files; these pure string helpers are what the receiver actor uses instead.

#include <functional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mk::transfer {

// Turns the <name> of a FILEINIT into one path component that is safe on Linux, macOS and Windows:
// - path separators `/` `\`, Windows-reserved `: * ? " < > |`, control bytes (C0, DEL, C1) and bidi
//   override characters become `_`; invalid UTF-8 bytes become `_`; valid UTF-8 is kept;
// - leading spaces, trailing spaces and trailing dots are removed (Windows drops them silently);
// - reserved Windows device names (CON, NUL, COM1, ...) get a `_` prefix;
// - at most limits::max_file_name bytes, never cutting a UTF-8 sequence, keeping a short extension.
// Fails (errc::refused) when nothing usable is left: "", ".", "..", "...", "  ".
mk::result<std::string> sanitize_file_name(std::string_view wire_name);

// First of `name`, `stem (1).ext`, `stem (2).ext`, ... for which `exists` is false. The extension starts at the
// last dot unless that dot is the first character (`.bashrc` has none). Stays within limits::max_file_name by
// shortening the stem. Returns "" if every one of limits::max_unique_name_attempts candidates exists.
std::string unique_file_name(std::string_view name, const std::function<bool(std::string_view)>& exists);

// Helpers, exposed for tests and the actor (".part" names): length in bytes of the longest prefix of `s` that is
// at most `max_bytes` and does not end inside a UTF-8 sequence (s is assumed valid UTF-8).
std::size_t utf8_prefix_length(std::string_view s, std::size_t max_bytes);

}  // namespace mk::transfer
