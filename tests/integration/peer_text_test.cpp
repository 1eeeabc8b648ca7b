// Issue 13: every text a peer controls (user name, MSG, file name, DISCONNECT reason) is sanitised before any
// event leaves the node; the same rule as MSG text, in one place (mokaccino::sanitise_event, node publish).
#include <doctest/doctest.h>

#include "support/hostile_text.hpp"
#include "support/node_harness.hpp"

using namespace mk;
using namespace mk::test;

TEST_CASE("peer text: escapes, OSC 52, bidi overrides and CR in a name, MSG, file name and reason never reach an event") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  auto c = make_config("bob");
  c.encrypt_by_default = false;
  c.require_encryption = false;
  c.max_size = 1000;  // the hostile FILEINIT (1 MB) is refused for its size: the path that printed the raw name
  auto bob = start_node(sys, c);
  hostile::say_everything(bob.port());

  auto& log = *bob.events;
  REQUIRE_MESSAGE(log.wait_for([](const event& e) {
    return e.kind == event_kind::disconnected && e.text.find(hostile::reason_shown) != std::string::npos;
  }), log.dump());
  CHECK_MESSAGE(log.any([](const event& e) { return e.kind == event_kind::connected && e.peer == hostile::name_shown; }),
                log.dump());
  CHECK_MESSAGE(log.any([](const event& e) {
    return e.kind == event_kind::message && e.peer == hostile::name_shown && e.text == hostile::message_shown;
  }), log.dump());
  CHECK_MESSAGE(log.any([](const event& e) {
    if (e.kind != event_kind::transfer || e.text.find("Refused " + hostile::file_name_shown) == std::string::npos)
      return false;
    for (auto& [k, v] : e.fields)
      if (k == "name")
        return v == hostile::file_name_shown;
    return false;
  }), log.dump());

  // Not one raw byte anywhere in any event: peer, text, field names and values.
  int seen = 0;
  log.any([&](const event& e) {
    ++seen;
    CHECK_MESSAGE(hostile::first_forbidden(e.peer, hostile::forbidden_raw).empty(), e.peer);
    CHECK_MESSAGE(hostile::first_forbidden(e.text, hostile::forbidden_raw).empty(), e.text);
    for (auto& [k, v] : e.fields) {
      CHECK_MESSAGE(hostile::first_forbidden(k, hostile::forbidden_raw).empty(), k);
      CHECK_MESSAGE(hostile::first_forbidden(v, hostile::forbidden_raw).empty(), v);
    }
    return false;
  });
  CHECK(seen >= 4);
  // The CONNECT with ESC in the name was dropped as malformed, and never shown.
  CHECK_FALSE(log.any([](const event& e) { return e.peer.find("llory") != std::string::npos; }));
  CHECK(ask<node_stats>(sys, bob.handle.node, stats_atom::value).malformed >= 1);
  stop_node(bob);
}
