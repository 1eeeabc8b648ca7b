#include <doctest/doctest.h>

#include <botan/auto_rng.h>

#include "core/crypto/secure_channel.hpp"
#include "core/session/crypt_negotiation.hpp"
#include "core/wire/datagram.hpp"
#include "core/wire/messages.hpp"
#include "core/wire/record.hpp"

using mk::session::crypt_negotiation;
using refusal = crypt_negotiation::refusal;

namespace {

struct pair_fixture {
  Botan::AutoSeeded_RNG rng;
  mk::crypto::identity alice = mk::crypto::identity::generate(rng);
  mk::crypto::identity bob = mk::crypto::identity::generate(rng);
  crypt_negotiation a{alice, bob.public_key()};
  crypt_negotiation b{bob, alice.public_key()};

  // Delivers one CRYPT line to `to`, returning its output. `sealed`: it arrived inside C or an envelope.
  crypt_negotiation::output deliver(crypt_negotiation& to, const std::string& line, bool sealed = false) {
    auto m = mk::wire::parse_line(line);
    REQUIRE(m.ok());
    if (auto* s = std::get_if<mk::wire::crypt_start_msg>(&*m))
      return to.on_crypt_start(*s, line, sealed, rng);
    if (auto* s = std::get_if<mk::wire::crypt_accept_msg>(&*m))
      return to.on_crypt_accept(*s, line, sealed);
    if (std::holds_alternative<mk::wire::crypt_ack_msg>(*m))
      return to.on_crypt_ack(sealed);
    if (std::holds_alternative<mk::wire::crypt_stop_msg>(*m))
      return to.on_crypt_stop(sealed);
    FAIL("unexpected line " << line);
    return {};
  }

  // Opens a sealed datagram (legacy C or envelope) at `to`: its line, or the refusal.
  std::pair<refusal, std::string> open(crypt_negotiation& to, const std::string& datagram) {
    std::string out;
    if (mk::crypto::secure_channel::is_envelope(datagram)) {
      auto o = to.open_envelope(datagram, out);
      if (o.why != refusal::none)
        return {o.why, {}};
      auto m = mk::wire::parse_record(out);
      REQUIRE(m.ok());
      return {refusal::none, mk::wire::serialize(*m)};
    }
    auto line = mk::wire::line_of_datagram(
      {reinterpret_cast<const std::uint8_t*>(datagram.data()), datagram.size()});
    REQUIRE(line.ok());
    auto m = mk::wire::parse_line(*line);
    REQUIRE(m.ok());
    auto o = to.open(std::get<mk::wire::crypt_msg>(*m), out);
    return {o.why, out};
  }

  std::string round_trip(crypt_negotiation& from, crypt_negotiation& to, const std::string& text) {
    auto [why, line] = open(to, from.seal(text, rng));
    REQUIRE(why == refusal::none);
    return line;
  }

  void establish() {
    auto s = a.start(rng);
    REQUIRE(s.plaintext_lines.size() == 1);
    auto acc = deliver(b, s.plaintext_lines[0]);
    deliver(a, acc.plaintext_lines[0]);
    deliver(b, "CRYPTACK");
    REQUIRE(a.encrypting());
    REQUIRE(b.encrypting());
  }

  // Both ends are mokaccino nodes: the channel is bound to the handshake and each knows the other speaks env1.
  void bind_envelope() {
    mk::crypto::channel_transcript t{"alice", "bob", alice.public_key().base64(), bob.public_key().base64(),
                                     std::string(48, 'A'), std::string(48, 'B')};
    a.bind_transcript(true, t);
    b.bind_transcript(false, t);
    a.peer_speaks_envelope();
    b.peer_speaks_envelope();
  }
};

}  // namespace

