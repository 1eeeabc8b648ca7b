// Issue 16: every --json line of the real binary is an object of a documented type whose members have the types
// docs/json.md gives (the schema is read from the document itself, so a member added without documentation fails),
// and one run produces every documented type.

#include <doctest/doctest.h>

#include <set>

#include "cli/json_schema.hpp"
#include "cli/process.hpp"

using namespace mk::test;

namespace {

std::string doc_path() { return std::string{MK_TEST_DATA_DIR} + "/../../docs/json.md"; }

// Checks every line of `p` against the document; adds the types seen to `seen`.
void validate_all(const json_doc& doc, const child_process& p, std::set<std::string>& seen, const char* who) {
  for (auto& line : p.lines()) {
    std::string type;
    auto problems = validate_line(doc, line, type);
    if (!type.empty())
      seen.insert(type);
    for (auto& problem : problems)
      FAIL_CHECK((std::string{who} + ": " + problem + "\n  in " + line));
  }
}

std::string audio_and_prompts(std::string_view user) {
  return "[network]\nusername = \"" + std::string{user} +
         "\"\n[network.connection]\ndefault_action = \"prompt\"\n"
         "[network.file]\ndefault_action = \"prompt\"\n"
         "[network.audio]\ndefault_action = \"prompt\"\ninput = \"silence\"\noutput = \"null\"\n";
}

// Waits for bob's next question from `from` on and answers yes.
void answer_yes(child_process& bob, std::string_view kind, std::size_t& from) {
  auto q = bob.wait_for("\"kind\":\"" + std::string{kind} + "\"", 15s, from);
  REQUIRE_MESSAGE(q, bob.transcript());
  bob.write_line("y");
  from = *q + 1;
}

}  // namespace

TEST_CASE("json: docs/json.md is a well-formed schema and each of its examples validates against it") {
  auto doc = read_json_doc(doc_path());
  for (auto& p : doc.problems)
    FAIL_CHECK(p);
  CHECK(doc.types.size() >= 20);
  for (auto& [type, schema] : doc.types) {
    CHECK_MESSAGE(schema.count("type") == 1, type);
    CHECK_MESSAGE(schema.count("time") == 1, type);
    auto ex = doc.examples.find(type);
    REQUIRE_MESSAGE((ex != doc.examples.end() && !ex->second.empty()), ("no example for " + type));
    for (auto& line : ex->second) {
      std::string seen;
      auto problems = validate_line(doc, line, seen);
      CHECK_MESSAGE(seen == type, line);
      for (auto& problem : problems)
        FAIL_CHECK((type + " example: " + problem + "\n  in " + line));
    }
  }
}

