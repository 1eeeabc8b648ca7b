// The original program's side of the recorded sessions (tests/data/interop/direct), replayed byte by byte
// against a mokaccino node over real UDP. Lines whose nonces must change are re-signed with the recorded
// private keys; every other line is sent exactly as the original logged it.
#include <doctest/doctest.h>

#include "core/config/known_users.hpp"
#include "core/crypto/random.hpp"
#include "core/session/crypt_negotiation.hpp"
#include "core/wire/messages.hpp"
#include "core/wire/signed_line.hpp"
#include "support/interop_log.hpp"
#include "support/node_harness.hpp"
#include "support/parse_as.hpp"

using namespace mk;
using namespace mk::test;
namespace w = mk::wire;

namespace {

crypto::identity recorded_identity(const std::string& who) {
  auto id = crypto::identity::load(interop_path("direct/" + who + "/private.pem"));
  REQUIRE(id.ok());
  return *id;
}

config::known_users recorded_pins(const std::string& who) {
  auto k = config::known_users::load(interop_path("direct/" + who + "/known_users.toml"));
  REQUIRE(k.ok());
  return *k;
}

// The first line `who` logged as sent (or received) that starts with `prefix`.
std::string recorded(const std::string& who, bool sent, const std::string& prefix) {
  for (auto& l : read_interop_log("direct/" + who + "/session.log"))
    if (l.sent == sent && l.line.rfind(prefix, 0) == 0)
      return l.line;
  FAIL("no recorded line " << prefix);
  return {};
}

}  // namespace

TEST_CASE("replay: the original alice connects to a mokaccino bob, chats, encrypts and disconnects") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  Botan::AutoSeeded_RNG rng;
  auto alice = recorded_identity("alice");
  auto bob_id = recorded_identity("bob");
  auto bob_cfg = make_config("bob");
  bob_cfg.require_encryption = false;
  bob_cfg.encrypt_by_default = false;  // as in the capture ("Encryption disabled")
  auto bob = start_node(sys, bob_cfg, bob_id, recorded_pins("bob"));  // bob's pins hold alice's key
  raw_peer peer;

  // CONNECT, shaped as recorded, with a fresh nonce and signature
  auto rec_connect = parse_as<w::connect_msg>(recorded("bob", false, "CONNECT "));
  w::connect_msg c{"alice", crypto::make_nonce(rng), rec_connect.pubkey, {}};
  CHECK(c.pubkey == alice.public_key().base64());
  c.signature = alice.sign(w::signed_text(c), rng);
  peer.send_line(bob.port(), w::serialize(c));

  auto hs_line = peer.receive("HANDSHAKE");
  INFO(bob.events->dump());
  REQUIRE(hs_line);
  auto hs = parse_as<w::handshake_msg>(*hs_line);
  CHECK(hs.username == "bob");
  CHECK(hs.peer_nonce == c.nonce);
  CHECK(hs.pubkey == parse_as<w::handshake_msg>(recorded("alice", false, "HANDSHAKE ")).pubkey);
  auto parts = w::split_signed(*hs_line);
  REQUIRE(parts);
  CHECK(bob_id.public_key().verify(parts->text, parts->signature));

  w::connected_msg done{hs.nonce, {}};
  done.signature = alice.sign(w::signed_text(done), rng);
  peer.send_line(bob.port(), w::serialize(done));
  REQUIRE(bob.events->wait_kind(event_kind::connected));

  // recorded lines, byte for byte
  peer.send_line(bob.port(), "PING 47964");
  CHECK(peer.receive("PONG") == std::optional<std::string>{"PONG 47964"});
  peer.send_line(bob.port(), recorded("alice", true, "MSG "));
  CHECK(bob.events->wait_for([](const event& e) {
    return e.kind == event_kind::message && e.peer == "alice" && e.text == "hello bob, with spaces and a back\\slash";
  }));

  // CRYPTSTART with a fresh ephemeral key; the node answers CRYPTACCEPT signed by bob's recorded key
  session::crypt_negotiation crypt{alice, bob_id.public_key()};
  auto start = crypt.start(rng);
  peer.send_line(bob.port(), start.plaintext_lines.at(0));
  auto accept_line = peer.receive("CRYPTACCEPT");
  REQUIRE(accept_line);
  auto ack = crypt.on_crypt_accept(parse_as<w::crypt_accept_msg>(*accept_line), *accept_line, false);
  REQUIRE(ack.plaintext_lines == std::vector<std::string>{"CRYPTACK"});
  peer.send_line(bob.port(), "CRYPTACK");
  REQUIRE(bob.events->wait_kind(event_kind::encryption, "now encrypted"));
  auto sealed_line = [&](std::string_view line) {
    auto d = crypt.seal(line, rng);  // the whole datagram; send_line adds the LF itself
    d.pop_back();
    return d;
  };
  peer.send_line(bob.port(), sealed_line("MSG now\\ encrypted"));
  CHECK(bob.events->wait_for([](const event& e) { return e.kind == event_kind::message && e.text == "now encrypted"; }));

  // the node's PINGs now come encrypted and decrypt with our key
  auto c_line = peer.receive("C");
  REQUIRE(c_line);
  std::string inner;
  REQUIRE(crypt.open(parse_as<w::crypt_msg>(*c_line), inner).why == session::crypt_negotiation::refusal::none);

  // plaintext after encryption is refused (§14 FIX)
  peer.send_line(bob.port(), "MSG sneaky\\ plaintext");
  peer.send_line(bob.port(), sealed_line("DISCONNECT connection\\ closed"));
  CHECK(bob.events->wait_kind(event_kind::disconnected, "connection closed"));
  CHECK_FALSE(bob.events->any([](const event& e) { return e.text == "sneaky plaintext"; }));
  stop_node(bob);
}

