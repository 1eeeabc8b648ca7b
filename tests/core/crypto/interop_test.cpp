// The original program's captures (tests/data/interop) are the truth: every signature in them must verify
// with our code, and its key files must load to the keys it announced.

#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include <botan/auto_rng.h>

#include "core/crypto/file_hash.hpp"
#include "core/crypto/identity.hpp"
#include "core/crypto/public_key.hpp"
#include "core/wire/base64.hpp"
#include "core/wire/signed_line.hpp"
#include "core/wire/tokens.hpp"
#include "test_support.hpp"

namespace {

using mk::crypto::public_key;
using mk::test::logged_line;

struct capture {
  std::string scenario;  // keys differ between the two recordings: names are only unique within one
  std::string rel;       // log path under tests/data/interop
  std::string node;      // who wrote the log
};

const std::vector<capture> captures = {
    {"direct", "direct/alice/session.log", "alice"}, {"direct", "direct/bob/session.log", "bob"},
    {"indirect", "indirect/alice.log", "alice"},     {"indirect", "indirect/carol.log", "carol"},
    {"indirect", "indirect/server.log", "server"},
};

// Signed messages and the token index of the key they carry (-1: none). PROTOCOL §4.
const std::map<std::string, int> signed_kinds = {{"CONNECT", 3},  {"HANDSHAKE", 4},   {"CONNECTED", -1},
                                                 {"KEY", -1},     {"REQUESTED", -1},  {"CRYPTSTART", -1},
                                                 {"CRYPTACCEPT", -1}};

using key_map = std::map<std::string, std::map<std::string, std::string>>;  // scenario -> user -> pubkey

// Who holds which key: the pubkey in each CONNECT/HANDSHAKE (claimed by its user token), and the pins in the
// direct scenario's known_users.toml files.
key_map collect_keys() {
  key_map keys;
  for (const auto& c : captures)
    for (const auto& l : mk::test::read_interop_log(c.rel)) {
      auto t = mk::wire::split_tokens(l.line);
      if (t.size() == 5 && t[0] == "CONNECT")
        keys[c.scenario][t[1]] = t[3];
      if (t.size() == 6 && t[0] == "HANDSHAKE")
        keys[c.scenario][t[1]] = t[4];
    }
  for (const auto& [self, other] : {std::pair{"alice", "bob"}, std::pair{"bob", "alice"}}) {
    auto pins = mk::test::read_known_users(std::string{"direct/"} + self + "/known_users.toml");
    REQUIRE(pins.count("loopback") == 1);
    REQUIRE(pins.count(other) == 1);
    for (const auto& [user, key] : {std::pair{std::string{self}, pins["loopback"]}, std::pair{std::string{other}, pins[other]}}) {
      auto [it, fresh] = keys["direct"].emplace(user, key);
      CHECK(it->second == key);  // pins agree with what the log announced
    }
  }
  return keys;
}

// The sender of a line: the log's node for sent lines; for received ones the peer, where an ip:port is named
// by the user of the CONNECT/HANDSHAKE that came from it.
std::string sender_of(const capture& c, const logged_line& l, std::map<std::string, std::string>& endpoint_user) {
  if (l.sent)
    return c.node;
  auto t = mk::wire::split_tokens(l.line);
  if (!t.empty() && (t[0] == "CONNECT" || t[0] == "HANDSHAKE") && t.size() > 1)
    endpoint_user[l.peer] = t[1];
  auto it = endpoint_user.find(l.peer);
  return it != endpoint_user.end() ? it->second : l.peer;
}

}  // namespace

TEST_CASE("interop: every signed line in the captures verifies with its sender's key and fails when tampered") {
  const auto keys = collect_keys();
  std::map<std::string, int> verified;  // keyword -> count
  std::set<std::string> distinct_signers;
  for (const auto& c : captures) {
    std::map<std::string, std::string> endpoint_user;
    for (const auto& l : mk::test::read_interop_log(c.rel)) {
      const std::string sender = sender_of(c, l, endpoint_user);
      auto t = mk::wire::split_tokens(l.line);
      if (t.empty() || signed_kinds.count(t[0]) == 0)
        continue;
      INFO(c.rel, ": ", l.line);
      REQUIRE(keys.at(c.scenario).count(sender) == 1);
      const std::string& key_b64 = keys.at(c.scenario).at(sender);
      if (int idx = signed_kinds.at(t[0]); idx >= 0) {
        REQUIRE(static_cast<int>(t.size()) > idx);
        CHECK(t[static_cast<std::size_t>(idx)] == key_b64);  // the announced key is the sender's own
      }
      auto key = public_key::from_base64(key_b64);
      REQUIRE(key.ok());
      auto parts = mk::wire::split_signed(l.line);
      REQUIRE(parts.has_value());
      const std::string text{parts->text};
      const std::string sig{parts->signature};
      CHECK(sig.size() >= 184);  // §2: DER signatures are 184-188 chars in base64
      CHECK(sig.size() <= 188);
      CHECK(key->verify(text, sig));

      // One flipped byte of the text, at its start, middle and end.
      for (std::size_t pos : {std::size_t{0}, text.size() / 2, text.size() - 1}) {
        std::string bad = text;
        bad[pos] ^= 0x01;
        CHECK_FALSE(key->verify(bad, sig));
      }
      // One changed signature character (inside r or s, not the DER header).
      for (std::size_t pos : {std::size_t{20}, sig.size() / 2, sig.size() - 6})
        CHECK_FALSE(key->verify(text, mk::test::flip_b64_char(sig, pos)));
      // Another user's key must not verify it either.
      for (const auto& [user, other] : keys.at(c.scenario))
        if (other != key_b64)
          CHECK_FALSE(public_key::from_base64(other)->verify(text, sig));

      ++verified[t[0]];
      distinct_signers.insert(c.scenario + "/" + sender);
    }
  }
  for (const auto& [kw, n] : verified)
    MESSAGE(kw, ": ", n, " verified");
  // What the captures hold (see tests/data/interop): 18 signed lines, REQUESTED never (the original is broken, §7).
  CHECK(verified["CONNECT"] >= 3);
  CHECK(verified["HANDSHAKE"] >= 3);
  CHECK(verified["CONNECTED"] >= 6);
  CHECK(verified["KEY"] >= 2);
  CHECK(verified["CRYPTSTART"] >= 2);
  CHECK(verified["CRYPTACCEPT"] >= 2);
  int total = 0;
  for (const auto& [kw, n] : verified)
    total += n;
  CHECK(total >= 18);
  CHECK(distinct_signers.size() >= 5);  // direct alice, bob; indirect alice, carol, server
}