TEST_CASE("crypt negotiation: one side initiates, both end with one key") {
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

// Both ends start right after connecting (encrypt_by_default), so their CRYPTSTARTs cross. §11 answers both, and
// each end then holds a key of its own answer before both move to a third: a DISCONNECT sent in that window was
// refused by the other end. One negotiation runs instead (the greater key wins), and a DISCONNECT sealed under the
// key an end holds opens at the other end at every step.
TEST_CASE("crypt negotiation: crossing CRYPTSTARTs run one negotiation, no end holds a key the other does not end with") {
  for (bool envelope : {false, true}) {
    bool seen[2] = {false, false};  // a won, b won: the keys are random, so loop until both orders came up
    for (int round = 0; round < 64 && !(seen[0] && seen[1]); ++round) {
      pair_fixture f;
      if (envelope)
        f.bind_envelope();
      auto sa = f.a.start(f.rng).plaintext_lines.at(0);
      auto sb = f.b.start(f.rng).plaintext_lines.at(0);
      auto at_b = f.deliver(f.b, sa);
      auto at_a = f.deliver(f.a, sb);
      REQUIRE(at_a.plaintext_lines.size() + at_b.plaintext_lines.size() == 1);  // exactly one end answers
      CHECK_FALSE((at_a.refused || at_b.refused));  // the losing CRYPTSTART is authentic: not counted as forged
      const bool a_wins = !at_b.plaintext_lines.empty();
      seen[a_wins ? 0 : 1] = true;
      auto& winner = a_wins ? f.a : f.b;
      auto& loser = a_wins ? f.b : f.a;
      const auto& win_start = a_wins ? sa : sb;
      const auto& lose_start = a_wins ? sb : sa;
      const auto accept = (a_wins ? at_b : at_a).plaintext_lines.at(0);
      CHECK_FALSE(winner.key_valid());  // it answered nothing: no key but the one it will end with
      CHECK(loser.key_valid());
      CHECK_FALSE(loser.seal_pending("DISCONNECT", f.rng) == std::nullopt);
      CHECK(winner.seal_pending("DISCONNECT", f.rng) == std::nullopt);  // no key: the caller sends plaintext
      // Retransmissions change nothing: the winner's CRYPTSTART gets the same answer, the loser's is ignored.
      CHECK(f.deliver(loser, win_start).plaintext_lines == std::vector<std::string>{accept});
      CHECK(f.deliver(winner, lose_start).plaintext_lines.empty());
      auto ack = f.deliver(winner, accept);
      REQUIRE(ack.plaintext_lines == std::vector<std::string>{"CRYPTACK"});
      REQUIRE(winner.encrypting());
      CHECK_FALSE(loser.encrypting());
      // The loser leaves before the CRYPTACK reached it: the winner already refuses plaintext from it, and opens
      // the DISCONNECT sealed under the key the loser holds.
      auto bye = loser.seal_pending("DISCONNECT", f.rng);
      REQUIRE(bye);
      auto opened = f.open(winner, *bye);
      CHECK(opened.first == refusal::none);
      CHECK(opened.second == "DISCONNECT");
      f.deliver(loser, ack.plaintext_lines[0]);
      CHECK(loser.encrypting());
      CHECK(f.round_trip(f.a, f.b, "MSG both") == "MSG both");
      CHECK(f.round_trip(f.b, f.a, "MSG back") == "MSG back");
    }
    CHECK(seen[0]);
    CHECK(seen[1]);
  }
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
  std::string out;
  auto sealed = f.a.seal("MSG early", f.rng);
  auto line = mk::wire::line_of_datagram({reinterpret_cast<const std::uint8_t*>(sealed.data()), sealed.size()});
  auto o = f.b.open(std::get<mk::wire::crypt_msg>(*mk::wire::parse_line(*line)), out);
  REQUIRE(o.why == refusal::none);
  CHECK(o.switched_on);
  CHECK(out == "MSG early");
  CHECK(f.b.encrypting());
}

TEST_CASE("crypt negotiation: a forged tag does not open, a badly signed CRYPT line changes nothing") {
  pair_fixture f;
  f.establish();
  auto sealed = f.a.seal("MSG x", f.rng);
  sealed[sealed.size() - 3] ^= 1;  // inside the base64 tag: still valid base64 or not, it must not open
  auto line = mk::wire::line_of_datagram({reinterpret_cast<const std::uint8_t*>(sealed.data()), sealed.size()});
  auto parsed = mk::wire::parse_line(*line);
  if (parsed.ok()) {
    std::string out;
    CHECK(f.b.open(std::get<mk::wire::crypt_msg>(*parsed), out).why == refusal::forged);
    CHECK(out.empty());
  }

  // §14 FIX: the original runs stop on a badly signed CRYPTSTART (a one-datagram downgrade); we drop it.
  Botan::AutoSeeded_RNG rng;
  auto mallory = mk::crypto::identity::generate(rng);
  crypt_negotiation m{mallory, f.alice.public_key()};
  auto forged = m.start(rng);
  auto out = f.deliver(f.b, forged.plaintext_lines[0]);
  CHECK(out.refused);
  CHECK(out.plaintext_lines.empty());
  CHECK_FALSE(out.encryption_changed.has_value());
  CHECK(f.b.encrypting());
  CHECK(f.round_trip(f.a, f.b, "MSG still on") == "MSG still on");
}

TEST_CASE("crypt negotiation: a validly signed CRYPTSTART replayed in plaintext while encrypted changes nothing") {
  pair_fixture f;
  auto s = f.a.start(f.rng);
  auto first_start = s.plaintext_lines[0];
  auto acc = f.deliver(f.b, first_start);
  f.deliver(f.a, acc.plaintext_lines[0]);
  f.deliver(f.b, "CRYPTACK");
  auto out = f.deliver(f.b, first_start);  // captured earlier, replayed now
  CHECK(out.refused);
  CHECK(f.b.encrypting());
  CHECK(f.round_trip(f.a, f.b, "MSG same key") == "MSG same key");
  // A forged plaintext CRYPTACK without a key cannot abort a negotiation either.
  pair_fixture g;
  g.a.start(g.rng);
  auto ack = g.deliver(g.a, "CRYPTACK");
  CHECK(ack.refused);
  CHECK(g.a.negotiating());
}

TEST_CASE("crypt negotiation: legacy C replayed or reflected is refused (PROTOCOL 14: the original has no protection)") {
  pair_fixture f;
  f.establish();
  auto from_a = f.a.seal("MSG once", f.rng);
  CHECK(f.open(f.b, from_a).first == refusal::none);
  CHECK(f.open(f.b, from_a).first == refusal::replayed);  // the same datagram again
  CHECK(f.open(f.a, from_a).first == refusal::reflected);  // a's own datagram sent back to a
  // Only the bounded memory of opened IVs is used: the next fresh one still opens.
  CHECK(f.round_trip(f.a, f.b, "MSG next") == "MSG next");
}

TEST_CASE("crypt negotiation: stop then restart works again (original crashes here)") {
  pair_fixture f;
  for (int round = 0; round < 3; ++round) {
    f.establish();
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
  auto iv_of = [&](const std::string& sealed) {
    auto line = mk::wire::line_of_datagram({reinterpret_cast<const std::uint8_t*>(sealed.data()), sealed.size()});
    auto iv = std::get<mk::wire::crypt_msg>(*mk::wire::parse_line(*line)).iv;
    std::uint64_t v = 0;
    for (auto b : iv)
      v = (v << 8) | b;
    return v;
  };
  f.establish();
  std::uint64_t first = iv_of(f.a.seal("MSG 1", f.rng));
  for (std::uint64_t i = 1; i < 1000; ++i)
    CHECK(iv_of(f.a.seal("MSG n", f.rng)) == first + i);
  CHECK(f.round_trip(f.a, f.b, "MSG still opens") == "MSG still opens");
  // A new key draws a new random start (two 64-bit draws coincide with probability 2^-64).
  f.a.stop();
  f.b.on_crypt_stop(false);
  f.establish();
  CHECK(iv_of(f.a.seal("MSG 1", f.rng)) != first + 1001);
}

TEST_CASE("envelope: between mokaccino nodes every line is sealed in the binary envelope, files in binary") {
  pair_fixture f;
  f.bind_envelope();
  f.establish();
  REQUIRE(f.a.sealing_envelopes());
  auto d = f.a.seal("MSG hello", f.rng);
  CHECK(mk::crypto::secure_channel::is_envelope(d));
  CHECK(d.find("hello") == std::string::npos);
  auto [why, line] = f.open(f.b, d);
  CHECK(why == refusal::none);
  CHECK(line == "MSG hello");
  CHECK(f.b.envelope_active());
  // A full FILE chunk: 1024 bytes of data in 1107 bytes on the wire (>= 90 % file data).
  mk::wire::file_msg chunk{std::string(64, 'A'), 4096, std::vector<std::uint8_t>(1024, 0x5a)};
  auto fd = f.a.seal(mk::wire::serialize(chunk), f.rng);
  CHECK(fd.size() == 1107);
  CHECK(1024.0 / static_cast<double>(fd.size()) >= 0.9);
  CHECK(f.open(f.b, fd).second == mk::wire::serialize(chunk));
}

TEST_CASE("envelope: replayed, reflected, cross-direction and downgraded datagrams are refused") {
  pair_fixture f;
  f.bind_envelope();
  f.establish();
  auto d = f.a.seal("MSG once", f.rng);
  CHECK(f.open(f.b, d).first == refusal::none);
  CHECK(f.open(f.b, d).first == refusal::replayed);
  CHECK(f.open(f.a, d).first == refusal::forged);  // reflected: sealed with the a->b key, a opens b->a only
  // Once b saw an envelope from a, a plaintext CRYPTSTOP or a legacy C (e.g. captured before) is refused.
  auto stop = f.deliver(f.b, "CRYPTSTOP");
  CHECK(stop.refused);
  CHECK(f.b.encrypting());
  auto sealed_stop = f.deliver(f.b, "CRYPTSTOP", true);  // a real, sealed one still works
  CHECK_FALSE(sealed_stop.refused);
  CHECK_FALSE(f.b.encrypting());
}

TEST_CASE("envelope: once the peer's envelope authenticated, a legacy C from it (captured before) is refused") {
  pair_fixture f;
  mk::crypto::channel_transcript t{"alice", "bob", f.alice.public_key().base64(), f.bob.public_key().base64(),
                                   std::string(48, 'A'), std::string(48, 'B')};
  f.a.bind_transcript(true, t);
  f.b.bind_transcript(false, t);
  f.establish();
  auto legacy = f.b.seal("MSG legacy", f.rng);  // b does not know yet that a speaks env1
  CHECK_FALSE(mk::crypto::secure_channel::is_envelope(legacy));
  f.b.peer_speaks_envelope();
  CHECK(f.round_trip(f.b, f.a, "MSG sealed") == "MSG sealed");
  CHECK(f.a.envelope_active());
  CHECK(f.open(f.a, legacy).first == refusal::downgrade);
}

TEST_CASE("envelope: reordered datagrams open once each, a forged one moves nothing") {
  pair_fixture f;
  f.bind_envelope();
  f.establish();
  std::vector<std::string> ds;
  for (int i = 0; i < 50; ++i)
    ds.push_back(f.a.seal("MSG " + std::to_string(i), f.rng));
  auto forged = ds[49];
  forged[5] ^= 0x40;  // a counter far ahead, same tag: must not authenticate nor slide the window
  CHECK(f.open(f.b, forged).first == refusal::forged);
  for (int i = 49; i >= 0; --i)  // reversed order: all still inside the window
    CHECK(f.open(f.b, ds[static_cast<std::size_t>(i)]).first == refusal::none);
  for (auto& d : ds)
    CHECK(f.open(f.b, d).first == refusal::replayed);
}

TEST_CASE("envelope: rekey runs sealed, in-flight datagrams of the old epoch still open, then the old keys go") {
  pair_fixture f;
  f.bind_envelope();
  f.establish();
  CHECK(f.round_trip(f.a, f.b, "MSG before") == "MSG before");  // b: envelope active
  CHECK(f.round_trip(f.b, f.a, "MSG before") == "MSG before");  // a: envelope active
  auto start = f.a.start_rekey(f.rng);
  REQUIRE(start.sealed_lines.size() == 1);
  auto accept = f.deliver(f.b, start.sealed_lines[0], true);
  REQUIRE(accept.sealed_lines.size() == 1);
  CHECK(f.b.epoch() == 1);
  auto in_flight = f.a.seal("MSG old\\ epoch", f.rng);  // sealed by a before it saw the CRYPTACCEPT
  auto b_old = f.b.seal("MSG b\\ still\\ old", f.rng);     // b keeps sealing with epoch 0 until a uses epoch 1
  CHECK(static_cast<std::uint8_t>(b_old[1]) == 0);
  CHECK(f.open(f.a, b_old).second == "MSG b\\ still\\ old");
  auto done = f.deliver(f.a, accept.sealed_lines[0], true);
  CHECK_FALSE(done.refused);
  CHECK(f.a.epoch() == 1);
  auto fresh = f.a.seal("MSG new\\ epoch", f.rng);
  CHECK(static_cast<std::uint8_t>(fresh[1]) == 1);
  CHECK(f.open(f.b, in_flight).second == "MSG old\\ epoch");
  CHECK(f.open(f.b, fresh).second == "MSG new\\ epoch");
  CHECK(static_cast<std::uint8_t>(f.b.seal("MSG b\\ new", f.rng)[1]) == 1);  // b moved on after a's epoch-1 datagram
  // A resent rekey CRYPTSTART (its CRYPTACCEPT was lost) gets the same answer, not yet another epoch.
  auto again = f.deliver(f.b, start.sealed_lines[0], true);
  CHECK(again.sealed_lines == accept.sealed_lines);
  CHECK(f.b.epoch() == 1);
  // A second rekey: epoch 0's keys are gone, so a replay of an epoch-0 datagram cannot open.
  auto start2 = f.a.start_rekey(f.rng);
  auto accept2 = f.deliver(f.b, start2.sealed_lines[0], true);
  f.deliver(f.a, accept2.sealed_lines[0], true);
  CHECK(f.round_trip(f.a, f.b, "MSG epoch\\ 2") == "MSG epoch\\ 2");
  CHECK(f.open(f.b, in_flight).first != refusal::none);
}

TEST_CASE("crypt negotiation: a repeated CRYPTSTART gets the same answer, one with a new key a fresh one") {
  pair_fixture f;
  auto first = f.a.start(f.rng).plaintext_lines.at(0);
  auto acc1 = f.deliver(f.b, first);
  auto again = f.deliver(f.b, first);  // retransmitted: same CRYPTACCEPT
  CHECK(again.plaintext_lines == acc1.plaintext_lines);
  // a starts over (say it restarted): b must not answer the new key with its old CRYPTACCEPT
  crypt_negotiation a2{f.alice, f.bob.public_key()};
  auto second = a2.start(f.rng).plaintext_lines.at(0);
  auto acc2 = f.deliver(f.b, second);
  REQUIRE(acc2.plaintext_lines.size() == 1);
  CHECK(acc2.plaintext_lines != acc1.plaintext_lines);
  f.deliver(a2, acc2.plaintext_lines[0]);
  f.deliver(f.b, "CRYPTACK");
  CHECK(f.round_trip(a2, f.b, "MSG same\\ key") == "MSG same\\ key");
}
