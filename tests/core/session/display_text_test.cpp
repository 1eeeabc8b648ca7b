#include <doctest/doctest.h>

#include "core/session/display_text.hpp"

using mk::session::display_text;

TEST_CASE("display_text keeps printable text, any language") {
  CHECK(display_text("hello bob, with spaces and a back\\slash") == "hello bob, with spaces and a back\\slash");
  CHECK(display_text("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80");
}

TEST_CASE("display_text strips escape sequences and controls (ANSI injection)") {
  CHECK(display_text("a\x1b[2J\x1b[31mred\x1b[0m") == "ared");
  CHECK(display_text("x\x1b]0;evil title\x07y") == "xy");
  CHECK(display_text("x\x1b]8;;http://e\x1b\\link\x1b]8;;\x1b\\y") == "xlinky");
  CHECK(display_text("bell\a back\b cr\r nl\n del\x7f") == "bell back cr nl del");
  CHECK(display_text("c1:\xC2\x9B" "31m") == "c1:31m");  // U+009B (CSI as a C1 control) removed
  CHECK(display_text("tab\there") == "tab here");
  CHECK(display_text("\x1b") == "");
}

TEST_CASE("display_text replaces invalid UTF-8") {
  CHECK(display_text("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(display_text("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  CHECK(display_text("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST_CASE("display_text strips bidi overrides and isolates, and Unicode line separators") {
  // U+202E RIGHT-TO-LEFT OVERRIDE makes "exe.txt" read as "txt.exe" (Trojan Source); U+2066..2069 isolates.
  CHECK(display_text("report\xE2\x80\xAEtxt.exe") == "reporttxt.exe");
  CHECK(display_text("\xE2\x80\xAA" "a\xE2\x80\xAB" "b\xE2\x80\xAC" "c\xE2\x80\xAD" "d") == "abcd");
  CHECK(display_text("\xE2\x81\xA6" "x\xE2\x81\xA7" "y\xE2\x81\xA8" "z\xE2\x81\xA9") == "xyz");
  CHECK(display_text("one\xE2\x80\xA8two\xE2\x80\xA9three") == "onetwothree");
  // Neighbours of those ranges are ordinary text.
  CHECK(display_text("\xE2\x80\xA9"
                     "\xE2\x80\xAF\xE2\x81\xA5\xE2\x81\xAA") == "\xE2\x80\xAF\xE2\x81\xA5\xE2\x81\xAA");
  CHECK(display_text("\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D") == "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D");  // Hebrew stays
}

TEST_CASE("display_text is idempotent, display_lines keeps line breaks only") {
  std::string nasty = "a\x1b[2J\x1b]52;c;ZXZpbA==\x07\r\n\xE2\x80\xAE\xFF\xC2\x9B" "b";
  auto once = display_text(nasty);
  CHECK(once == "a\xEF\xBF\xBD" "b");
  CHECK(display_text(once) == once);
  CHECK(mk::session::display_lines("first\x1b[31m\nsecond\r\n\nthird\xE2\x80\xAE") == "first\nsecond\n\nthird");
  CHECK(mk::session::display_lines("") == "");
}
