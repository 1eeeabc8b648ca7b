#include <doctest/doctest.h>

#include <botan/auto_rng.h>

#include "core/session/crypt_negotiation.hpp"
#include "core/wire/messages.hpp"

using mk::session::crypt_negotiation;

namespace {

struct pair_fixture {
  Botan::AutoSeeded_RNG rng;
  mk::crypto::identity alice = mk::crypto::identity::generate(rng);
  mk::crypto::identity bob = mk::crypto::identity::generate(rng);
  crypt_negotiation a{alice, bob.public_key()};
  crypt_negotiation b{bob, alice.public_key()};

  // Delivers one plaintext line to `to`, returning its output.
  crypt_negotiation::output deliver(crypt_negotiation& to, const std::string& line) {
    auto m = mk::wire::parse_line(line);
    REQUIRE(m.ok());
    if (auto* s = std::get_if<mk::wire::crypt_start_msg>(&*m))
      return to.on_crypt_start(*s, line, rng);
    if (auto* s = std::get_if<mk::wire::crypt_accept_msg>(&*m))
      return to.on_crypt_accept(*s, line);
    if (std::holds_alternative<mk::wire::crypt_ack_msg>(*m))
      return to.on_crypt_ack();
    if (std::holds_alternative<mk::wire::crypt_stop_msg>(*m))
      return to.on_crypt_stop();
    FAIL("unexpected line " << line);
    return {};
  }

  std::string round_trip(crypt_negotiation& from, crypt_negotiation& to, const std::string& text) {
    auto sealed = from.seal(text, rng);
    auto m = mk::wire::parse_line(sealed);
    REQUIRE(m.ok());
    bool switched = false;
    auto plain = to.open(std::get<mk::wire::crypt_msg>(*m), switched);
    REQUIRE(plain.ok());
    return *plain;
  }
};

}  // namespace

TEST_CASE("crypt negotiation: one side initiates; both end with one key") {
  pair_fixture f;
  auto s = f.a.start(f.rng);
  REQUIRE(s.plaintext_lines.size() == 1);
  CHECK(s.plaintext_lines[0].rfind("CRYPTSTART MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQ", 0) == 0);
  auto acc = f.deliver(f.b, s.plaintext_lines[0]);
  REQUIRE(acc.plaintext_lines.size() == 1);
  CHECK(f.b.key_valid());
  CHECK_FALSE(f.b.encrypting());
  auto ack = f.deliver(f.a, acc.plaintext_lines[0]);
  REQUIRE(ack.plaintext_lines == std::vector<std::string>{"CRYPTACK"});
  CHECK(ack.encryption_changed == true);
  CHECK(f.a.encrypting());
  auto on = f.deliver(f.b, "CRYPTACK");
  CHECK(on.encryption_changed == true);
  CHECK(f.round_trip(f.a, f.b, "MSG hi\\ there") == "MSG hi\\ there");
  CHECK(f.round_trip(f.b, f.a, "PING 7") == "PING 7");
}

TEST_CASE("crypt negotiation: both sides initiate at once (PROTOCOL 11) and agree") {
  pair_fixture f;
  auto sa = f.a.start(f.rng);
  auto sb = f.b.start(f.rng);
  auto accept_from_b = f.deliver(f.b, sa.plaintext_lines[0]);
  auto accept_from_a = f.deliver(f.a, sb.plaintext_lines[0]);
  auto ack_a = f.deliver(f.a, accept_from_b.plaintext_lines[0]);
  auto ack_b = f.deliver(f.b, accept_from_a.plaintext_lines[0]);
  CHECK(f.a.encrypting());
  CHECK(f.b.encrypting());
  f.deliver(f.a, ack_b.plaintext_lines[0]);
  f.deliver(f.b, ack_a.plaintext_lines[0]);
  CHECK(f.round_trip(f.a, f.b, "MSG both") == "MSG both");
  CHECK(f.round_trip(f.b, f.a, "MSG back") == "MSG back");
}

