// PROTOCOL §3: known_users.toml, the TOFU pinning store, in the original's format.

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "core/config/known_users.hpp"
#include "core/config/temp_dir.hpp"
#include "core/limits.hpp"

using namespace mk::config;
using mk::test::read_all;
using mk::test::temp_dir;
using mk::test::write_all;

namespace {

std::filesystem::path interop(const char* rel) { return std::filesystem::path{MK_TEST_DATA_DIR} / "interop" / rel; }

constexpr std::string_view spki_prefix = "MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQ";  // §2

}  // namespace

TEST_CASE("known_users: the original's files load (alice and bob pinned each other)") {
  auto alice = known_users::load(interop("direct/alice/known_users.toml"));
  auto bob = known_users::load(interop("direct/bob/known_users.toml"));
  REQUIRE_MESSAGE(alice.ok(), alice.error().message);
  REQUIRE_MESSAGE(bob.ok(), bob.error().message);

  CHECK(alice->size() == 2);
  CHECK(bob->size() == 2);
  auto bob_key = bob->key_of("loopback");  // own key stored as loopback
  auto alice_key = alice->key_of("loopback");
  REQUIRE(bob_key);
  REQUIRE(alice_key);
  CHECK(bob_key->size() == 212);
  CHECK(bob_key->starts_with(spki_prefix));
  CHECK(alice_key->size() == 212);
  CHECK(alice_key->starts_with(spki_prefix));
  CHECK(*alice_key != *bob_key);
  CHECK(alice->key_of("bob") == bob_key);
  CHECK(bob->key_of("alice") == alice_key);
  CHECK_FALSE(bob->is_blacklisted("alice"));
  CHECK_FALSE(bob->contains("carol"));
  CHECK_FALSE(bob->key_of("carol").has_value());

  auto e = bob->entries();
  REQUIRE(e.size() == 2);
  CHECK(e[0].first == "alice");
  CHECK(e[1].first == "loopback");
}

TEST_CASE("known_users: serialize reproduces the original's layout") {
  for (const char* who : {"direct/alice/known_users.toml", "direct/bob/known_users.toml"}) {
    CAPTURE(who);
    auto original = read_all(interop(who));
    auto store = known_users::load(interop(who));
    REQUIRE(store.ok());
    // Byte for byte, except that our file ends with a newline (the original's writer leaves it off).
    CHECK(store->serialize() == original + "\n");
    auto again = known_users::parse(store->serialize(), "x");
    REQUIRE(again.ok());
    CHECK(*again == *store);
  }
  CHECK(known_users{}.serialize().empty());
}

TEST_CASE("known_users: TOFU pin never overwrites, set and erase do") {
  known_users k;
  CHECK(k.empty());
  CHECK(k.pin("alice", "KEY1"));
  CHECK_FALSE(k.pin("alice", "KEY2"));
  CHECK(k.key_of("alice") == "KEY1");

  // Blacklisting is an explicit set to "" (§3), and a blacklisted name cannot be re-pinned.
  CHECK(k.set("alice", ""));
  CHECK(k.contains("alice"));
  CHECK(k.is_blacklisted("alice"));
  CHECK(k.key_of("alice") == "");
  CHECK_FALSE(k.pin("alice", "KEY3"));
  CHECK(k.is_blacklisted("alice"));
  CHECK_FALSE(k.is_blacklisted("nobody"));

  CHECK(k.erase("alice"));
  CHECK_FALSE(k.erase("alice"));
  CHECK_FALSE(k.contains("alice"));
  CHECK(k.pin("alice", "KEY4"));
  CHECK(k.key_of("alice") == "KEY4");

  CHECK(k.set("loopback", "OWN"));
  CHECK(k.set("loopback", "OWN2"));
  CHECK(k.key_of("loopback") == "OWN2");
  CHECK(k.size() == 2);

  // A blacklist entry survives the file round trip.
  k.set("mallory", "");
  auto again = known_users::parse(k.serialize(), "x");
  REQUIRE(again.ok());
  CHECK(again->is_blacklisted("mallory"));
  CHECK(k.serialize().find("[mallory]\nkey = ''\n") != std::string::npos);
}

