// Issue 16: the input line's editor on a real pseudo-terminal (openpty), in-process: the live progress lines sit
// above the input line, one per transfer, and every redraw goes back over all of them instead of scrolling.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include "cli/line_editor.hpp"

using namespace mk::cli;

namespace {

// What the editor wrote since the last call (the terminal side of the pty).
std::string drain(int master) {
  std::string out;
  char buf[4096];
  pollfd p{master, POLLIN, 0};
  while (::poll(&p, 1, 100) > 0) {
    auto n = ::read(master, buf, sizeof buf);
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

bool in_order(const std::string& s, std::initializer_list<std::string_view> parts) {
  std::size_t at = 0;
  for (auto part : parts) {
    at = s.find(part, at);
    if (at == std::string::npos)
      return false;
    at += part.size();
  }
  return true;
}

}  // namespace

TEST_CASE("line editor: one progress line per transfer above the input line, redrawn in place, removed at the end") {
  int master = -1, slave = -1;
  winsize ws{};
  ws.ws_col = 80;
  ws.ws_row = 24;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, &ws) == 0);
  {
    line_editor ed{slave, slave, false};
    REQUIRE(ed.start());
    for (char c : std::string{"abc"})
      ed.feed(c);
    drain(master);

    progress_view one{"a", "one.bin", "bob", "sending", true, 10, 100, 1000, 5};
    progress_view two{"b", "two.bin", "carol", "receiving", false, 50, 100, 1000, 5};
    ed.set_progress(one);
    ed.set_progress(two);
    drain(master);

    ed.write_above("hello");  // a message: up over both bars, clear, the message, both bars, the typed line
    auto s = drain(master);
    CHECK_MESSAGE(s.rfind("\r\x1b[2A\x1b[J", 0) == 0, s);
    CHECK_MESSAGE(in_order(s, {"hello", "\n", "one.bin -> bob", "10%", "\n", "two.bin <- carol", "50%", "\n",
                               "Command: abc"}),
                  s);

    two.done = 90;
    ed.set_progress(two);  // an update redraws in place: nothing scrolls
    s = drain(master);
    CHECK_MESSAGE(s.rfind("\r\x1b[2A\x1b[J", 0) == 0, s);
    CHECK(s.find("90%") != std::string::npos);
    CHECK(s.find("hello") == std::string::npos);

    ed.end_progress("a");
    s = drain(master);
    CHECK_MESSAGE(s.rfind("\r\x1b[2A\x1b[J", 0) == 0, s);
    CHECK(s.find("one.bin") == std::string::npos);
    CHECK(in_order(s, {"two.bin", "Command: abc"}));
    ed.end_progress("b");
    s = drain(master);
    CHECK_MESSAGE(s.rfind("\r\x1b[1A\x1b[J", 0) == 0, s);
    ed.write_above("bye");
    s = drain(master);
    CHECK_MESSAGE(s.rfind("\r\x1b[Jbye", 0) == 0, s);  // no progress line left to go back over

    // Tab asks the completer about the text before the cursor and inserts what it is sure of.
    std::string asked;
    ed.set_completer([&asked](std::string_view before) {
      asked = std::string{before};
      return completion{"def", {}};
    });
    ed.feed('\x01');  // Ctrl+A: cursor at the start
    ed.feed('\x05');  // Ctrl+E: back at the end
    ed.feed('\t');
    CHECK(asked == "abc");
    CHECK(drain(master).find("Command: abcdef") != std::string::npos);
    ed.set_completer([](std::string_view) { return completion{"", {"one", "two"}}; });
    ed.feed('\t');
    CHECK(in_order(drain(master), {"one  two", "\n", "Command: abcdef"}));
    ed.restore();
  }
  ::close(slave);
  ::close(master);
}
