// Issue 16: the output's routing of transfer events on a live terminal (an input line on a real pseudo-terminal,
// openpty, in-process): every report of a running transfer — verifying included — updates its line in place
// instead of scrolling, and the end removes the line and prints the one-line summary.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include "actors/messages.hpp"
#include "cli/line_editor.hpp"
#include "cli/output.hpp"

using namespace mk::cli;

namespace {

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

mk::event transfer(std::string state, std::uint64_t bytes, std::string text, bool with_rate = true) {
  std::vector<std::pair<std::string, std::string>> f{{"hash", "h1"},   {"name", "big.bin"},
                                                     {"direction", "receive"}, {"state", state},
                                                     {"size", "1000"}, {"bytes", std::to_string(bytes)}};
  if (with_rate) {
    f.emplace_back("rate", "250");
    f.emplace_back("eta", "2");
  }
  return mk::make_event(mk::event_kind::transfer, "alice", std::move(text), std::move(f));
}

}  // namespace

TEST_CASE("output: on a live terminal a transfer's reports, verifying included, redraw its line and never scroll") {
  int master = -1, slave = -1;
  winsize ws{};
  ws.ws_col = 100;
  ws.ws_row = 30;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, &ws) == 0);
  {
    line_editor ed{slave, slave, false};
    REQUIRE(ed.start());
    output out{output::options{false, false, "", true}};
    out.attach_editor(&ed);
    drain(master);

    out.print_event(transfer("receiving", 0, "Receiving big.bin (1000 B) from alice", false));
    auto s = drain(master);
    CHECK_MESSAGE(s.find("Receiving big.bin") != std::string::npos, s);  // the start scrolls once
    CHECK_MESSAGE(s.find("big.bin <- alice  [") != std::string::npos, s);

    out.print_event(transfer("receiving", 500, "big.bin <- alice  50%  500 B/1000 B  250 B/s  ETA 2 s"));
    s = drain(master);
    CHECK_MESSAGE(s.rfind("\r\x1b[1A\x1b[J", 0) == 0, s);  // back over the old line
    CHECK_MESSAGE(s.find("50%  500 B/1000 B") == std::string::npos, s);  // the report's own text does not scroll
    CHECK_MESSAGE(s.find("big.bin <- alice  [###############---------------]  50%") != std::string::npos, s);

    out.print_event(transfer("verifying", 1000, "big.bin <- alice  100%  1000 B/1000 B  250 B/s"));
    s = drain(master);
    CHECK_MESSAGE(s.rfind("\r\x1b[1A\x1b[J", 0) == 0, s);
    CHECK_MESSAGE(s.find("1000 B/1000 B") == std::string::npos, s);
    CHECK_MESSAGE(s.find("100%  verifying") != std::string::npos, s);

    out.print_event(transfer("done", 1000, "Received big.bin from alice (1000 B, 250 B/s), saved as /tmp/big.bin"));
    s = drain(master);
    CHECK_MESSAGE(s.rfind("\r\x1b[1A\x1b[J", 0) == 0, s);
    CHECK_MESSAGE(s.find("Received big.bin from alice") != std::string::npos, s);  // the one-line summary
    CHECK_MESSAGE(s.find("big.bin <- alice  [") == std::string::npos, s);           // and no bar any more

    out.print(tag::message, "after");
    s = drain(master);
    CHECK_MESSAGE(s.rfind("\r\x1b[J[MESSAGE] after", 0) == 0, s);  // nothing left above the input line to go back over
    out.attach_editor(nullptr);
    ed.restore();
  }
  ::close(slave);
  ::close(master);
}
