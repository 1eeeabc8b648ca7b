// The public embedding API (include/mokaccino/) used exactly as an application would: only public headers, the
// typed node_actor interface, events through a subscribed actor. Every typed command is sent and answered.

#include <thread>
#include <doctest/doctest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "support/temp_dir.hpp"
#include "mokaccino/node.hpp"

using namespace std::chrono_literals;
namespace mo = mokaccino;
namespace fs = std::filesystem;

namespace {

caf::actor_system_config& configure(caf::actor_system_config& cfg) {
  mo::configure_scheduler(cfg);
  mo::add_message_types(cfg);
  return cfg;
}


mo::node_config config_for(const std::string& user, mo::policy_action connect = mo::policy_action::accept) {
  mo::node_config c;
  c.username = user;
  c.port = 0;
  c.connection.default_action = connect;
  c.audio_input = "silence";  // no sound card on test machines
  c.audio_output = "null";
  return c;
}

// Collects the events of one node; waits on them with a scoped actor's mailbox.
struct event_sink {
  caf::scoped_actor self;
  explicit event_sink(caf::actor_system& sys) : self{sys} {}
  caf::actor handle() { return caf::actor_cast<caf::actor>(self); }

  std::optional<mo::event> wait(const std::function<bool(const mo::event&)>& pred, caf::timespan timeout = 10s) {
    std::optional<mo::event> found;
    bool timed_out = false;
    while (!found && !timed_out)
      self->receive([&](mo::event_atom, const mo::event& e) { if (pred(e)) found = e; },
                    caf::after(timeout) >> [&] { timed_out = true; });
    return found;
  }
  std::optional<mo::event> wait_kind(mo::event_kind k, const std::string& peer = {}) {
    return wait([&](const mo::event& e) { return e.kind == k && (peer.empty() || e.peer == peer); });
  }
};

// A typed request from a scoped actor: the reply type is checked at compile time against node_actor.
template <class Reply, class... Ts>
Reply ask(caf::actor_system& sys, const mo::node_actor& node, Ts&&... xs) {
  caf::scoped_actor self{sys};
  std::optional<Reply> out;
  self->request(node, 10s, std::forward<Ts>(xs)...)
    .receive([&](Reply& r) { out = std::move(r); }, [&](caf::error& e) { FAIL("request failed: " << sys.render(e)); });
  REQUIRE(out);
  return *out;
}

// The node writes its own key as `loopback` into the pin file right after it starts; that write is done once
// the file holds the key (a test that then rewrites the file must not race it).
void await_own_pin(const fs::path& known_users, const std::string& own_key) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream in{known_users};
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    if (text.find(own_key) != std::string::npos)
      return;
    std::this_thread::sleep_for(25ms);
  }
  FAIL("the node never stored its own key in " << known_users);
}

void stop(caf::actor_system& sys, const mo::node& n) {
  caf::scoped_actor self{sys};
  self->monitor(n.handle);
  self->send(n.handle, mo::shutdown_atom::value);  // typed: reacts_to<shutdown_atom>
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(10s) >> [] {});
  CHECK_MESSAGE(down, "the node did not stop after shutdown_atom");
}

}  // namespace