TEST_CASE("known_users: awkward names and keys round-trip") {
  known_users k;
  const std::string names[] = {
      "bob smith", "a.b.c", "\"quoted\"", "it's", "back\\slash", "ünïcødé 名前 🎧", "[table]", "# hash", "=",
      "", "tab\there", "new\nline", "bell\x07", "del\x7f", "-_AZaz09", "key",
  };
  std::size_t i = 0;
  for (const auto& n : names)
    REQUIRE_MESSAGE(k.pin(n, fmt::format("K{}", i++)), n);
  CHECK(k.set("quote in key", "a'b\"c\\d"));
  CHECK(k.set("ctrl in key", "a\x01z"));

  auto text = k.serialize();
  auto again = known_users::parse(text, "known_users.toml");
  REQUIRE_MESSAGE(again.ok(), again.error().message, "\n", text);
  CHECK(*again == k);
  CHECK(again->key_of("\"quoted\"") == "K2");
  CHECK(again->key_of("quote in key") == "a'b\"c\\d");
  CHECK(again->key_of("ctrl in key") == "a\x01z");
  // Bare names stay bare, others are quoted.
  CHECK(text.find("[-_AZaz09]\n") != std::string::npos);
  CHECK(text.find("[\"bob smith\"]\n") != std::string::npos);
  CHECK(text.find("[\"a.b.c\"]\n") != std::string::npos);
  CHECK(text.find("[\"\\\"quoted\\\"\"]\n") != std::string::npos);

  auto e = k.entries();
  CHECK(std::is_sorted(e.begin(), e.end()));
}

TEST_CASE("known_users: bytes TOML cannot hold are refused, not written") {
  known_users k;
  CHECK_FALSE(known_users::storable("bad\xff", "K"));
  CHECK_FALSE(known_users::storable("ok", "\xc0\x80"));  // overlong NUL
  CHECK_FALSE(known_users::storable("\xed\xa0\x80", "K"));  // surrogate
  CHECK(known_users::storable("ok", "K"));
  CHECK_FALSE(k.pin("bad\xff", "K"));
  CHECK_FALSE(k.set("bad\xe2\x82", "K"));  // truncated sequence
  CHECK(k.empty());
}

TEST_CASE("known_users: a missing file is an empty store") {
  temp_dir dir;
  auto r = known_users::load(dir / "known_users.toml");
  REQUIRE(r.ok());
  CHECK(r->empty());
  CHECK(dir.entry_count() == 0);
}

TEST_CASE("known_users: an unparsable file is an error and stays byte-identical (§14)") {
  temp_dir dir;
  auto file = dir / "known_users.toml";
  const std::string cases[] = {
      "[alice]\nkey = 'abc'\n\n[bob\nkey = 'x'\n",  // syntax
      "[alice]\nkey = 'abc'\n[alice]\nkey = 'x'\n",  // redefinition
      "alice = 'abc'\n",                             // not a table
      "[alice]\nkee = 'abc'\n",                      // no key
      "[alice]\n\nkey = 5\n",                        // key not a string
      std::string{"[alice]\nkey = 'a\xff'\n"},       // invalid UTF-8
  };
  const char* expected[] = {
      ":4:",
      ":3:",
      ":1: alice: expected a table, got a string",
      ":1: alice.key: missing",
      ":3: alice.key: expected a string, got an integer",
      ":2:",
  };
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    CAPTURE(cases[i]);
    write_all(file, cases[i]);
    auto r = known_users::load(file);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == mk::errc::config_error);
    CHECK(r.error().message.starts_with(file.string() + expected[i]));
    CHECK(read_all(file) == cases[i]);
    CHECK(dir.entry_count() == 1);
  }
}

TEST_CASE("known_users: extra keys inside a user's table are ignored") {
  auto r = known_users::parse("[alice]\nkey = 'A'\nnote = 'met at FOSDEM'\n", "x");
  REQUIRE(r.ok());
  CHECK(r->key_of("alice") == "A");
}

