#include <doctest/doctest.h>

#include "core/wire/record.hpp"

using namespace mk::wire;

TEST_CASE("record: a FILE line becomes a binary record and parses back to the same message") {
  file_msg m{std::string(64, 'Q'), 1ull << 40, std::vector<std::uint8_t>(1024)};
  for (std::size_t i = 0; i < m.data.size(); ++i)
    m.data[i] = static_cast<std::uint8_t>(i * 7);
  m.hash = "0123456789+/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string r;
  record_of_line(serialize(m), r);
  CHECK(r[0] == record_file);
  CHECK(r.size() == file_record_header + 1024);
  auto back = parse_record(r);
  REQUIRE(back.ok());
  CHECK(std::get<file_msg>(*back) == m);
}

TEST_CASE("record: other lines travel as text, bad records are errors") {
  std::string r;
  record_of_line("MSG hi\\ there", r);
  CHECK(r == "LMSG hi\\ there");
  auto m = parse_record(r);
  REQUIRE(m.ok());
  CHECK(std::get<text_msg>(*m).text == "hi there");
  CHECK_FALSE(parse_record("").ok());
  CHECK_FALSE(parse_record("Zxx").ok());
  CHECK_FALSE(parse_record(std::string("LMSG a\0b", 8)).ok());  // NUL inside a line
  CHECK_FALSE(parse_record(std::string(file_record_header, 'F')).ok());                    // no data
  CHECK_FALSE(parse_record("F" + std::string(file_record_header - 1 + 1025, 'x')).ok());  // over a chunk
}

TEST_CASE("record: an unsealed binary record is recognised by its first byte only") {
  std::string r;
  record_of_line("FILE " + std::string(64, 'A') + " 0 AAAA", r);
  CHECK(is_plain_record(std::string(1, plain_record_marker) + r));
  CHECK_FALSE(is_plain_record(std::string(1, plain_record_marker)));
  CHECK_FALSE(is_plain_record("FILE x"));
  CHECK_FALSE(is_plain_record(r));
}