TEST_CASE("embed: every command of the typed node_actor interface is answered with its declared reply") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  mk::test::temp_dir dir{"mk-embed"};
  auto a_cfg = config_for("alice");
  a_cfg.download_dir = dir.path();
  auto alice = mo::spawn_node(sys, a_cfg);
  REQUIRE_MESSAGE(alice, sys.render(alice.error()));
  auto bob = mo::spawn_node(sys, config_for("bob", mo::policy_action::prompt));
  REQUIRE_MESSAGE(bob, sys.render(bob.error()));
  CHECK(alice->port != 0);
  CHECK(alice->public_key.rfind("MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQ", 0) == 0);
  // as `user info` shows it: 16 bytes of SHA-256 in 8 lowercase hex groups of 4, and not bob's
  CHECK(alice->fingerprint.size() == 39);
  for (std::size_t i = 0; i < alice->fingerprint.size(); ++i) {
    auto c = static_cast<unsigned char>(alice->fingerprint[i]);
    CHECK((i % 5 == 4 ? c == ' ' : std::isxdigit(c) && !std::isupper(c)));
  }
  CHECK(alice->fingerprint != bob->fingerprint);

  event_sink a_events{sys}, b_events{sys};
  caf::anon_send(alice->handle, mo::subscribe_atom::value, a_events.handle());
  caf::anon_send(bob->handle, mo::subscribe_atom::value, b_events.handle());

  // connect_host; bob's policy asks: the prompt event is answered through the typed interface.
  auto r = ask<mo::command_reply>(sys, alice->handle, mo::connect_host_atom::value,
                                  "127.0.0.1:" + std::to_string(bob->port));
  CHECK_MESSAGE(r.ok, r.message);
  auto prompt = b_events.wait_kind(mo::event_kind::prompt);
  REQUIRE(prompt);
  CHECK(prompt->id != 0);
  CHECK(mo::field(*prompt, "kind") == "connect");
  caf::anon_send(bob->handle, mo::answer_atom::value, prompt->id, true);
  REQUIRE(a_events.wait_kind(mo::event_kind::connected, "bob"));
  REQUIRE(b_events.wait_kind(mo::event_kind::connected, "alice"));

  r = ask<mo::command_reply>(sys, alice->handle, mo::msg_atom::value, std::string{"bob"}, std::string{"hi  \\ bob"});
  CHECK_MESSAGE(r.ok, r.message);
  auto m = b_events.wait_kind(mo::event_kind::message, "alice");
  REQUIRE(m);
  CHECK(m->text == "hi  \\ bob");

  r = ask<mo::command_reply>(sys, alice->handle, mo::encrypt_atom::value, std::string{"bob"}, true);
  // on already (encrypt_by_default) or starting: either way a success that says which
  CHECK_MESSAGE(r.ok, r.message);
  CHECK_MESSAGE((r.message == "Connection with bob is already encrypted" ||
                 r.message == "Encryption requested with bob"),
                r.message);

  auto peers = ask<std::vector<mo::peer_info>>(sys, alice->handle, mo::user_list_atom::value);
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].user == "bob");
  CHECK(peers[0].address == "127.0.0.1:" + std::to_string(bob->port));
  auto info = ask<mo::peer_info>(sys, alice->handle, mo::user_info_atom::value, std::string{"bob"});
  CHECK(info.connected);
  CHECK(info.fingerprint == bob->fingerprint);
  CHECK(!ask<mo::peer_info>(sys, alice->handle, mo::user_info_atom::value, std::string{"nobody"}).connected);

  r = ask<mo::command_reply>(sys, alice->handle, mo::key_cmd_atom::value, std::string{"show"}, std::string{"bob"},
                             std::string{});
  CHECK(r.ok);
  CHECK(r.message.find(bob->public_key) != std::string::npos);
  auto keys = ask<std::vector<mo::key_entry>>(sys, alice->handle, mo::key_list_atom::value);
  bool own = false;
  for (auto& k : keys)
    own |= k.user == "loopback" && k.key == alice->public_key;
  CHECK(own);

  auto st = ask<mo::node_stats>(sys, alice->handle, mo::stats_atom::value);
  CHECK(st.peers == 1);
  CHECK(st.datagrams_in > 0);

  r = ask<mo::command_reply>(sys, alice->handle, mo::connect_name_atom::value, std::string{"carol"}, std::string{});
  CHECK_MESSAGE(r.ok, r.message);  // bob is asked to introduce carol

  // Files and calls: the node forwards them to its services; whatever they say, the reply has the declared type.
  auto file = dir.path() / "hello.txt";
  std::ofstream{file} << "hello from alice\n";
  ask<mo::command_reply>(sys, alice->handle, mo::file_send_atom::value, std::string{"nobody"}, file.string());
  ask<std::vector<mo::transfer_info>>(sys, alice->handle, mo::file_list_atom::value);
  ask<mo::command_reply>(sys, alice->handle, mo::file_cancel_atom::value, std::string{"no-such-transfer"});
  ask<mo::audio_devices>(sys, alice->handle, mo::voice_devices_atom::value);
  ask<mo::command_reply>(sys, alice->handle, mo::voice_start_atom::value, std::string{"nobody"});
  ask<mo::command_reply>(sys, alice->handle, mo::voice_stop_atom::value);

  r = ask<mo::command_reply>(sys, alice->handle, mo::disconnect_atom::value, std::string{"bob"});
  CHECK_MESSAGE(r.ok, r.message);
  // Gone at once for alice, although the session ends asynchronously: no second disconnect, not in the list.
  r = ask<mo::command_reply>(sys, alice->handle, mo::disconnect_atom::value, std::string{"bob"});
  CHECK(!r.ok);
  CHECK(ask<std::vector<mo::peer_info>>(sys, alice->handle, mo::user_list_atom::value).empty());
  CHECK(b_events.wait_kind(mo::event_kind::disconnected, "alice"));

  stop(sys, *alice);
  stop(sys, *bob);
}

