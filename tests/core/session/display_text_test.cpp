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