TEST_CASE("known_users: save is atomic and reloads equal") {
  temp_dir dir;
  auto file = dir / "known_users.toml";
  auto k = known_users::load(interop("direct/bob/known_users.toml"));
  REQUIRE(k.ok());
  REQUIRE(k->save(file).ok());
  CHECK(dir.entry_count() == 1);  // no temp file left
  CHECK(read_all(file) == k->serialize());
  auto back = known_users::load(file);
  REQUIRE(back.ok());
  CHECK(*back == *k);

  // Rewrite whole on change (§3).
  k->set("carol smith", "");
  k->erase("alice");
  REQUIRE(k->save(file).ok());
  CHECK(dir.entry_count() == 1);
  back = known_users::load(file);
  REQUIRE(back.ok());
  CHECK(*back == *k);
  CHECK_FALSE(back->contains("alice"));
  CHECK(back->is_blacklisted("carol smith"));

  // Saving into a missing directory creates it.
  REQUIRE(k->save(dir / "deeper" / "known_users.toml").ok());
  CHECK(known_users::load(dir / "deeper" / "known_users.toml").value() == *k);
}

TEST_CASE("known_users: trust on first use stops at the bound, explicit pins and the existing ones still work") {
  known_users k;
  for (std::size_t i = 0; i < mk::limits::max_pinned_keys; ++i)
    REQUIRE(k.pin(fmt::format("user{}", i), "KEY"));
  CHECK(k.size() == mk::limits::max_pinned_keys);
  CHECK_FALSE(k.pin("one-too-many", "KEY"));  // a flood of strangers cannot grow the store further
  CHECK_FALSE(k.contains("one-too-many"));
  CHECK(k.key_of("user0") == std::optional<std::string>{"KEY"});
  CHECK(k.set("chosen", "KEY2"));  // `key add` / blacklisting: the user's own decision
  CHECK(k.erase("user1"));
  CHECK_FALSE(k.pin("again", "KEY"));  // still at the bound (chosen took the freed entry)
  CHECK(k.erase("user2"));
  CHECK(k.pin("again", "KEY"));
}

TEST_CASE("known_users: a pin remembers that its peer speaks the envelope, and a new key forgets it") {
  known_users s;
  CHECK_FALSE(s.mark_envelope("alice", "A"));  // not pinned
  REQUIRE(s.pin("alice", "A"));
  CHECK_FALSE(s.speaks_envelope("alice"));
  CHECK_FALSE(s.mark_envelope("alice", "B"));  // another key than the pin: someone else
  CHECK(s.mark_envelope("alice", "A"));
  CHECK_FALSE(s.mark_envelope("alice", "A"));  // already marked: no rewrite
  CHECK(s.speaks_envelope("alice"));
  CHECK(s.serialize() == "[alice]\nkey = 'A'\nenvelope = true\n");
  auto back = known_users::parse(s.serialize(), "x");
  REQUIRE(back.ok());
  CHECK(*back == s);
  CHECK(back->speaks_envelope("alice"));
  REQUIRE(s.set("alice", "A"));  // the same key again keeps the mark
  CHECK(s.speaks_envelope("alice"));
  REQUIRE(s.set("alice", "C"));  // a new key is a new peer as far as we know
  CHECK_FALSE(s.speaks_envelope("alice"));
  REQUIRE(s.set("mallory", ""));  // blacklisted entries never carry the mark
  CHECK_FALSE(s.mark_envelope("mallory", ""));
  auto blacklisted = known_users::parse("[m]\nkey = ''\nenvelope = true\n", "x");
  REQUIRE(blacklisted.ok());
  CHECK_FALSE(blacklisted->speaks_envelope("m"));
}

TEST_CASE("known_users: an envelope mark that is not a boolean names the file, line and key") {
  auto r = known_users::parse("[alice]\nkey = 'A'\nenvelope = 'yes'\n", "known.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("known.toml") != std::string::npos);
  CHECK(r.error().message.find(":3") != std::string::npos);
  CHECK(r.error().message.find("alice.envelope") != std::string::npos);
}
