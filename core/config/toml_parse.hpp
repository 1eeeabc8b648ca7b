#pragma once
// Internal: toml++ parsing with its exceptions turned into mk::error (core never lets an exception escape).

#include <cstdint>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "core/result.hpp"

namespace mk::config {

// Syntax errors give errc::config_error "source:line:column: <toml++ description>".
mk::result<toml::table> parse_toml(std::string_view text, std::string_view source);

// "a string", "an integer", ... for messages like "expected a table, got an integer".
std::string_view describe_type(const toml::node& n);

// "source:line: key: what" (the line is left out when toml++ does not know it).
mk::error key_error(std::string_view source, std::uint32_t line, std::string_view key, std::string_view what);

}  // namespace mk::config
