#pragma once
// A protocol line parsed as the message a test expects (fails the test otherwise).
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "core/wire/messages.hpp"

namespace mk::test {

template <class T>
T parse_as(const std::string& line) {
  auto m = mk::wire::parse_line(line);
  REQUIRE(m.ok());
  REQUIRE(std::holds_alternative<T>(*m));
  return std::get<T>(*m);
}

}  // namespace mk::test
