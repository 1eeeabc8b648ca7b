// The node's directory alone (actors/peer_directory.hpp): no node, no socket. The sessions are idle actors on
// CAF's test coordinator, only there to give the directory distinct handles.
#include <doctest/doctest.h>

#include <vector>

#include <caf/all.hpp>

#include "actors/peer_directory.hpp"

using namespace mk;

namespace {

caf::behavior idle_session(caf::event_based_actor*, int) {
  return {[](int) {}};
}

struct directory_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg.set("scheduler.policy", caf::atom("testing"))};
  std::vector<caf::actor> spawned;
  peer_directory dir;

  ~directory_fixture() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler()).run();
  }

  // A new session at `ep`, registered.
  caf::actor session(const endpoint& ep) {
    spawned.push_back(sys.spawn(idle_session, 0));
    dir.add_session(ep, spawned.back());
    return spawned.back();
  }
};

endpoint at(std::uint32_t ip, std::uint16_t port) {
  return endpoint::v4(ip, port);
}

constexpr std::uint32_t one = 0x7f000001, two = 0x7f000002, three = 0x7f000003;

}  // namespace

TEST_CASE("peer directory: half-open sessions are counted per address and overall, established peers are not") {
  directory_fixture f;
  f.session(at(one, 1000));
  f.session(at(one, 1001));
  auto third = f.session(at(one, 1002));
  f.session(at(two, 1000));
  CHECK(f.dir.half_open() == 4);
  CHECK(f.dir.half_open_from(at(one, 9)) == 3);  // any port of the address
  CHECK(f.dir.half_open_from(at(two, 1000)) == 1);
  CHECK(f.dir.half_open_from(at(three, 1000)) == 0);

  REQUIRE(f.dir.establish("carol", at(one, 1000), "key"));
  CHECK(f.dir.half_open() == 3);
  CHECK(f.dir.half_open_from(at(one, 9)) == 2);
  CHECK(f.dir.half_open_from(at(two, 9)) == 1);

  REQUIRE(f.dir.remove_session(third.address()));  // a pending handshake timed out: its slot is free
  CHECK(f.dir.half_open() == 2);
  CHECK(f.dir.half_open_from(at(one, 9)) == 1);
  CHECK(f.dir.sessions().size() == 3);
}

TEST_CASE("peer directory: a name held at one endpoint is refused at another, and a name needs a session") {
  directory_fixture f;
  auto first = f.session(at(one, 1000));
  f.session(at(two, 1000));
  REQUIRE(f.dir.establish("carol", at(one, 1000), "key1"));
  CHECK_FALSE(f.dir.establish("carol", at(two, 1000), "key2"));  // §4: one session per name
  REQUIRE(f.dir.peer("carol"));
  CHECK(f.dir.peer("carol")->ep == at(one, 1000));
  CHECK(f.dir.peer("carol")->session == first);
  CHECK(f.dir.peer("carol")->pubkey == "key1");
  CHECK_FALSE(f.dir.establish("dave", at(three, 1000), "key3"));  // no session there
  CHECK_FALSE(f.dir.connected("dave"));

  f.dir.peer("carol")->mokaccino_peer = true;
  CHECK(f.dir.establish("carol", at(one, 1000), "key1"));  // the same endpoint again: registered afresh
  CHECK_FALSE(f.dir.peer("carol")->mokaccino_peer);
  CHECK(f.dir.peers().size() == 1);
  CHECK(f.dir.endpoint_of(first.address()) == at(one, 1000));
}

TEST_CASE("peer directory: an ended session takes its peer with it, and an unknown one changes nothing") {
  directory_fixture f;
  auto s = f.session(at(one, 1000));
  REQUIRE(f.dir.establish("carol", at(one, 1000), "key"));
  auto gone = f.dir.remove_session(s.address());
  REQUIRE(gone);
  CHECK(gone->ep == at(one, 1000));
  CHECK_FALSE(gone->deferred_connect);  // nobody asked to connect there meanwhile
  CHECK_FALSE(f.dir.connected("carol"));
  CHECK_FALSE(f.dir.has_session(at(one, 1000)));
  CHECK_FALSE(f.dir.endpoint_of(s.address()));
  CHECK_FALSE(f.dir.remove_session(s.address()));
  CHECK(f.dir.half_open() == 0);
}

TEST_CASE("peer directory: a disconnected peer is gone at once, its session stays until it ends, a connect waits") {
  directory_fixture f;
  auto s = f.session(at(one, 1000));
  f.session(at(two, 1000));
  REQUIRE(f.dir.establish("carol", at(one, 1000), "key"));
  CHECK_FALSE(f.dir.defer_connect(at(one, 1000), "carol"));  // not closing: connect as usual (or refuse)

  auto peer = f.dir.disconnect("carol");
  REQUIRE(peer);
  CHECK(peer->session == s);  // the node closes it
  CHECK_FALSE(f.dir.connected("carol"));
  CHECK_FALSE(f.dir.disconnect("carol"));  // a second disconnect finds nobody
  CHECK(f.dir.has_session(at(one, 1000)));  // until the session has ended

  CHECK(f.dir.defer_connect(at(one, 1000), "carol2"));
  CHECK_FALSE(f.dir.defer_connect(at(two, 1000), "dave"));  // that session is not closing
  auto gone = f.dir.remove_session(s.address());
  REQUIRE(gone);
  CHECK(gone->ep == at(one, 1000));
  CHECK(gone->deferred_connect == std::optional<std::string>{"carol2"});
  CHECK_FALSE(f.dir.has_session(at(one, 1000)));
  CHECK_FALSE(f.dir.defer_connect(at(one, 1000), "carol2"));  // closing is over with the session
}

TEST_CASE("peer directory: a disconnect with no connect after it hands nothing back when the session ends") {
  directory_fixture f;
  auto s = f.session(at(one, 1000));
  REQUIRE(f.dir.establish("carol", at(one, 1000), "key"));
  REQUIRE(f.dir.disconnect("carol"));
  auto gone = f.dir.remove_session(s.address());
  REQUIRE(gone);
  CHECK_FALSE(gone->deferred_connect);
}
