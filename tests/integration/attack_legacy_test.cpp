// Issue 13, toward an original node: its format is fixed (PROTOCOL §11: one key both ways, random IVs,
// unauthenticated CRYPTSTOP), so a mokaccino node hardens what that format allows. A raw peer plays the original
// byte for byte (core/session/crypt_negotiation without the envelope is exactly its CRYPT exchange) and a real
// node is attacked from the peer's own address.
#include <doctest/doctest.h>

#include <botan/auto_rng.h>

#include "core/crypto/random.hpp"
#include "core/session/crypt_negotiation.hpp"
#include "core/wire/datagram.hpp"
#include "core/wire/messages.hpp"
#include "support/node_harness.hpp"

using namespace mk;
using namespace mk::test;
namespace w = mk::wire;
using refusal = session::crypt_negotiation::refusal;

namespace {

// An original-like "alice", connected to `node` and encrypted with it (the node starts CRYPT, as
// require_encryption makes it).
struct original_peer {
  Botan::AutoSeeded_RNG rng;
  crypto::identity id = crypto::identity::generate(rng);
  raw_peer sock;
  std::uint16_t node_port;
  std::optional<session::crypt_negotiation> crypt;

  original_peer(test_node& node, const crypto::public_key& node_key) : node_port(node.port()) {
    w::connect_msg c{"alice", crypto::make_nonce(rng), id.public_key().base64(), {}};
    c.signature = id.sign(w::signed_text(c), rng);
    sock.send_line(node_port, w::serialize(c));
    auto hs = sock.receive("HANDSHAKE");
    REQUIRE(hs);
    auto h = std::get<w::handshake_msg>(*w::parse_line(*hs));
    w::connected_msg done{h.nonce, {}};
    done.signature = id.sign(w::signed_text(done), rng);
    sock.send_line(node_port, w::serialize(done));
    crypt.emplace(id, node_key);
    auto start = sock.receive("CRYPTSTART");
    REQUIRE(start);
    auto accept = crypt->on_crypt_start(std::get<w::crypt_start_msg>(*w::parse_line(*start)), *start, false, rng);
    REQUIRE(accept.plaintext_lines.size() == 1);
    sock.send_line(node_port, accept.plaintext_lines[0]);
    REQUIRE(sock.receive("CRYPTACK"));
    crypt->on_crypt_ack(false);
    REQUIRE(crypt->encrypting());
    REQUIRE(node.events->wait_kind(event_kind::encryption, "now encrypted"));
  }

  // The C line (no LF) that carries `line`.
  std::string seal(const std::string& line) {
    auto d = crypt->seal(line, rng);
    d.pop_back();
    return d;
  }
  // Waits for a C line from the node whose plaintext starts with `prefix`; returns {C line, plaintext}.
  std::optional<std::pair<std::string, std::string>> receive_sealed(const std::string& prefix,
                                                                    std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto c = sock.receive("C", 200ms);
      if (!c)
        continue;
      std::string plain;
      if (crypt->open(std::get<w::crypt_msg>(*w::parse_line(*c)), plain).why != refusal::none)
        continue;
      if (plain.rfind(prefix, 0) == 0)
        return std::make_pair(*c, plain);
    }
    return std::nullopt;
  }
  // True if any line received in plaintext so far contains `text`.
  bool saw_plaintext(const std::string& text) const {
    for (auto& l : sock.received_other)
      if (l.rfind("C ", 0) != 0 && l.find(text) != std::string::npos)
        return true;
    return false;
  }
};

std::size_t messages_with(test_node& n, const std::string& text) {
  return n.events->count([&](const event& e) { return e.kind == event_kind::message && e.text == text; });
}

}  // namespace

TEST_CASE("original-facing: an exact replay of the original's C is shown once, a reflected C of ours never") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  auto bob = start_node(sys, make_config("bob"));
  original_peer alice{bob, bob.identity.public_key()};
  auto once = alice.seal("MSG only\\ once");
  alice.sock.send_line(bob.port(), once);
  REQUIRE(bob.events->wait_for([](const event& e) { return e.kind == event_kind::message && e.text == "only once"; }));
  alice.sock.send_line(bob.port(), once);  // replayed from the original's address
  REQUIRE(ask<command_reply>(sys, bob.handle.node, msg_atom::value, std::string{"alice"}, std::string{"echo me"}).ok);
  auto ours = alice.receive_sealed("MSG ");
  REQUIRE(ours);
  alice.sock.send_line(bob.port(), ours->first);  // bob's own C reflected back to it
  alice.sock.send_line(bob.port(), alice.seal("MSG after\\ the\\ attacks"));
  REQUIRE(bob.events->wait_for([](const event& e) { return e.kind == event_kind::message && e.text == "after the attacks"; }));
  CHECK(messages_with(bob, "only once") == 1);
  CHECK(messages_with(bob, "echo me") == 0);
  CHECK(ask<node_stats>(sys, bob.handle.node, stats_atom::value).replayed >= 2);
  CHECK(ask<peer_info>(sys, bob.handle.node, user_info_atom::value, std::string{"alice"}).encrypted);
  stop_node(bob);
}

TEST_CASE("original-facing: a badly signed CRYPTSTART or a plaintext DISCONNECT does not stop the session") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  auto bob = start_node(sys, make_config("bob"));
  original_peer alice{bob, bob.identity.public_key()};
  Botan::AutoSeeded_RNG rng;
  auto mallory = crypto::identity::generate(rng);
  session::crypt_negotiation forger{mallory, bob.identity.public_key()};
  alice.sock.send_line(bob.port(), forger.start(rng).plaintext_lines.at(0));
  alice.sock.send_line(bob.port(), "DISCONNECT connection\\ closed");
  alice.sock.send_line(bob.port(), alice.seal("MSG still\\ here"));
  REQUIRE(bob.events->wait_for([](const event& e) { return e.kind == event_kind::message && e.text == "still here"; }));
  CHECK(ask<peer_info>(sys, bob.handle.node, user_info_atom::value, std::string{"alice"}).encrypted);
  CHECK_FALSE(bob.events->any([](const event& e) { return e.kind == event_kind::disconnected; }));
  CHECK_FALSE(alice.sock.receive("CRYPTSTOP", 500ms));  // the original would have stopped (and said so)
  stop_node(bob);
}

TEST_CASE("original-facing: after the original's plaintext CRYPTSTOP nothing leaves in plaintext, encryption restarts") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  auto bob = start_node(sys, make_config("bob"));
  original_peer alice{bob, bob.identity.public_key()};
  alice.sock.send_line(bob.port(), "CRYPTSTOP");  // the original's normal way to stop (or a forgery: same bytes)
  alice.crypt->on_crypt_stop(false);
  REQUIRE(bob.events->wait_kind(event_kind::encryption, "no longer encrypted"));
  REQUIRE(ask<command_reply>(sys, bob.handle.node, msg_atom::value, std::string{"alice"}, std::string{"held back"}).ok);
  auto start = alice.sock.receive("CRYPTSTART");  // bob starts again at once
  REQUIRE(start);
  auto accept = alice.crypt->on_crypt_start(std::get<w::crypt_start_msg>(*w::parse_line(*start)), *start, false, alice.rng);
  alice.sock.send_line(bob.port(), accept.plaintext_lines.at(0));
  REQUIRE(alice.sock.receive("CRYPTACK"));
  alice.crypt->on_crypt_ack(false);
  auto msg = alice.receive_sealed("MSG ");
  REQUIRE(msg);
  CHECK(msg->second == "MSG held\\ back");
  CHECK_FALSE(alice.saw_plaintext("held"));
  stop_node(bob);
}