TEST_CASE("interop: both private.pem files load to the keys pinned as [loopback] and announced in the logs") {
  const auto keys = collect_keys();
  for (const std::string user : {"alice", "bob"}) {
    INFO(user);
    auto id = mk::crypto::identity::load(mk::test::interop_path("direct/" + user + "/private.pem"));
    REQUIRE_MESSAGE(id.ok(), (id.ok() ? "" : id.error().message));
    auto pins = mk::test::read_known_users("direct/" + user + "/known_users.toml");
    CHECK(id->public_key().base64() == pins["loopback"]);
    CHECK(id->public_key().base64() == keys.at("direct").at(user));
    CHECK(id->public_key().base64().size() == 212);
  }
  // The other side pinned the same keys (TOFU, §3).
  CHECK(mk::test::read_known_users("direct/alice/known_users.toml")["bob"] ==
        mk::test::read_known_users("direct/bob/known_users.toml")["loopback"]);
  CHECK(mk::test::read_known_users("direct/bob/known_users.toml")["alice"] ==
        mk::test::read_known_users("direct/alice/known_users.toml")["loopback"]);
}

TEST_CASE("interop: our signatures over a logged line verify with the loaded original key") {
  Botan::AutoSeeded_RNG rng;
  auto id = mk::crypto::identity::load(mk::test::interop_path("direct/alice/private.pem"));
  REQUIRE(id.ok());
  const std::string text = "CRYPTSTART " + id->public_key().base64();
  auto sig = id->sign(text, rng);
  auto pinned = public_key::from_base64(mk::test::read_known_users("direct/bob/known_users.toml")["alice"]);
  REQUIRE(pinned.ok());
  CHECK(pinned->verify(text, sig));
}

TEST_CASE("interop: the FILEINIT hash in the logs is hash_file(note.txt)") {
  std::string logged_hash, logged_size;
  for (const auto& l : mk::test::read_interop_log("direct/alice/session.log")) {
    auto t = mk::wire::split_tokens(l.line);
    if (l.sent && t.size() == 4 && t[0] == "FILEINIT") {
      logged_hash = t[1];
      logged_size = t[2];
    }
  }
  REQUIRE(logged_hash.size() == 64);
  const auto note = mk::test::interop_path("direct/alice/note.txt");
  auto h = mk::crypto::hash_file(note);
  REQUIRE(h.ok());
  CHECK(*h == logged_hash);
  CHECK(std::to_string(std::filesystem::file_size(note)) == logged_size);
}

TEST_CASE("interop: the logged C envelopes have the shape session_cipher expects (8-byte IV and 16-byte tag)") {
  // The keys were ephemeral, so the contents cannot be checked; bob's log shows the plaintexts in order.
  std::vector<std::string> plaintexts;
  for (const auto& l : mk::test::read_interop_log("direct/bob/session.log"))
    if (!l.sent && l.peer == "alice" && (l.line.rfind("MSG ", 0) == 0 || l.line.rfind("DISCONNECT", 0) == 0))
      plaintexts.push_back(l.line);
  std::vector<std::vector<std::string>> envelopes;
  for (const auto& l : mk::test::read_interop_log("direct/alice/session.log"))
    if (l.sent && l.line.rfind("C ", 0) == 0)
      envelopes.push_back(mk::wire::split_tokens(l.line));
  REQUIRE(envelopes.size() == 2);
  REQUIRE(plaintexts.size() == 3);  // the first MSG went out before encryption started
  for (std::size_t i = 0; i < envelopes.size(); ++i) {
    const auto& e = envelopes[i];
    REQUIRE(e.size() == 4);
    auto ct = mk::wire::base64_decode(e[1]);
    auto iv = mk::wire::base64_decode(e[2]);
    auto tag = mk::wire::base64_decode(e[3]);
    REQUIRE((ct.ok() && iv.ok() && tag.ok()));
    CHECK(iv->size() == 8);
    CHECK(tag->size() == 16);
    CHECK(ct->size() == plaintexts[i + 1].size());  // §11: GCM ciphertext has the plaintext's length
  }
}
