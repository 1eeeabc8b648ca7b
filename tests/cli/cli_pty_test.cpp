// Issue 16, through a pseudo-terminal: the program on a pty as a person would run it. The tests type keys and read
// the raw screen bytes: completion, colours, the live progress line updated in place, resizing, and a message that
// arrives while a line is being typed.

#include <doctest/doctest.h>

#include <algorithm>

#include "cli/process.hpp"
#include "cli/pty_process.hpp"

using namespace mk::test;

namespace {

std::vector<std::string> pty_args(const temp_home& home, std::uint16_t port, std::vector<std::string> extra = {}) {
  std::vector<std::string> a{mokaccino_binary(), "--home", home.path().string(), "-p", std::to_string(port)};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
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

}  // namespace

TEST_CASE("pty: Tab completes command words and a connected user's name, and peer names are coloured") {
  node_process bob{config_for("bob")};
  temp_home home;
  home.write_config(config_for("alice"));
  pty_process alice{pty_args(home, free_udp_port()), 100, 30};
  REQUIRE_MESSAGE(alice.saw("Command: "), alice.visible());
  REQUIRE(bob->saw("Listening on UDP port"));

  auto mark = alice.screen().size();
  alice.type("conn\t");
  REQUIRE_MESSAGE(alice.saw("Command: connect ", 10s, mark), alice.visible(mark));
  mark = alice.screen().size();
  alice.type("h\t");
  REQUIRE_MESSAGE(alice.saw("Command: connect hostname ", 10s, mark), alice.visible(mark));
  alice.type(bob.address() + "\r");
  REQUIRE_MESSAGE(alice.saw("Connected to \""), alice.visible());  // (the name is coloured)
  REQUIRE(bob->saw("Connected to \"alice\""));

  mark = alice.screen().size();
  alice.type("msg b\t");
  REQUIRE_MESSAGE(alice.saw("Command: msg bob ", 10s, mark), alice.visible(mark));
  alice.type("typed with completion\r");
  CHECK_MESSAGE(bob->saw("alice >> typed with completion"), bob->transcript());

  // Colours on a terminal: the peer's name on its message, our own message line.
  bob->write_line("msg alice coloured?");
  CHECK_MESSAGE(alice.saw("\x1b[1;36mbob\x1b[0m >> coloured?"), alice.visible());
  CHECK(alice.screen().find("\x1b[34malice") == std::string::npos);
  CHECK(alice.screen().find("\x1b[34mbob << typed with completion") != std::string::npos);
  CHECK(alice.screen().find("Connected to \"\x1b[1;36mbob\x1b[0m\"") != std::string::npos);

  // Resizing the window (SIGWINCH) redraws the input line at once, even with nothing else to print.
  alice.type("msg bo");
  alice.pump(300ms);
  mark = alice.screen().size();
  alice.resize(80, 24);
  CHECK_MESSAGE(alice.saw("Command: msg bo", 3s, mark), alice.visible(mark));
  alice.type("\x7f\x7f\x7f\x7f\x7f\x7f");  // Backspace over it
  alice.type("exit\r");
  CHECK(alice.wait_exit(10s) == 0);
}

TEST_CASE("pty: NO_COLOR and --no-color turn colours off on a terminal") {
  for (bool by_env : {true, false}) {
    CAPTURE(by_env);
    temp_home home;
    home.write_config(config_for("alice"));
    std::vector<std::string> extra;
    if (!by_env)
      extra.push_back("--no-color");
    pty_process alice{pty_args(home, free_udp_port(), extra), 100, 30,
                      by_env ? std::vector<std::string>{"NO_COLOR=1"} : std::vector<std::string>{}};
    REQUIRE_MESSAGE(alice.saw("Command: "), alice.visible());
    alice.type("bogus\r");
    REQUIRE_MESSAGE(alice.saw("Syntax error"), alice.visible());
    alice.type("exit\r");
    CHECK(alice.wait_exit(10s) == 0);
    // No SGR sequence (ESC [ ... m) at all; cursor movement is still there.
    auto& s = alice.screen();
    bool sgr = false;
    for (auto at = s.find("\x1b["); at != std::string::npos; at = s.find("\x1b[", at + 1)) {
      auto end = at + 2;
      while (end < s.size() && (std::isdigit(static_cast<unsigned char>(s[end])) || s[end] == ';'))
        ++end;
      sgr = sgr || (end < s.size() && s[end] == 'm');
    }
    CHECK_MESSAGE(!sgr, alice.visible());
  }
  // Without those, the same run is coloured (the check above can fail).
  temp_home home;
  home.write_config(config_for("alice"));
  pty_process alice{pty_args(home, free_udp_port()), 100, 30};
  REQUIRE_MESSAGE(alice.saw("Command: "), alice.visible());
  alice.type("bogus\r");
  CHECK_MESSAGE(alice.saw("\x1b[1;31m[ERROR]"), alice.visible());
}

TEST_CASE("pty: a transfer's bar updates in place above the input line, fits a resize, ends as one summary line") {
  // Large enough to run for several seconds on loopback, so the bar is redrawn a few times.
  constexpr std::uint64_t size = 400ull << 20;
  node_process bob{config_for("bob", "accept", "[network.file]\ndefault_action = \"accept\"\n")};
  REQUIRE(bob->saw("Listening on UDP port"));
  temp_home home;
  home.write_config(config_for("alice"));
  pty_process alice{pty_args(home, free_udp_port()), 100, 30};
  REQUIRE_MESSAGE(alice.saw("Command: "), alice.visible());
  alice.type("connect hostname " + bob.address() + "\r");
  REQUIRE_MESSAGE(alice.saw(" is now encrypted"), alice.visible());

  auto file = home.path() / "big.bin";
  {
    std::ofstream f{file, std::ios::binary};
    f.seekp(static_cast<std::streamoff>(size - 1));
    f.put('\1');  // sparse: cheap to create, real bytes to send
  }
  auto start = alice.screen().size();
  alice.type("file send bob " + file.string() + "\r");
  auto first = alice.wait_for("big.bin -> bob  [", 60s, start);
  REQUIRE_MESSAGE(first, alice.visible(start));

  // A line is being typed when bob's message arrives: it is printed above, and the typed text is redrawn after it.
  alice.type("msg bob half");
  REQUIRE(alice.saw("Command: msg bob half", 10s, *first));
  bob->write_line("msg alice interrupting");
  auto msg = alice.wait_for(">> interrupting", 10s, *first);
  REQUIRE_MESSAGE(msg, alice.visible(*first));
  auto redrawn = alice.wait_for("Command: msg bob half", 10s, *msg);
  REQUIRE_MESSAGE(redrawn, alice.visible(*msg));
  {
    // The message starts on a cleared line (not after the typed text), and the same draw puts the typed text
    // back: no other clear in between (not merely the next progress update redrawing it later).
    auto& screen = alice.screen();
    auto cleared = screen.rfind("\x1b[J", *msg);
    REQUIRE(cleared != std::string::npos);
    CHECK_MESSAGE(screen.substr(cleared, *msg - cleared).find("Command: ") == std::string::npos,
                  alice.visible(cleared).substr(0, 300));
    CHECK_MESSAGE(screen.substr(*msg, *redrawn - *msg).find("\x1b[J") == std::string::npos,
                  alice.visible(*msg).substr(0, 300));
  }

  auto second = alice.wait_for("big.bin -> bob  [", 30s, *msg);
  REQUIRE_MESSAGE(second, alice.visible(*first));

  // file list while it runs: the current rate (no "avg"), unless it has already ended. Asked once the bar shows
  // data moving (not at 0 %, where any rate reads 0 B/s).
  auto moving = alice.wait_for("big.bin -> bob  [#", 30s, *second);
  REQUIRE_MESSAGE(moving, alice.visible(*second));
  auto from = bob->lines().size();
  bob->write_line("file list");
  auto row = bob->wait_for("from alice    ", 10s, from);  // the padded direction column of the table
  REQUIRE_MESSAGE(row, bob->transcript());
  auto& listed = bob->lines()[*row];
  MESSAGE("bob's file list row while the bar ran: ", listed, "\nalice's bar then: ",
          alice.visible(*moving).substr(0, 80));
  if (listed.find("receiving") != std::string::npos) {
    CHECK_MESSAGE(listed.find("/s avg") == std::string::npos, listed);
    CHECK_MESSAGE(listed.find(" 0 B/s") == std::string::npos, listed);  // a rate measured now, not nothing
  } else {
    CHECK_MESSAGE(listed.find("/s avg") != std::string::npos, listed);
  }

  // Narrower terminal (SIGWINCH): the following lines fit in 60 columns.
  alice.resize(60, 30);
  alice.pump(300ms);
  auto after_resize = alice.screen().size();
  auto narrow = alice.wait_for("big.bin -> bob", 30s, after_resize);
  if (narrow) {  // (unless the transfer ended meanwhile)
    auto end = alice.screen().find_first_of("\r\n", *narrow);
    REQUIRE(end != std::string::npos);
    auto line = alice.screen().substr(*narrow, end - *narrow);
    CHECK_MESSAGE(visible_width(line) <= 59, line);
  }

  auto done = alice.wait_for("Sent big.bin to ", 120s, start);
  REQUIRE_MESSAGE(done, alice.visible(start));
  // The typed line survived it all: finish it and bob gets it whole.
  alice.type("-typed\r");
  CHECK_MESSAGE(bob->saw("alice >> half-typed", 10s), bob->transcript());
  // file list once it ended: the average from the acceptance to the end.
  auto listed_at = alice.screen().size();
  alice.type("file list\r");
  auto ended_row = alice.wait_for("big.bin", 10s, listed_at + 12);
  REQUIRE_MESSAGE(ended_row, alice.visible(listed_at));
  auto row_end = alice.screen().find('\n', *ended_row);
  CHECK_MESSAGE(alice.screen().substr(*ended_row, row_end - *ended_row).find("/s avg") != std::string::npos,
                alice.visible(listed_at));
  alice.pump(500ms);
  // The bar was redrawn in place: between two draws of it the cursor went back up over the old one (cursor up,
  // clear to the end of the screen) instead of printing a new line below it; and the percentage moved.
  std::vector<std::size_t> draws;
  for (auto at = alice.screen().find("big.bin -> bob  [", *first); at < *done;
       at = alice.screen().find("big.bin -> bob  [", at + 1))
    draws.push_back(at);
  MESSAGE("the bar was drawn ", draws.size(), " times");
  REQUIRE(draws.size() >= 3);
  for (std::size_t i = 1; i < draws.size(); ++i)
    CHECK_MESSAGE(alice.screen().substr(draws[i - 1], draws[i] - draws[i - 1]).find("\x1b[1A\x1b[J") !=
                    std::string::npos,
                  alice.visible(draws[i - 1]).substr(0, draws[i] - draws[i - 1] + 200));
  auto percent_at = [&](std::size_t at) {
    auto end = alice.screen().find('%', at);
    auto begin = alice.screen().rfind(' ', end);
    return alice.screen().substr(begin + 1, end - begin - 1);
  };
  CHECK(percent_at(draws.front()) != percent_at(draws.back()));
  // Once ended, the bar is gone: no draw of it after the summary.
  CHECK(alice.screen().find("big.bin -> bob  ", *done) == std::string::npos);
  // The whole transfer scrolled the screen by just a few lines (new lines minus the lines the cursor went back
  // up), not one per progress report.
  auto between = alice.screen().substr(start, *done - start);
  long scrolled = std::count(between.begin(), between.end(), '\n');
  for (auto at = between.find("\x1b["); at != std::string::npos; at = between.find("\x1b[", at + 1)) {
    auto end = between.find_first_not_of("0123456789", at + 2);
    if (end != std::string::npos && end > at + 2 && between[end] == 'A')
      scrolled -= std::stol(between.substr(at + 2, end - at - 2));
  }
  MESSAGE("the transfer scrolled the screen by ", scrolled, " lines");
  CHECK(scrolled < 15);

  // Without a terminal (bob reads a pipe) progress lines come at most once per transfer every 3 s.
  std::vector<int> seconds;
  for (auto& l : bob->lines())
    if (l.find("big.bin <- alice  ") != std::string::npos && l.size() > 10 && l[0] == '[')
      seconds.push_back(std::stoi(l.substr(1, 2)) * 3600 + std::stoi(l.substr(4, 2)) * 60 + std::stoi(l.substr(7, 2)));
  MESSAGE("bob printed ", seconds.size(), " progress lines");
  for (std::size_t i = 1; i < seconds.size(); ++i)
    CHECK_MESSAGE((seconds[i] - seconds[i - 1] + 86400) % 86400 >= 2, bob->transcript());
  alice.type("exit\r");
  CHECK(alice.wait_exit(10s) == 0);
}

TEST_CASE("pty: a question colours its tag and the input line, and Tab completes a directory then a file path") {
  node_process bob{config_for("bob", "accept", "[network.file]\ndefault_action = \"accept\"\n")};
  REQUIRE(bob->saw("Listening on UDP port"));
  temp_home home;
  home.write_config(config_for("alice", "prompt"));
  auto port = free_udp_port();
  pty_process alice{pty_args(home, port), 100, 30};
  REQUIRE_MESSAGE(alice.saw("Command: "), alice.visible());

  // bob asks to connect: the [PROMPT] tag in its colour, and the input line becomes the question, coloured.
  auto mark = alice.screen().size();
  bob->write_line("connect hostname 127.0.0.1:" + std::to_string(port));
  CHECK_MESSAGE(alice.saw("\x1b[1;33m[PROMPT]\x1b[0m User \"", 15s, mark), alice.visible(mark));
  CHECK_MESSAGE(alice.saw("\x1b[33mUser \"bob\"", 15s, mark), alice.visible(mark));
  alice.type("y\r");
  REQUIRE_MESSAGE(alice.saw(" is now encrypted", 15s, mark), alice.visible(mark));

  // File paths: a directory completes with its slash, then the one file in it; the completed path is sent.
  std::filesystem::create_directory(home.path() / "outbox");
  write_all(home.path() / "outbox" / "report-final.pdf", std::string(4096, 'r'));
  mark = alice.screen().size();
  alice.type("file send b\t");
  REQUIRE_MESSAGE(alice.saw("Command: file send bob ", 10s, mark), alice.visible(mark));
  mark = alice.screen().size();
  alice.type(home.path().string() + "/outb\t");
  REQUIRE_MESSAGE(alice.saw("/outbox/", 10s, mark), alice.visible(mark));
  mark = alice.screen().size();
  alice.type("r\t");
  REQUIRE_MESSAGE(alice.saw("/outbox/report-final.pdf", 10s, mark), alice.visible(mark));
  alice.type("\r");
  CHECK_MESSAGE(alice.saw("Sent report-final.pdf to ", 30s, mark), alice.visible(mark));
  CHECK_MESSAGE(bob->saw("Received report-final.pdf from alice", 30s), bob->transcript());
  alice.type("exit\r");
  CHECK(alice.wait_exit(10s) == 0);
}

TEST_CASE("pty: keys from a terminal, output to a pipe: plain lines, no colour, no cursor movement, no input line") {
  node_process bob{config_for("bob", "accept", "[network.file]\ndefault_action = \"accept\"\n")};
  REQUIRE(bob->saw("Listening on UDP port"));
  temp_home home;
  home.write_config(config_for("alice"));
  pty_process alice{pty_args(home, free_udp_port()), 100, 30, {}, pty_process::stdout_to::pipe};
  REQUIRE_MESSAGE(alice.wait_piped("Listening on UDP port", 10s), alice.piped());
  alice.type("bogus\r");
  REQUIRE_MESSAGE(alice.wait_piped("Syntax error", 10s), alice.piped());
  alice.type("connect hostname " + bob.address() + "\r");
  REQUIRE_MESSAGE(alice.wait_piped(" is now encrypted", 15s), alice.piped());
  bob->write_line("msg alice through the pipe");
  REQUIRE_MESSAGE(alice.wait_piped("bob >> through the pipe", 10s), alice.piped());
  auto file = home.path() / "piped.bin";
  write_all(file, std::string(1 << 20, 'p'));
  alice.type("file send bob " + file.string() + "\r");
  REQUIRE_MESSAGE(alice.wait_piped("Sent piped.bin to bob", 30s), alice.piped());
  alice.type("exit\r");
  CHECK(alice.wait_exit(10s) == 0);

  auto& out = alice.piped();
  CHECK_MESSAGE(out.find('\x1b') == std::string::npos, out);  // neither colours nor cursor movement
  CHECK_MESSAGE(out.find('\r') == std::string::npos, out);
  CHECK_MESSAGE(out.find("Command: ") == std::string::npos, out);  // the input line is the terminal's own
  CHECK(out.find("[ERROR] Syntax error") != std::string::npos);
  // The keys were echoed by the terminal itself (its line mode), not drawn by the program.
  CHECK_MESSAGE(alice.screen().find("bogus") != std::string::npos, alice.visible());
}
