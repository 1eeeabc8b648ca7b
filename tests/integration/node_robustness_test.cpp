// Bad input never crashes a node: malformed datagrams are dropped and counted; forged handshakes are refused.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <random>

#include "core/crypto/random.hpp"
#include "core/wire/messages.hpp"
#include "support/node_harness.hpp"

using namespace mk;
using namespace mk::test;
namespace w = mk::wire;

TEST_CASE("garbage, empty, NUL, oversize and out-of-state datagrams are dropped and counted") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  auto bob = start_node(sys, make_config("bob"));
  raw_peer peer;
  peer.send_bytes(bob.port(), "");                      // made the original deaf (§14.1)
  peer.send_bytes(bob.port(), std::string("\0CONNECT", 8));  // crashed the original
  peer.send_bytes(bob.port(), "CONNECT a b c\n");       // wrong shape
  peer.send_bytes(bob.port(), "FILEINIT x -1 y\n");     // not from a connected source
  peer.send_bytes(bob.port(), "HANDSHAKE a b c d e\n");
  peer.send_bytes(bob.port(), std::string(65000, 'A')); // no LF, big
  std::mt19937 gen{1234};
  for (int i = 0; i < 500; ++i) {
    std::string junk(gen() % 300, '\0');
    for (auto& ch : junk)
      ch = static_cast<char>(gen());
    peer.send_bytes(bob.port(), junk);
  }
  node_stats s;
  for (int i = 0; i < 50; ++i) {
    s = ask<node_stats>(sys, bob.handle.node, stats_atom::value);
    if (s.datagrams_in >= 506)
      break;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(s.datagrams_in >= 500);
  CHECK(s.malformed >= 3);
  CHECK(s.unknown_source >= 2);
  CHECK(s.peers == 0);
  // still serving
  auto alice = start_node(sys, make_config("alice"));
  ask<command_reply>(sys, alice.handle.node, connect_host_atom::value, connect_line(bob));
  CHECK(bob.events->wait_kind(event_kind::connected));
  stop_node(alice);
  stop_node(bob);
}

TEST_CASE("a CONNECT with a wrong signature is refused with DISCONNECT authentication error") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  Botan::AutoSeeded_RNG rng;
  auto bob = start_node(sys, make_config("bob"));
  auto mallory = crypto::identity::generate(rng);
  auto victim = crypto::identity::generate(rng);
  raw_peer peer;
  w::connect_msg c{"alice", crypto::make_nonce(rng), victim.public_key().base64(), {}};
  c.signature = mallory.sign(w::signed_text(c), rng);  // signed with another key
  peer.send_line(bob.port(), w::serialize(c));
  CHECK(peer.receive("DISCONNECT") == std::optional<std::string>{"DISCONNECT authentication\\ error"});
  // nothing was pinned for the claimed name (§14: verify before pinning)
  auto shown = ask<command_reply>(sys, bob.handle.node, key_cmd_atom::value, std::string{"show"}, std::string{"alice"},
                                  std::string{});
  CHECK_FALSE(shown.ok);
  stop_node(bob);
}

TEST_CASE("a flood of CONNECTs is bounded by the half-open limit") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  Botan::AutoSeeded_RNG rng;
  auto bob = start_node(sys, make_config("bob"));  // each waits 10 s for a CONNECTED that never comes
  auto id = crypto::identity::generate(rng);
  std::vector<std::unique_ptr<raw_peer>> peers;
  for (std::size_t i = 0; i < limits::max_half_open + 20; ++i) {
    peers.push_back(std::make_unique<raw_peer>());
    w::connect_msg c{fmt::format("u{}", i), crypto::make_nonce(rng), id.public_key().base64(), {}};
    c.signature = id.sign(w::signed_text(c), rng);
    peers.back()->send_line(bob.port(), w::serialize(c));
  }
  node_stats s;
  for (int i = 0; i < 100; ++i) {
    s = ask<node_stats>(sys, bob.handle.node, stats_atom::value);
    if (s.half_open_limit >= 20)
      break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(s.half_open <= limits::max_half_open);
  CHECK(s.half_open_limit >= 20);
  stop_node(bob);
}
