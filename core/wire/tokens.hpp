#pragma once
// PROTOCOL §1.1: tokenizing and escaping of protocol lines (MUST, byte-exact with the original).

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mk::wire {

// Only 0x20 separates; runs collapse; leading/trailing spaces are ignored; a backslash makes the next byte
// literal; a lone trailing backslash is dropped. Never yields an empty token.
std::vector<std::string> split_tokens(std::string_view line);

// '\' -> "\\", ' ' -> "\ ", nothing else.
std::string escape_token(std::string_view token);
void escape_token_append(std::string_view token, std::string& out);

// Escape each token and join with single spaces.
std::string join_tokens(std::span<const std::string> tokens);

// The raw bytes before the first 0x20 (the whole line when there is none).
std::string_view keyword_of(std::string_view line);

}  // namespace mk::wire
