// A real DISCONNECT must end the session at once even while the CRYPT exchange that follows every connect is still
// running, without letting a forged plaintext one through once the session is encrypted (attack_session_test.cpp).
// Both nodes start encryption as soon as they are connected, so their CRYPTSTARTs usually cross: before the fix
// one end could hold a key the other did not end with, and its DISCONNECT was refused as a possible forgery (the
// other end only noticed when its keep-alive timed out, 6-9 s later).
#include <doctest/doctest.h>

#include "support/node_harness.hpp"

using namespace mk;
using namespace mk::test;
using namespace std::chrono_literals;

namespace {

// Connects alice to bob, then at once (no wait for encryption) disconnects from `leaver`'s side; true if the other
// side reports the disconnect well before a keep-alive timeout could explain it.
bool prompt_disconnect(caf::actor_system& sys, test_node& alice, test_node& bob, bool alice_leaves, int round) {
  auto is_connected = [](const event& e) { return e.kind == event_kind::connected; };
  auto is_disconnected = [](const event& e) { return e.kind == event_kind::disconnected; };
  auto n = static_cast<std::size_t>(round + 1);
  // The previous round's sessions report their end just before they leave the nodes' tables: retry briefly.
  auto r = ask<command_reply>(sys, alice.handle.node, connect_host_atom::value, connect_line(bob));
  for (int i = 0; !r.ok && i < 40; ++i) {
    std::this_thread::sleep_for(50ms);
    r = ask<command_reply>(sys, alice.handle.node, connect_host_atom::value, connect_line(bob));
  }
  REQUIRE_MESSAGE(r.ok, r.message);
  REQUIRE(alice.events->wait_count(is_connected, n));
  REQUIRE(bob.events->wait_count(is_connected, n));
  auto& leaver = alice_leaves ? alice : bob;
  auto& stayer = alice_leaves ? bob : alice;
  auto peer = alice_leaves ? std::string{"bob"} : std::string{"alice"};
  REQUIRE(ask<command_reply>(sys, leaver.handle.node, disconnect_atom::value, peer).ok);
  REQUIRE(leaver.events->wait_count(is_disconnected, n));
  // The keep-alive ends a silent peer after 6 s at the earliest: 3 s is "promptly", with room for a loaded machine.
  bool told = stayer.events->wait_count(is_disconnected, n, 3s);
  if (!told)  // let the old session end before the next round, whichever way
    stayer.events->wait_count(is_disconnected, n, 10s);
  return told;
}

}  // namespace

TEST_CASE("teardown: a DISCONNECT right after connect is honoured at once while the CRYPTSTARTs cross") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  auto alice = start_node(sys, make_config("alice"));
  auto bob = start_node(sys, make_config("bob"));
  constexpr int rounds = 24;
  int late = 0;
  for (int i = 0; i < rounds; ++i) {
    bool alice_leaves = i % 2 == 0;  // the connection's initiator, then its responder
    if (!prompt_disconnect(sys, alice, bob, alice_leaves, i)) {
      ++late;
      MESSAGE("round " << i << ": the DISCONNECT from " << std::string{alice_leaves ? "alice" : "bob"} << " was not honoured");
    }
  }
  CHECK_MESSAGE(late == 0, "alice:\n" << alice.events->dump() << "\nbob:\n" << bob.events->dump());
  stop_node(alice);
  stop_node(bob);
}
