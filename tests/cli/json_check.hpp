#pragma once
// Strict JSON validity for the tests: the whole text must be one JSON object (RFC 8259). One parser serves both
// this check and the schema test (json_value.hpp).

#include <string_view>

#include "cli/json_value.hpp"

namespace mk::test {

struct json_check {
  // True if `text` is exactly one JSON object (surrounding whitespace allowed).
  static bool is_object(std::string_view text) {
    auto v = json_parser::parse(text);
    return v && v->k == json_value::kind::object;
  }
};

}  // namespace mk::test
