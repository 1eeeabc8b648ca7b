// Remote control over CAF's middleman: `mokaccino --publish 0` in one process, `mokaccino attach` in another, and a
// third plain node to talk to (issue 6). The attached terminal sends commands and receives events over caf::io.

#include <doctest/doctest.h>

#include <sys/stat.h>

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

// A valid token file in `home`'s configuration directory (for an attach that must fail for another reason).
bool mokaccino_token(const temp_home& home) {
  std::filesystem::create_directories(home.root());
  auto file = home.root() / "remote.token";
  write_all(file, std::string(64, 'a') + "\n");
  return ::chmod(file.c_str(), 0600) == 0;
}

}  // namespace

TEST_CASE("cli: attach drives a published node from another process: commands, events, prompts, exit leaves it running") {
  node_process server{config_for("bob", "prompt"), {"--publish", "0"}};
  node_process alice{config_for("alice")};
  REQUIRE(server->saw("Listening on UDP port"));
  REQUIRE(alice->saw("Listening on UDP port"));
  auto address = published_address(*server.proc);

  // attach reads the token the server wrote (0600) into its configuration directory.
  auto home = server.home.path().string();
  child_process remote{{mokaccino_binary(), "--home", home, "attach", address}};
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
  child_process again{{mokaccino_binary(), "--home", home, "attach", address}};
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
  temp_home home;
  REQUIRE(mokaccino_token(home));
  child_process none{{mokaccino_binary(), "--home", home.path().string(), "attach", "127.0.0.1:" + std::to_string(port)}};
  auto code = none.wait_exit(15s);
  REQUIRE_MESSAGE(code, none.transcript());
  CHECK(*code == 1);
  CHECK_MESSAGE(none.saw("Cannot attach to 127.0.0.1:" + std::to_string(port)), none.transcript());

  child_process bad{{mokaccino_binary(), "attach", "no-port-here"}};
  CHECK(bad.wait_exit(10s) == 1);
  CHECK_MESSAGE(bad.saw("expected <host:port>"), bad.transcript());
}

TEST_CASE("cli: attach with a wrong or missing token is refused with a clear error and runs no command") {
  node_process server{config_for("bob"), {"--publish", "0"}};
  node_process alice{config_for("alice")};
  REQUIRE(server->saw("Listening on UDP port"));
  REQUIRE(alice->saw("Listening on UDP port"));
  auto address = published_address(*server.proc);
  auto token_file = server.home.root() / "remote.token";
  REQUIRE(std::filesystem::exists(token_file));
  CHECK((std::filesystem::status(token_file).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));

  // A wrong token (a file of the attacker's own, passed with --token-file): refused, and the command it would
  // have sent never runs.
  temp_home attacker;
  REQUIRE(mokaccino_token(attacker));
  child_process wrong{{mokaccino_binary(), "--token-file", (attacker.root() / "remote.token").string(), "attach",
                       address}};
  wrong.write_line("connect hostname " + alice.address());
  auto code = wrong.wait_exit(15s);
  REQUIRE_MESSAGE(code, wrong.transcript());
  CHECK(*code == 1);
  CHECK_MESSAGE(wrong.saw("Cannot attach to " + address + ": ", 0ms), wrong.transcript());
  CHECK_MESSAGE(wrong.saw("authentication failed", 0ms), wrong.transcript());

  // No token file at all: refused before connecting.
  temp_home empty;
  child_process missing{{mokaccino_binary(), "--home", empty.path().string(), "attach", address}};
  code = missing.wait_exit(15s);
  REQUIRE_MESSAGE(code, missing.transcript());
  CHECK(*code == 1);
  CHECK_MESSAGE(missing.saw("cannot read the remote-control token", 0ms), missing.transcript());

  // The node's state is unchanged: no peer, and alice never heard from bob.
  auto from = server->lines().size();
  server->write_line("user list");
  CHECK_MESSAGE(server->saw("No user connected", 10s, from), server->transcript());
  CHECK_FALSE(alice->saw("Connected to \"bob\"", 500ms));
  server->write_line("exit");
  CHECK(server->wait_exit(10s) == 0);
}
