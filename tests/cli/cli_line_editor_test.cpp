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

// Code points of `s` once escape sequences are taken out.
std::size_t visible_width(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b') {
      ++i;
      if (i < s.size() && s[i] == '[')
        while (i + 1 < s.size() && !(s[i + 1] >= 0x40 && s[i + 1] <= 0x7E))
          ++i;
      ++i;
      continue;
    }
    n += (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
  }
  return n;
}

// The input row a draw leaves on screen: what follows its last newline (and the last carriage return).
std::string input_row(const std::string& draw) {
  auto nl = draw.find_last_of("\r\n");
  return nl == std::string::npos ? draw : draw.substr(nl + 1);
}

}  // namespace

TEST_CASE("line editor: a long line or question stays on one row, scrolled so that the cursor shows") {
  int master = -1, slave = -1;
  winsize ws{};
  ws.ws_col = 40;
  ws.ws_row = 24;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, &ws) == 0);
  {
    line_editor ed{slave, slave, true};
    REQUIRE(ed.start());
    ed.set_progress(progress_view{"a", "one.bin", "bob", "sending", true, 10, 100, 1000, 5});
    drain(master);
    std::string typed;
    for (int i = 0; i < 70; ++i) {
      char c = static_cast<char>('a' + i % 26);
      typed += c;
      ed.feed(c);
      auto s = drain(master);
      // Every redraw goes back over exactly the progress line: the input never took a second row.
      CHECK_MESSAGE(s.rfind("\r\x1b[1A\x1b[J", 0) == 0, s);
      CHECK_MESSAGE(visible_width(input_row(s)) <= 39, i << ": " << s);
    }
    ed.write_above("a message");
    auto s = drain(master);
    CHECK_MESSAGE(s.rfind("\r\x1b[1A\x1b[J", 0) == 0, s);
    CHECK_MESSAGE(input_row(s).find(typed.substr(typed.size() - 20)) != std::string::npos, s);  // the end shows
    CHECK(visible_width(input_row(s)) <= 39);
    ed.feed('\x01');  // Home: the start of the line shows, the cursor goes back to it
    s = drain(master);
    CHECK_MESSAGE(input_row(s).find("Command: " + typed.substr(0, 20)) != std::string::npos, s);
    CHECK(visible_width(input_row(s)) <= 39);
    CHECK_MESSAGE(s.find("\x1b[30D") != std::string::npos, s);  // back over the 30 columns of text shown

    // A question longer than the row is cut (it is printed in full above); the answer still has room.
    ed.feed('\x05');
    for (std::size_t i = 0; i < typed.size(); ++i)
      ed.feed('\x7f');
    drain(master);
    ed.set_prompt("User \"somebody\" (127.0.0.1:23232) requested to connect, accept? (y/n) ", true);
    ed.feed('y');
    s = drain(master);
    CHECK_MESSAGE(visible_width(input_row(s)) <= 39, s);
    CHECK_MESSAGE(input_row(s).find("\x1b[33mUser \"somebod") != std::string::npos, s);
    CHECK_MESSAGE(input_row(s).find("~ \x1b[0my") != std::string::npos, s);
    ed.restore();
  }
  ::close(slave);
  ::close(master);
}

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