TEST_CASE("json: the real binary's answers and events match docs/json.md and every documented type occurs") {
  auto doc = read_json_doc(doc_path());
  REQUIRE(doc.problems.empty());

  node_process bob{audio_and_prompts("bob"), {"--json"}};
  node_process alice{config_for("alice", "accept",
                                "[network.audio]\ninput = \"silence\"\noutput = \"null\"\n"),
                     {"--json", "--debug"}};
  node_process carol{config_for("carol")};
  REQUIRE(alice->saw("\"type\":\"listening\""));
  REQUIRE(bob->saw("\"type\":\"listening\""));
  REQUIRE(carol->saw("Listening on UDP port"));

  // Answers that need no peer.
  alice->write_line("help");
  alice->write_line("help nosuch");
  alice->write_line("frobnicate");
  alice->write_line("user list");
  alice->write_line("user info nobody");
  alice->write_line("file list");
  alice->write_line("stats");
  alice->write_line("voice devices");
  REQUIRE_MESSAGE(alice->saw("\"type\":\"stats\""), alice->transcript());

  // A connection bob is asked about: prompt, prompt_closed, connected, encryption, info (the pinned key).
  std::size_t asked = 0;
  alice->write_line("connect hostname " + bob.address());
  answer_yes(*bob.proc, "connect", asked);
  REQUIRE_MESSAGE(alice->saw("\"type\":\"encryption\""), alice->transcript());
  REQUIRE_MESSAGE(bob->saw("\"type\":\"encryption\""), bob->transcript());

  alice->write_line("msg bob hello \"there\"");
  REQUIRE_MESSAGE(bob->saw("\"type\":\"message\""), bob->transcript());
  alice->write_line("user list");
  alice->write_line("user info bob");
  alice->write_line("key list");
  REQUIRE_MESSAGE(alice->saw("\"type\":\"key_list\""), alice->transcript());
  alice->write_line("key show nobody");
  alice->write_line("key show bob");
  {
    // key show: bob's key as members, its fingerprint the one bob announced at start.
    auto bob_at = alice->wait_for("\"user\":\"bob\",\"known\":", 10s);
    auto nobody_at = alice->wait_for("\"user\":\"nobody\",\"known\":", 10s);
    auto listening_at = bob->wait_for("\"type\":\"listening\"", 0ms);
    REQUIRE_MESSAGE((bob_at && nobody_at && listening_at), alice->transcript());
    auto bob_key = json_parser::parse(alice->lines()[*bob_at]);
    auto nobody = json_parser::parse(alice->lines()[*nobody_at]);
    auto listening = json_parser::parse(bob->lines()[*listening_at]);
    REQUIRE((bob_key && nobody && listening));
    CHECK(nobody->get("known")->k == json_value::kind::boolean);
    CHECK_FALSE(nobody->get("known")->b);
    CHECK(nobody->get("key")->str.empty());
    CHECK(bob_key->get("known")->b);
    CHECK_FALSE(bob_key->get("blacklisted")->b);
    CHECK(bob_key->get("key")->str.size() == 212);
    CHECK(bob_key->get("fingerprint")->str == listening->get("fingerprint")->str);
  }

  // A file bob accepts: transfer events on both sides, then the list of transfers.
  auto file = alice.home.path() / "payload.bin";
  write_all(file, std::string(300000, 'x'));
  alice->write_line("file send bob " + file.string());
  answer_yes(*bob.proc, "file", asked);
  REQUIRE_MESSAGE(alice->saw("\"state\":\"done\""), alice->transcript());
  REQUIRE_MESSAGE(bob->saw("\"state\":\"done\""), bob->transcript());
  alice->write_line("file list");
  REQUIRE_MESSAGE(alice->saw("\"type\":\"file_list\",\"time\":", 10s), alice->transcript());

  // A call bob accepts, then ends.
  alice->write_line("voice start bob");
  answer_yes(*bob.proc, "call", asked);
  REQUIRE_MESSAGE(alice->saw("\"state\":\"started\""), alice->transcript() << "\n--- bob\n" << bob->transcript());
  alice->write_line("voice stop");
  REQUIRE_MESSAGE(alice->saw("\"state\":\"ended\""), alice->transcript());

  // carol presents another key than the one alice pinned for her (bob's): key_changed.
  auto bob_key_line = alice->wait_for("\"user\":\"bob\",\"key\":\"", 0ms);
  REQUIRE(bob_key_line);
  auto& kl = alice->lines()[*bob_key_line];
  auto at = kl.find("\"user\":\"bob\",\"key\":\"") + 20;
  alice->write_line("key add carol " + kl.substr(at, kl.find('"', at) - at));
  alice->write_line("connect hostname " + carol.address());
  REQUIRE_MESSAGE(alice->saw("\"type\":\"key_changed\""), alice->transcript());

  alice->write_line("disconnect bob");
  REQUIRE_MESSAGE(bob->saw("\"type\":\"disconnected\""), bob->transcript());
  alice->write_line("exit");
  CHECK(alice->wait_exit(10s) == 0);
  bob->write_line("exit");
  CHECK(bob->wait_exit(10s) == 0);

  std::set<std::string> seen;
  validate_all(doc, *alice.proc, seen, "alice");
  validate_all(doc, *bob.proc, seen, "bob");
  for (auto& [type, schema] : doc.types)
    CHECK_MESSAGE(seen.count(type) == 1, ("the run never produced a \"" + type + "\" line"));
}
