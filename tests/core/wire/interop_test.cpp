#include <doctest/doctest.h>

#include <map>

#include "core/wire/datagram.hpp"
#include "core/wire/messages.hpp"
#include "core/wire/signed_line.hpp"
#include "support/interop_log.hpp"

using namespace mk::wire;

TEST_CASE("interop: every logged line of the original parses and re-serializes byte-identically") {
  std::size_t checked = 0, signed_lines = 0;
  std::map<std::string, int> per_keyword;
  for (const auto& log : mk::test::interop_logs()) {
    for (const auto& l : mk::test::read_interop_log(log)) {
      CAPTURE(log);
      CAPTURE(l.line);
      auto dgram = to_datagram(l.line);
      auto line = line_of_datagram({reinterpret_cast<const std::uint8_t*>(dgram.data()), dgram.size()});
      REQUIRE(line.ok());
      auto m = parse_line(*line);
      REQUIRE_MESSAGE(m.ok(), m.error().message);
      CHECK(serialize(*m) == l.line);
      ++per_keyword[std::string{keyword_name(*m)}];
      // For signed messages, the signed text we would produce equals the original's signed prefix (§2).
      std::visit(
          [&](const auto& x) {
            if constexpr (requires { signed_text(x); }) {
              auto parts = split_signed(l.line);
              REQUIRE(parts.has_value());
              CHECK(parts->text == signed_text(x));
              CHECK(parts->signature == x.signature);
              ++signed_lines;
            }
          },
          *m);
      ++checked;
    }
  }
  std::string summary;
  for (const auto& [k, n] : per_keyword)
    summary += k + "=" + std::to_string(n) + " ";
  MESSAGE("interop lines checked: " << checked << " (signed: " << signed_lines << "): " << summary);
  CHECK(checked > 300);
  CHECK(signed_lines >= 10);
}
