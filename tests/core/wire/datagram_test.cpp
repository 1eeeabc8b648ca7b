#include <doctest/doctest.h>

#include "core/limits.hpp"
#include "core/wire/datagram.hpp"
#include "core/wire/signed_line.hpp"

using namespace mk::wire;

namespace {
std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
}  // namespace

TEST_CASE("datagram: line extraction") {
  CHECK(*line_of_datagram(bytes_of("PING 5\n")) == "PING 5");
  CHECK(*line_of_datagram(bytes_of("PING 5")) == "PING 5");      // no LF: taken whole
  CHECK(*line_of_datagram(bytes_of("PING 5\n\n")) == "PING 5\n");  // only one LF stripped
  CHECK(*line_of_datagram(bytes_of("a\nb\n")) == "a\nb");          // inner LF is not a separator
  CHECK(to_datagram("PING 5") == "PING 5\n");
}

TEST_CASE("datagram: rejections") {
  CHECK(line_of_datagram({}).error().code == mk::errc::malformed);
  CHECK(line_of_datagram(bytes_of("\n")).error().code == mk::errc::malformed);
  using namespace std::string_view_literals;
  CHECK(line_of_datagram(bytes_of("PING\0 5\n"sv)).error().code == mk::errc::malformed);
  CHECK(line_of_datagram(bytes_of("\0"sv)).error().code == mk::errc::malformed);
  std::string big(mk::limits::max_datagram, 'A');
  CHECK(line_of_datagram(bytes_of(big)).ok());
  big.push_back('\n');
  CHECK(line_of_datagram(bytes_of(big)).error().code == mk::errc::too_long);
}

TEST_CASE("split_signed: edge cases") {
  struct row {
    std::string_view line;
    std::string_view text, sig;
  };
  const row rows[] = {
      {"CONNECTED n sig", "CONNECTED n", "sig"},
      {"CONNECTED n    sig", "CONNECTED n", "sig"},     // multiple trailing spaces trimmed
      {"MSG a\\  sig", "MSG a\\ ", "sig"},              // prefix ending in "\ " keeps it (original hangs)
      {"MSG a\\ \\  sig", "MSG a\\ \\ ", "sig"},
      {"MSG a\\\\ sig", "MSG a\\\\", "sig"},            // "\\" then the separator
      {"MSG a\\\\   sig", "MSG a\\\\", "sig"},          // "\\ " : the space is not escaped, trimmed
      {"MSG a\\\\\\  sig", "MSG a\\\\\\ ", "sig"},      // "\\\ " : odd run, escaped
      {"A b\\ c", "A b\\", "c"},                        // split at the last raw space, even an escaped one
  };
  for (const auto& r : rows) {
    CAPTURE(r.line);
    auto p = split_signed(r.line);
    REQUIRE(p.has_value());
    CHECK(p->text == r.text);
    CHECK(p->signature == r.sig);
  }
  CHECK_FALSE(split_signed("CRYPTACK").has_value());  // no space at all
  CHECK_FALSE(split_signed("PING ").has_value());     // empty signature
  CHECK_FALSE(split_signed(" sig").has_value());      // empty text
  CHECK_FALSE(split_signed("    sig").has_value());
  // Long runs terminate quickly (linear).
  std::string evil = "MSG " + std::string(100000, ' ') + "x";
  CHECK(split_signed(evil)->text == "MSG");
}

TEST_CASE("into_datagram appends the LF in the line's own buffer") {
  std::string line = "FILE abc 0 " + std::string(1400, 'A');
  line.reserve(line.size() + 1);
  const char* buffer = line.data();
  auto d = mk::wire::into_datagram(std::move(line));
  CHECK(d.size() == 1412);
  CHECK(d.back() == '\n');
  CHECK(d.data() == buffer);  // moved, not copied
  CHECK(mk::wire::into_datagram("PING 5") == mk::wire::to_datagram("PING 5"));
}
