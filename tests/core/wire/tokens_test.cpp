#include <doctest/doctest.h>

#include <random>

#include "core/wire/tokens.hpp"

using namespace mk::wire;
using strings = std::vector<std::string>;

TEST_CASE("tokens: PROTOCOL §1.1 example") {
  strings t{"MSG", "hi  a\\b"};
  CHECK(join_tokens(t) == "MSG hi\\ \\ a\\\\b");
  CHECK(split_tokens("MSG hi\\ \\ a\\\\b") == t);
}

TEST_CASE("tokens: splitting rules") {
  struct row {
    std::string_view line;
    strings tokens;
  };
  const row rows[] = {
      {"", {}},
      {"   ", {}},
      {"A", {"A"}},
      {"A B", {"A", "B"}},
      {"A    B", {"A", "B"}},                  // runs collapse
      {"  A B  ", {"A", "B"}},                 // leading/trailing ignored
      {"A\\ B", {"A B"}},                      // escaped space
      {"A\\\\ B", {"A\\", "B"}},               // escaped backslash, then a separator
      {"\\a\\b", {"ab"}},                      // \a -> a
      {"A B\\", {"A", "B"}},                   // lone trailing backslash dropped
      {"A \\", {"A"}},                         // ...even as a whole token: no empty token
      {"A\tB C", {"A\tB", "C"}},               // tabs are ordinary bytes
      {"A\nB", {"A\nB"}},                      // LF is not a separator
      {"\\  x", {" ", "x"}},                   // escaped space is a token of its own
      {"\xff\xfe \x80", {"\xff\xfe", "\x80"}}, // high bytes go through
  };
  for (const auto& r : rows) {
    CAPTURE(r.line);
    CHECK(split_tokens(r.line) == r.tokens);
  }
}

TEST_CASE("tokens: escaping touches only backslash and space") {
  CHECK(escape_token("a b") == "a\\ b");
  CHECK(escape_token("a\\b") == "a\\\\b");
  CHECK(escape_token("\t\n\x01\xff") == "\t\n\x01\xff");
  CHECK(escape_token("") == "");
  CHECK(keyword_of("PING 5") == "PING");
  CHECK(keyword_of("CRYPTACK") == "CRYPTACK");
  CHECK(keyword_of(" PING 5") == "");
  CHECK(keyword_of("P\\ I 5") == "P\\");  // raw bytes, not unescaped
}

TEST_CASE("tokens: randomized round trips") {
  std::mt19937 rng{20240611};
  const char alphabet[] = {' ', ' ', '\\', '\\', 'a', 'Z', '0', '\t', '\n', '\x7f', '\x80', '\xff', '\x01'};
  int checked = 0;
  for (int iter = 0; iter < 5000; ++iter) {
    strings tokens(1 + rng() % 6);
    for (auto& t : tokens) {
      std::size_t len = 1 + rng() % 12;
      for (std::size_t i = 0; i < len; ++i)
        t.push_back(alphabet[rng() % sizeof alphabet]);
    }
    auto line = join_tokens(tokens);
    REQUIRE(split_tokens(line) == tokens);
    // Extra spaces between, before and after tokens never change the result.
    std::string padded = "  ";
    for (std::size_t i = 0; i < tokens.size(); ++i)
      padded += escape_token(tokens[i]) + std::string(1 + rng() % 3, ' ');
    REQUIRE(split_tokens(padded) == tokens);
    ++checked;
  }
  CHECK(checked == 5000);
}
