#include "core/wire/tokens.hpp"

namespace mk::wire {

std::vector<std::string> split_tokens(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool in_token = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == ' ') {
      // PROTOCOL §1.1: runs of unescaped spaces collapse; no empty token is ever produced.
      if (in_token) {
        out.push_back(std::move(cur));
        cur.clear();
        in_token = false;
      }
      continue;
    }
    if (c == '\\') {
      if (i + 1 == line.size())
        break;  // §1.1: a lone trailing backslash is dropped
      c = line[++i];
    }
    cur.push_back(c);
    in_token = true;
  }
  if (in_token)
    out.push_back(std::move(cur));
  return out;
}

void escape_token_append(std::string_view token, std::string& out) {
  for (char c : token) {
    if (c == '\\' || c == ' ')
      out.push_back('\\');
    out.push_back(c);
  }
}

std::string escape_token(std::string_view token) {
  std::string out;
  out.reserve(token.size() + 8);
  escape_token_append(token, out);
  return out;
}

std::string join_tokens(std::span<const std::string> tokens) {
  std::size_t total = 0;
  for (const auto& t : tokens)
    total += t.size() + 1;
  std::string out;
  out.reserve(total + total / 8);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i != 0)
      out.push_back(' ');
    escape_token_append(tokens[i], out);
  }
  return out;
}

std::string_view keyword_of(std::string_view line) {
  return line.substr(0, line.find(' '));
}

}  // namespace mk::wire
