// Remote control over CAF's middleman: `mokaccino --publish 0` in one process, `mokaccino attach` in another, and a
// third plain node to talk to (issue 6). The attached terminal sends commands and receives events over caf::io.

#include <doctest/doctest.h>

#include "cli/process.hpp"

using namespace mk::test;

namespace {

// The TCP port a --publish process printed ("Remote control on 127.0.0.1:<port> ...").
std::string published_address(child_process& p) {
  auto i = p.wait_for("Remote control on 127.0.0.1:", 15s);
  REQUIRE_MESSAGE(i, p.transcript());
  const auto& line = p.lines()[*i];
  auto at = line.find("127.0.0.1:");
  auto end = line.find(' ', at);
  return line.substr(at, end - at);
}

}  // namespace

TEST_CASE("cli: attach drives a published node from another process: commands, events, prompts; exit leaves it running") {
  node_process server{config_for("bob", "prompt"), {"--publish", "0"}};
  node_process alice{config_for("alice")};
  REQUIRE(server->saw("Listening on UDP port"));
  REQUIRE(alice->saw("Listening on UDP port"));
  auto address = published_address(*server.proc);

  child_process remote{{mokaccino_binary(), "attach", address}};
  REQUIRE_MESSAGE(remote.saw("Attached to the node at " + address), remote.transcript());

  // A command through the remote terminal; the node's reply and events come back over caf::io.
  remote.write_line("connect hostname " + alice.address());
  CHECK_MESSAGE(remote.saw("Connecting to " + alice.address()), remote.transcript());
  REQUIRE_MESSAGE(remote.saw("Connected to \"alice\""), remote.transcript() << "\n--- server\n" << server->transcript());
  REQUIRE(alice->saw("Connected to \"bob\""));

  alice->write_line("msg bob hello over  there");
  CHECK_MESSAGE(remote.saw("alice >> hello over  there"), remote.transcript());
  remote.write_line("msg alice and back \\ again");
  CHECK_MESSAGE(alice->saw("bob >> and back \\ again"), alice->transcript());
  remote.write_line("user list");
  CHECK_MESSAGE(remote.saw("alice (" + alice.address() + ")"), remote.transcript());
  remote.write_line("stats");
  CHECK(remote.saw("Peers: 1"));

  // A prompt of the remote node (bob asks before accepting a connection) is answered from the attached terminal.
  node_process carol{config_for("carol")};
  REQUIRE(carol->saw("Listening on UDP port"));
  carol->write_line("connect hostname " + server.address());
  REQUIRE_MESSAGE(remote.saw("requested to connect"), remote.transcript());
  remote.write_line("y");
  CHECK_MESSAGE(remote.saw("Connected to \"carol\""), remote.transcript());
  CHECK(carol->saw("Connected to \"bob\""));

  // exit detaches: the remote terminal ends, the node keeps its peers.
  remote.write_line("exit");
  auto code = remote.wait_exit(10s);
  REQUIRE_MESSAGE(code, remote.transcript());
  CHECK(*code == 0);
  auto from = server->lines().size();
  server->write_line("user list");
  CHECK_MESSAGE(server->saw("alice (" + alice.address() + ")", 10s, from), server->transcript());
  alice->write_line("msg bob still there?");
  CHECK(server->saw("alice >> still there?"));

  // A second attach works after the first left.
  child_process again{{mokaccino_binary(), "attach", address}};
  REQUIRE_MESSAGE(again.saw("Attached to the node at " + address), again.transcript());
  again.write_line("user info alice");
  CHECK_MESSAGE(again.saw("User: alice"), again.transcript());
  again.close_stdin();
  again.signal(SIGTERM);
  CHECK(again.wait_exit(10s).has_value());

  server->write_line("exit");
  CHECK(server->wait_exit(10s) == 0);
}

TEST_CASE("cli: attach reports a node that is not there and a malformed address") {
  auto port = free_udp_port();  // nothing listens on this TCP port either, almost surely
  child_process none{{mokaccino_binary(), "attach", "127.0.0.1:" + std::to_string(port)}};
  auto code = none.wait_exit(15s);
  REQUIRE_MESSAGE(code, none.transcript());
  CHECK(*code == 1);
  CHECK_MESSAGE(none.saw("Cannot attach to 127.0.0.1:" + std::to_string(port)), none.transcript());

  child_process bad{{mokaccino_binary(), "attach", "no-port-here"}};
  CHECK(bad.wait_exit(10s) == 1);
  CHECK_MESSAGE(bad.saw("expected <host:port>"), bad.transcript());
}