TEST_CASE("crypt negotiation: a lost first CRYPTACK does not deadlock (PROTOCOL 14)") {
  pair_fixture f;
  auto s = f.a.start(f.rng);
  auto acc = f.deliver(f.b, s.plaintext_lines[0]);
  f.deliver(f.a, acc.plaintext_lines[0]);  // a sends CRYPTACK: lost
  REQUIRE(f.a.encrypting());
  // b resends CRYPTACCEPT; a answers with a PLAINTEXT CRYPTACK
  auto resend = f.b.on_resend_tick();
  REQUIRE(resend.plaintext_lines.size() == 1);
  auto again = f.deliver(f.a, resend.plaintext_lines[0]);
  REQUIRE(again.plaintext_lines == std::vector<std::string>{"CRYPTACK"});
  // and even without it, an authentic C switches b on
  auto sealed = f.a.seal("MSG early", f.rng);
  bool switched = false;
  auto plain = f.b.open(std::get<mk::wire::crypt_msg>(*mk::wire::parse_line(sealed)), switched);
  REQUIRE(plain.ok());
  CHECK(switched);
  CHECK(f.b.encrypting());
}

TEST_CASE("crypt negotiation: forged tag, bad signature and stop") {
  pair_fixture f;
  auto s = f.a.start(f.rng);
  auto acc = f.deliver(f.b, s.plaintext_lines[0]);
  f.deliver(f.a, acc.plaintext_lines[0]);
  f.deliver(f.b, "CRYPTACK");
  auto sealed = f.a.seal("MSG x", f.rng);
  auto c = std::get<mk::wire::crypt_msg>(*mk::wire::parse_line(sealed));
  c.tag[0] ^= 1;
  bool switched = false;
  auto bad = f.b.open(c, switched);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == mk::errc::auth_failed);

  // a CRYPTSTART signed by someone else runs stop
  Botan::AutoSeeded_RNG rng;
  auto mallory = mk::crypto::identity::generate(rng);
  crypt_negotiation m{mallory, f.alice.public_key()};
  auto forged = m.start(rng);
  auto out = f.deliver(f.b, forged.plaintext_lines[0]);
  CHECK_FALSE(out.problem.empty());
  CHECK(out.plaintext_lines == std::vector<std::string>{"CRYPTSTOP"});
  CHECK_FALSE(f.b.key_valid());  // §14 FIX: stop invalidates the key
  CHECK(out.encryption_changed == false);
}

TEST_CASE("crypt negotiation: stop then restart works again (original crashes here)") {
  pair_fixture f;
  for (int round = 0; round < 3; ++round) {
    auto s = f.a.start(f.rng);
    REQUIRE(s.plaintext_lines.size() == 1);
    auto acc = f.deliver(f.b, s.plaintext_lines[0]);
    f.deliver(f.a, acc.plaintext_lines[0]);
    f.deliver(f.b, "CRYPTACK");
    CHECK(f.round_trip(f.a, f.b, "MSG r") == "MSG r");
    auto stop = f.a.stop();
    CHECK(stop.plaintext_lines == std::vector<std::string>{"CRYPTSTOP"});
    f.deliver(f.b, "CRYPTSTOP");
    CHECK_FALSE(f.a.encrypting());
    CHECK_FALSE(f.b.encrypting());
    CHECK_FALSE(f.b.key_valid());
  }
}

TEST_CASE("crypt negotiation: IVs never repeat under a key (a counter from a random start), and restart per key") {
  pair_fixture f;
  auto establish = [&] {
    auto s = f.a.start(f.rng);
    auto acc = f.deliver(f.b, s.plaintext_lines[0]);
    f.deliver(f.a, acc.plaintext_lines[0]);
    f.deliver(f.b, "CRYPTACK");
  };
  auto iv_of = [&](const std::string& sealed) {
    auto iv = std::get<mk::wire::crypt_msg>(*mk::wire::parse_line(sealed)).iv;
    std::uint64_t v = 0;
    for (auto b : iv)
      v = (v << 8) | b;
    return v;
  };
  establish();
  std::uint64_t first = iv_of(f.a.seal("MSG 1", f.rng));
  for (std::uint64_t i = 1; i < 1000; ++i)
    CHECK(iv_of(f.a.seal("MSG n", f.rng)) == first + i);
  CHECK(f.round_trip(f.a, f.b, "MSG still opens") == "MSG still opens");
  // A new key draws a new random start (two 64-bit draws coincide with probability 2^-64).
  f.a.stop();
  f.b.on_crypt_stop();
  establish();
  CHECK(iv_of(f.a.seal("MSG 1", f.rng)) != first + 1001);
}
