#include <doctest/doctest.h>

#include "core/limits.hpp"
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
  CHECK(parse_record("F" + std::string(file_record_header - 1 + 1025, 'x')).ok());  // pmtu1: larger chunks
  CHECK_FALSE(parse_record("F" + std::string(file_record_header - 1 + mk::limits::max_file_piece + 1, 'x')).ok());
}

TEST_CASE("record: a FILE line too large for the path splits into consecutive pieces of the same chunk") {
  file_msg m{std::string(64, 'Q'), 8192, std::vector<std::uint8_t>(3000)};
  for (std::size_t i = 0; i < m.data.size(); ++i)
    m.data[i] = static_cast<std::uint8_t>(i * 13);
  auto pieces = split_file_line(serialize(m), 1149);
  REQUIRE(pieces.size() == 3);
  std::vector<std::uint8_t> joined;
  std::uint64_t expect = 8192;
  for (auto& p : pieces) {
    auto back = parse_line(p);
    REQUIRE(back.ok());
    auto& f = std::get<file_msg>(*back);
    CHECK(f.hash == m.hash);
    CHECK(f.offset == expect);
    CHECK(f.data.size() <= 1149);
    expect += f.data.size();
    joined.insert(joined.end(), f.data.begin(), f.data.end());
  }
  CHECK(joined == m.data);
  CHECK(split_file_line(serialize(m), 3000).size() == 1);   // fits: unchanged
  CHECK(split_file_line("MSG hello", 2) == std::vector<std::string>{"MSG hello"});  // not a FILE line
}

TEST_CASE("record: an unsealed binary record is recognised by its first byte only") {
  std::string r;
  record_of_line("FILE " + std::string(64, 'A') + " 0 AAAA", r);
  CHECK(is_plain_record(std::string(1, plain_record_marker) + r));
  CHECK_FALSE(is_plain_record(std::string(1, plain_record_marker)));
  CHECK_FALSE(is_plain_record("FILE x"));
  CHECK_FALSE(is_plain_record(r));
}
