// Issue 13: sanitise_event, the one rule every event passes in the node before any subscriber sees it; public,
// so a front end (the CLI on an attached node) applies the same rule again.
#include <doctest/doctest.h>

#include "mokaccino/types.hpp"

namespace {

mokaccino::event make_event(mokaccino::event_kind kind, std::string peer, std::string text,
                            std::vector<std::pair<std::string, std::string>> fields = {}) {
  return {kind, 0, std::move(peer), std::move(text), 0, std::move(fields)};
}

}  // namespace

TEST_CASE("sanitise_event cleans peer, text (line by line) and every field name and value") {
  auto e = make_event(mokaccino::event_kind::transfer, "ma\xC2\x9Bllory\xE2\x80\xAE",
                          "Refused a\x1b[2Jb from x\nsecond line\x1b]52;c;ZXZpbA==\x07 end\r",
                          {{"name", "evil\xE2\x81\xA6.txt\x1b[1A"}, {"ke\x1b" "cy", "\xFF"}, {"state", "refused"}});
  mokaccino::sanitise_event(e);
  CHECK(e.peer == "mallory");
  CHECK(e.text == "Refused ab from x\nsecond line end");
  REQUIRE(e.fields.size() == 3);
  CHECK(e.fields[0] == std::pair<std::string, std::string>{"name", "evil.txt"});
  CHECK(e.fields[1] == std::pair<std::string, std::string>{"key", "\xEF\xBF\xBD"});
  CHECK(e.fields[2] == std::pair<std::string, std::string>{"state", "refused"});
  // A KEY/REQUESTED endpoint or name is text like any other: legitimate unicode stays.
  auto ok = make_event(mokaccino::event_kind::info, "\xE6\x97\xA5\xE6\x9C\xAC", "Introduced [::1]:23232 caf\xC3\xA9");
  mokaccino::sanitise_event(ok);
  CHECK(ok.peer == "\xE6\x97\xA5\xE6\x9C\xAC");
  CHECK(ok.text == "Introduced [::1]:23232 caf\xC3\xA9");
}
