// Unit tests of the CLI's pure parts: JSON escaping, the command table, the line buffer.

#include <doctest/doctest.h>

#include "cli/command_table.hpp"
#include "cli/json.hpp"
#include "cli/line_buffer.hpp"
#include "cli/json_check.hpp"  // tests/cli

using namespace mk::cli;

TEST_CASE("json: strings are escaped and control bytes or invalid UTF-8 made safe") {
  CHECK(json_string("plain") == "\"plain\"");
  CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_string("l1\nl2\t\r\b\f") == "\"l1\\nl2\\t\\r\\b\\f\"");
  CHECK(json_string(std::string_view{"\x01\x1f\x7f", 3}) == "\"\\u0001\\u001f\\u007f\"");
  CHECK(json_string(std::string_view{"a\0b", 3}) == "\"a\\u0000b\"");
  CHECK(json_string("caf\xC3\xA9 \xE2\x82\xAC") == "\"caf\xC3\xA9 \xE2\x82\xAC\"");  // valid UTF-8 kept
  CHECK(json_string("\xFF") == "\"\xEF\xBF\xBD\"");                                   // invalid byte -> U+FFFD
  CHECK(json_string("\xC3") == "\"\xEF\xBF\xBD\"");                                   // truncated sequence
  CHECK(json_string("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");   // surrogate rejected
  CHECK(json_string("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                   // overlong rejected
  for (int c = 0; c < 256; ++c) {
    std::string s(1, static_cast<char>(c));
    CHECK(mk::test::json_check::is_object("{\"k\":" + json_string(s) + "}"));
  }
}

TEST_CASE("json: objects") {
  json_object fields;
  fields.add("state", "on");
  json_object o;
  o.add("type", "message").add("time", std::int64_t{-5}).add("id", std::uint64_t{7}).add("ok", true);
  o.add_raw("fields", fields.str());
  CHECK(o.str() == R"({"type":"message","time":-5,"id":7,"ok":true,"fields":{"state":"on"}})");
  CHECK(mk::test::json_check::is_object(o.str()));
  CHECK(json_object{}.str() == "{}");
  CHECK_FALSE(mk::test::json_check::is_object(R"({"a":1,})"));
  CHECK_FALSE(mk::test::json_check::is_object("{\"a\":\"\x01\"}"));
  CHECK_FALSE(mk::test::json_check::is_object("[1]"));
}

TEST_CASE("commands: msg takes the rest of the line verbatim") {
  auto c = parse_command("msg bob a  b\\c");
  REQUIRE(c.spec != nullptr);
  CHECK(c.spec->name == "msg");
  REQUIRE(c.args.size() == 2);
  CHECK(c.args[0] == "bob");
  CHECK(c.args[1] == "a  b\\c");  // not re-joined tokens: spaces and backslash kept
  auto escaped = parse_command("  msg   b\\ ob   x\\ y  ");
  REQUIRE(escaped.spec != nullptr);
  CHECK(escaped.args[0] == "b ob");  // the user is a token (§1.1 escaping)
  CHECK(escaped.args[1] == "x\\ y  ");
  CHECK(parse_command("msg bob").syntax_error());
  CHECK(parse_command("msg bob    ").syntax_error());
}

TEST_CASE("commands: names and arity and syntax errors") {
  CHECK(parse_command("").empty());
  CHECK(parse_command("    ").empty());
  auto ch = parse_command("connect hostname 127.0.0.1:5");
  REQUIRE(ch.spec != nullptr);
  CHECK(ch.spec->name == "connect hostname");
  CHECK(ch.args == std::vector<std::string>{"127.0.0.1:5"});
  auto cn = parse_command("connect name carol bob");
  REQUIRE(cn.spec != nullptr);
  CHECK(cn.args == std::vector<std::string>{"carol", "bob"});
  CHECK(parse_command("connect name carol").spec != nullptr);

  auto bad = parse_command("connect sideways x");
  REQUIRE(bad.syntax_error());
  REQUIRE(bad.usage.size() == 2);  // the usage of every `connect` command
  CHECK(bad.usage[0]->usage() == "connect hostname <host[:port]>");
  CHECK(bad.usage[1]->usage() == "connect name <user> [via]");

  CHECK(parse_command("user list extra").syntax_error());
  CHECK(parse_command("key add bob").syntax_error());
  CHECK(parse_command("encrypt start").syntax_error());
  CHECK(parse_command("sleep").syntax_error());
  auto unknown = parse_command("frobnicate");
  REQUIRE(unknown.syntax_error());
  CHECK(unknown.usage.size() == command_specs().size());
  CHECK(parse_command("exit").spec == find_command("exit"));
  CHECK(parse_command("help connect hostname").args.size() == 2);
  for (auto& s : command_specs())
    CHECK(!s.help.empty());
}

TEST_CASE("commands: rest_after_tokens follows the wire tokenizer") {
  CHECK(rest_after_tokens("a b c", 2) == "c");
  CHECK(rest_after_tokens("  a\\ b   c d", 1) == "c d");
  CHECK(rest_after_tokens("a", 2).empty());
  CHECK(rest_after_tokens("a\\", 1).empty());  // lone trailing backslash
}

TEST_CASE("line buffer: editing over UTF-8 and history") {
  line_buffer b;
  b.insert("h\xC3\xA9llo");
  b.left();
  b.left();
  b.left();
  CHECK(b.columns_after_cursor() == 3);
  b.left();  // over the two-byte é
  CHECK(b.cursor() == 1);
  b.del();
  CHECK(b.text() == "hllo");
  b.end();
  b.backspace();
  CHECK(b.text() == "hll");
  b.home();
  b.insert(">");
  CHECK(b.text() == ">hll");
  CHECK(b.submit() == ">hll");
  CHECK(b.text().empty());

  b.insert("second");
  b.submit();
  b.insert("draft");
  b.history_up();
  CHECK(b.text() == "second");
  b.history_up();
  CHECK(b.text() == ">hll");
  b.history_up();  // at the oldest: stays
  CHECK(b.text() == ">hll");
  b.history_down();
  b.history_down();
  CHECK(b.text() == "draft");  // the line being typed comes back
  b.submit();
  for (int i = 0; i < 150; ++i) {
    b.insert("line " + std::to_string(i));
    b.submit();
  }
  CHECK(b.history().size() == line_buffer::history_size);
  CHECK(b.history().back() == "line 149");
  b.insert("x");
  b.submit();
  b.insert("x");
  b.submit();  // a repeat is stored once
  CHECK(b.history().back() == "x");
  CHECK(b.history()[b.history().size() - 2] == "line 149");
}