TEST_CASE("embed: spawn_node creates the identity file once, reuses it, and keeps a broken pin store untouched") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  mk::test::temp_dir dir{"mk-embed"};
  auto c = config_for("alice");
  c.private_key = dir.path() / "private.pem";
  c.known_users = dir.path() / "known_users.toml";

  auto first = mo::spawn_node(sys, c);
  REQUIRE_MESSAGE(first, sys.render(first.error()));
  CHECK(first->created_key);
  CHECK(fs::exists(c.private_key));
  CHECK(first->warnings.empty());
  await_own_pin(c.known_users, first->public_key);
  stop(sys, *first);

  auto second = mo::spawn_node(sys, c);
  REQUIRE(second);
  CHECK(!second->created_key);
  CHECK(second->fingerprint == first->fingerprint);
  await_own_pin(c.known_users, second->public_key);
  stop(sys, *second);

  const std::string broken = "[bob\nkey = 'x'\n";
  std::ofstream{c.known_users, std::ios::trunc} << broken;
  auto third = mo::spawn_node(sys, c);
  REQUIRE(third);
  CHECK(third->warnings.size() == 2);
  stop(sys, *third);
  std::ifstream in{c.known_users};
  std::string kept{std::istreambuf_iterator<char>{in}, {}};
  CHECK(kept == broken);

  // The same identity from PEM text in memory.
  std::ifstream pem_in{c.private_key};
  mo::node_config m = config_for("alice");
  m.private_key_pem.assign(std::istreambuf_iterator<char>{pem_in}, {});
  auto fourth = mo::spawn_node(sys, m);
  REQUIRE(fourth);
  CHECK(fourth->fingerprint == first->fingerprint);
  stop(sys, *fourth);

  auto bad_name = config_for("");
  CHECK(!mo::spawn_node(sys, bad_name));
  auto bad_pem = config_for("alice");
  bad_pem.private_key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  CHECK(!mo::spawn_node(sys, bad_pem));
}

TEST_CASE("embed: load_node_files reports the files before spawn_node(sys, cfg, files) binds the port") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  mk::test::temp_dir dir{"mk-embed"};
  auto c = config_for("alice");
  c.private_key = dir.path() / "private.pem";
  c.known_users = dir.path() / "known_users.toml";
  std::ofstream{c.known_users} << "[broken\n";

  auto files = mo::load_node_files(c);
  REQUIRE_MESSAGE(files, sys.render(files.error()));
  CHECK(files->created_key);
  CHECK(files->warnings.size() == 2);  // known before any port is bound
  CHECK(fs::exists(c.private_key));
  auto n = mo::spawn_node(sys, c, *files);
  REQUIRE_MESSAGE(n, sys.render(n.error()));
  CHECK(n->fingerprint == files->fingerprint);
  CHECK(n->created_key);
  CHECK(n->warnings == files->warnings);

  auto taken = c;
  taken.port = n->port;  // held by the running node: binding fails after the files were loaded
  auto again = mo::spawn_node(sys, taken, *files);
  REQUIRE_FALSE(again);
  CHECK(again.error() == caf::sec::cannot_open_port);
  stop(sys, *n);

  CHECK(!mo::spawn_node(sys, c, mo::node_files{}));  // not from load_node_files
  auto bad_key = c;
  bad_key.private_key = dir.path();  // a directory is no key file
  auto failed = mo::load_node_files(bad_key);
  REQUIRE_FALSE(failed);
  CHECK(failed.error() == caf::sec::invalid_argument);
}
