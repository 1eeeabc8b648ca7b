// Issue 13: remote control (publish_node / attach_node) requires the secret token. Server and clients are separate
// actor systems talking over caf::io on loopback, as two processes would.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <caf/io/all.hpp>

#include "support/node_harness.hpp"
#include "support/temp_dir.hpp"

using namespace mk;
using namespace mk::test;

namespace {

caf::actor_system_config& remote_config(caf::actor_system_config& cfg) {
  configure(cfg);
  mokaccino::add_message_types(cfg);
  cfg.load<caf::io::middleman>();
  return cfg;
}

struct published_bob {
  caf::actor_system_config cfg;
  caf::actor_system sys{remote_config(cfg)};
  test_node bob = start_node(sys, make_config("bob"));
  test_node alice = start_node(sys, make_config("alice"));
  std::string token = mokaccino::make_remote_token();
  std::uint16_t port = 0;

  published_bob() {
    auto p = mokaccino::publish_node(sys, caf::actor_cast<mokaccino::node_actor>(bob.handle.node), 0, token);
    REQUIRE(p);
    port = *p;
  }
  ~published_bob() {
    stop_node(alice);
    stop_node(bob);
  }
  std::vector<peer_info> bob_peers() { return ask<std::vector<peer_info>>(sys, bob.handle.node, user_list_atom::value); }
};

struct client {
  caf::actor_system_config cfg;
  caf::actor_system sys{remote_config(cfg)};
};

bool says_authentication_failed(caf::actor_system& sys, const caf::error& e) {
  return sys.render(e).find("authentication failed") != std::string::npos;
}

}  // namespace

TEST_CASE("remote: the right token drives the node, a wrong one is refused, rate-limited, and runs nothing") {
  published_bob server;
  client c;

  SUBCASE("wrong token, then at once the right one (locked out for a second), then the right one") {
    auto wrong = mokaccino::attach_node(c.sys, "127.0.0.1", server.port, std::string(64, 'f'));
    REQUIRE_FALSE(wrong);
    CHECK_MESSAGE(says_authentication_failed(c.sys, wrong.error()), c.sys.render(wrong.error()));
    auto locked = mokaccino::attach_node(c.sys, "127.0.0.1", server.port, server.token);
    REQUIRE_FALSE(locked);
    CHECK_MESSAGE(c.sys.render(locked.error()).find("too many attempts") != std::string::npos,
                  c.sys.render(locked.error()));
    std::this_thread::sleep_for(1100ms);
  }
  SUBCASE("an empty token") {
    auto none = mokaccino::attach_node(c.sys, "127.0.0.1", server.port, std::string{});
    REQUIRE_FALSE(none);
    CHECK(says_authentication_failed(c.sys, none.error()));
    std::this_thread::sleep_for(1100ms);
  }
  CHECK(server.bob_peers().empty());  // nothing ran

  auto node = mokaccino::attach_node(c.sys, "127.0.0.1", server.port, server.token);
  REQUIRE_MESSAGE(node, c.sys.render(node.error()));
  // Subscribe from an actor (an anonymous message cannot be attributed to the client, so it is ignored).
  auto events = std::make_shared<event_log>();
  auto sink = c.sys.spawn(recorder_actor, events);
  caf::scoped_actor{c.sys}->send(*node, subscribe_atom::value, sink);
  auto r = ask<command_reply>(c.sys, caf::actor_cast<caf::actor>(*node), connect_host_atom::value,
                              connect_line(server.alice));
  CHECK(r.ok);
  CHECK_MESSAGE(events->wait_kind(event_kind::connected), events->dump());  // events come back too
  CHECK(server.bob_peers().size() == 1);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

TEST_CASE("remote: without the token no command reaches the node, whatever is sent to the published port") {
  published_bob server;
  client attacker;
  auto g = attacker.sys.middleman().remote_actor<mokaccino::remote_gate>("127.0.0.1", server.port);
  REQUIRE(g);
  // The gate understands one message; node commands sent to it are not forwarded.
  caf::scoped_actor self{attacker.sys};
  bool answered_ok = false;
  self->request(caf::actor_cast<caf::actor>(*g), 5s, connect_host_atom::value, connect_line(server.alice))
    .receive([&](command_reply&) { answered_ok = true; }, [&](caf::error&) {});
  CHECK_FALSE(answered_ok);
  self->send(caf::actor_cast<caf::actor>(*g), shutdown_atom::value);
  // Asking for the node interface instead of the gate's fails: the node is not what is published.
  CHECK_FALSE(attacker.sys.middleman().remote_actor<mokaccino::node_actor>("127.0.0.1", server.port));
  std::this_thread::sleep_for(500ms);
  CHECK_FALSE(server.bob.events->any([](const event& e) { return e.kind == event_kind::connected; }));
  CHECK(server.bob_peers().empty());  // and bob is still running: it answered
}

TEST_CASE("remote: nothing is published without a token") {
  published_bob server;
  auto p = mokaccino::publish_node(server.sys, caf::actor_cast<mokaccino::node_actor>(server.bob.handle.node), 0,
                                   std::string{"short"});
  REQUIRE_FALSE(p);
  CHECK(server.sys.render(p.error()).find("nothing published") != std::string::npos);
}

TEST_CASE("remote: the token file is created 0600, and one others can read or a symlink is refused") {
  temp_dir dir{"mk-token"};
  auto file = dir.path() / "remote.token";
  auto t = mokaccino::write_token_file(file);
  REQUIRE(t);
  CHECK(t->size() == 64);
  struct stat st{};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto back = mokaccino::read_token_file(file);
  REQUIRE(back);
  CHECK(*back == *t);
  auto again = mokaccino::write_token_file(file);  // a fresh secret each time, replacing the old file
  REQUIRE(again);
  CHECK(*again != *t);
  CHECK(dir.entry_count() == 1);  // no temporary file left behind

  ::chmod(file.c_str(), 0644);
  CHECK_FALSE(mokaccino::read_token_file(file));
  ::chmod(file.c_str(), 0600);
  auto link = dir.path() / "link.token";
  std::filesystem::create_symlink(file, link);
  CHECK_FALSE(mokaccino::read_token_file(link));
  CHECK_FALSE(mokaccino::read_token_file(dir.path() / "missing.token"));
}