TEST_CASE("replay: a mokaccino alice connects to the original bob and sends the recorded bytes") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  Botan::AutoSeeded_RNG rng;
  auto alice_id = recorded_identity("alice");
  auto bob_id = recorded_identity("bob");
  auto alice_cfg = make_config("alice");
  alice_cfg.require_encryption = false;
  alice_cfg.encrypt_by_default = false;
  auto alice = start_node(sys, alice_cfg, alice_id, recorded_pins("alice"));
  raw_peer bob;

  caf::anon_send(alice.handle.node, connect_host_atom::value, "127.0.0.1:" + std::to_string(bob.port()));
  auto connect_line_rx = bob.receive("CONNECT");
  REQUIRE(connect_line_rx);
  auto c = parse_as<w::connect_msg>(*connect_line_rx);
  CHECK(c.username == "alice");
  CHECK(c.pubkey == parse_as<w::connect_msg>(recorded("bob", false, "CONNECT ")).pubkey);
  auto parts = w::split_signed(*connect_line_rx);
  REQUIRE(parts);
  CHECK(alice_id.public_key().verify(parts->text, parts->signature));

  w::handshake_msg hs{"bob", crypto::make_nonce(rng), c.nonce, bob_id.public_key().base64(), {}};
  hs.signature = bob_id.sign(w::signed_text(hs), rng);
  bob.send_line(alice.port(), w::serialize(hs));
  auto connected = bob.receive("CONNECTED");
  REQUIRE(connected);
  auto cp = w::split_signed(*connected);
  REQUIRE(cp);
  CHECK(parse_as<w::connected_msg>(*connected).nonce == hs.nonce);
  CHECK(alice_id.public_key().verify(cp->text, cp->signature));
  REQUIRE(alice.events->wait_kind(event_kind::connected));

  CHECK(ask<command_reply>(sys, alice.handle.node, msg_atom::value, std::string{"bob"},
                           std::string{"hello bob, with spaces and a back\\slash"})
          .ok);
  // exactly the bytes the original alice sent
  CHECK(bob.receive("MSG") == std::optional<std::string>{recorded("alice", true, "MSG ")});
  CHECK(ask<command_reply>(sys, alice.handle.node, disconnect_atom::value, std::string{"bob"}).ok);
  CHECK(bob.receive("DISCONNECT") == std::optional<std::string>{recorded("bob", false, "DISCONNECT ")});
  stop_node(alice);
}
