#pragma once
// Test support (issue 13): text a hostile peer puts in every field it controls, a legacy-style raw peer that
// connects to a node and says it, and the checks that none of the raw bytes came out the other side.

#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <botan/auto_rng.h>
#include <doctest/doctest.h>

#include "core/crypto/identity.hpp"
#include "core/crypto/random.hpp"
#include "core/wire/messages.hpp"
#include "support/node_harness.hpp"

namespace mk::test::hostile {

// ESC[2J clears the screen, OSC 52 writes the clipboard, U+202E / U+2066 reorder what follows, CR rewrites the
// line, U+009B is CSI as a C1 control. A user name cannot hold C0 bytes on the wire (the parser drops it), so it
// gets the C1 CSI and the override; a second CONNECT tries ESC anyway.
inline const std::string name = "ev\xC2\x9B" "2Jil\xE2\x80\xAE" "gnp.exe";
inline const std::string name_shown = "ev2Jilgnp.exe";
inline const std::string name_with_esc = "ma\x1b[2Jllory";
inline const std::string message = "hi\x1b[2J\x1b]52;c;ZXZpbA==\x07\xE2\x80\xAE" "dlrow\r fake line";
inline const std::string message_shown = "hidlrow fake line";
inline const std::string file_name = "re\x1b[2Jport\x1b]52;c;ZXZpbA==\x07\xE2\x81\xA6" "cod.exe\xE2\x80\xAE" "txt\r";
inline const std::string file_name_shown = "reportcod.exetxt";
inline const std::string reason = "bye\x1b]52;c;ZXZpbA==\x1b\\\xE2\x80\xAD\r\x1b[1A" "forged";
inline const std::string reason_shown = "byeforged";

// Raw bytes (as they would reach a terminal) that must never come out of the node.
inline const std::vector<std::string_view> forbidden_raw = {
  "\x1b", "\r", "\x07", "\xC2\x9B", "\xE2\x80\xAD", "\xE2\x80\xAE", "\xE2\x81\xA6", "ZXZpbA=="};
// The same once written as JSON (json.cpp escapes controls as \u00XX and keeps UTF-8 as is).
inline const std::vector<std::string_view> forbidden_json = {
  "\\u001b", "\\u001B", "\\r", "\\u0007", "\\u009b", "\\u009B", "\xC2\x9B", "\xE2\x80\xAD", "\xE2\x80\xAE",
  "\xE2\x81\xA6", "ZXZpbA=="};

inline std::string first_forbidden(std::string_view text, const std::vector<std::string_view>& list) {
  for (auto f : list)
    if (text.find(f) != std::string_view::npos)
      return std::string{f};
  return {};
}

// A raw UDP peer that connects to `node_port` the way the original program does (signed CONNECT, CONNECTED).
struct peer {
  raw_peer sock;
  std::uint16_t node_port;
  crypto::identity id;

  peer(std::uint16_t port, const std::string& user, crypto::identity identity) : node_port(port), id(std::move(identity)) {
    Botan::AutoSeeded_RNG rng;
    sock.send_line(node_port, signed_connect(user, rng));
    auto hs = sock.receive("HANDSHAKE");
    REQUIRE(hs);
    auto parsed = wire::parse_line(*hs);
    REQUIRE(parsed.ok());
    auto& h = std::get<wire::handshake_msg>(*parsed);
    wire::connected_msg done{h.nonce, {}};
    done.signature = id.sign(wire::signed_text(done), rng);
    sock.send_line(node_port, wire::serialize(done));
    // The node speaks first once the session is established (CAPS, PING): lines sent earlier would be dropped.
    REQUIRE(sock.receive("", std::chrono::seconds{5}));
  }
  std::string signed_connect(const std::string& user, Botan::RandomNumberGenerator& rng) const {
    wire::connect_msg c{user, crypto::make_nonce(rng), id.public_key().base64(), {}};
    c.signature = id.sign(wire::signed_text(c), rng);
    return wire::serialize(c);
  }
  void send(const wire::message& m) {
    std::visit([&](auto& x) { sock.send_line(node_port, wire::serialize(x)); }, m);
  }
};

// Everything a hostile peer can say: a CONNECT with ESC in the name (dropped by the parser), then as `name` a MSG,
// a FILEINIT refused for its size (the node's max_size must be below 1 MB), and a DISCONNECT.
inline void say_everything(std::uint16_t node_port) {
  Botan::AutoSeeded_RNG rng;
  auto id = crypto::identity::generate(rng);
  {
    raw_peer stray;
    wire::connect_msg c{name_with_esc, crypto::make_nonce(rng), id.public_key().base64(), {}};
    c.signature = id.sign(wire::signed_text(c), rng);
    stray.send_line(node_port, wire::serialize(c));
  }
  peer p{node_port, name, id};
  p.send(wire::text_msg{message});
  p.send(wire::file_init_msg{std::string(64, 'A'), 1 << 20, file_name});
  std::this_thread::sleep_for(std::chrono::milliseconds{300});  // FILEINIT handled before the goodbye
  p.send(wire::disconnect_msg{reason});
}

}  // namespace mk::test::hostile
