// core/session/handshake: the §5 exchange between machines, on a virtual clock, with a seeded RNG (so nonces are
// the same in every run). Lines go from one machine to the other by hand, which lets a test lose or repeat one.
#include <doctest/doctest.h>

#include <botan/chacha_rng.h>

#include "core/session/handshake.hpp"
#include "core/wire/messages.hpp"
#include "support/parse_as.hpp"

using namespace std::chrono_literals;
using mk::session::handshake;
using mk::test::parse_as;
using step = handshake::step;
using phase = handshake::phase;
namespace w = mk::wire;

namespace {

struct fixture {
  Botan::ChaCha_RNG rng{Botan::secure_vector<std::uint8_t>(32, 7)};
  mk::crypto::identity alice_id = mk::crypto::identity::generate(rng);
  mk::crypto::identity bob_id = mk::crypto::identity::generate(rng);
  handshake::time_point t0{};
  handshake::time_point now = t0;

  handshake make(const mk::crypto::identity& id, std::string name, std::string expected = {}) {
    return handshake{id, {std::move(name), "127.0.0.1:23232", std::move(expected), false}, now};
  }

  // Delivers one handshake line to `to`.
  handshake::output deliver(handshake& to, const std::string& line) {
    auto m = w::parse_line(line);
    REQUIRE(m.ok());
    if (auto* c = std::get_if<w::connect_msg>(&*m))
      return to.on_connect(*c, line, now, rng);
    if (auto* h = std::get_if<w::handshake_msg>(&*m))
      return to.on_handshake(*h, line, rng);
    if (auto* c = std::get_if<w::connected_msg>(&*m))
      return to.on_connected(*c, line);
    FAIL("not a handshake line: " << line);
    return {};
  }

  // Runs the pin check the session would (no pin yet, or `known`), then pins if asked: the lines that follow.
  handshake::output accept(handshake& m, handshake::output out, bool known = false,
                           mk::config::action policy = mk::config::action::accept) {
    REQUIRE(out.next == step::check_pin);
    REQUIRE(out.cand);
    auto c = *out.cand;
    c.known = known;
    auto next = m.on_pin_checked(c, policy, now, rng);
    if (next.next == step::pin_key)
      return m.on_pinned(*next.cand, now, rng);
    return next;
  }

  // a connects to b until both are established; returns a's CONNECT.
  std::string connect(handshake& a, handshake& b) {
    auto connect_line = a.start(rng).lines.at(0);
    auto hs = accept(b, deliver(b, connect_line));
    REQUIRE(hs.lines.size() == 1);
    auto done = accept(a, deliver(a, hs.lines[0]));
    REQUIRE(done.lines.size() == 1);
    CHECK(done.next == step::register_peer);
    a.on_registered();
    auto reg = deliver(b, done.lines[0]);
    CHECK(reg.next == step::register_peer);
    b.on_registered();
    return connect_line;
  }
};

}  // namespace

TEST_CASE_FIXTURE(fixture, "handshake: initiator happy path (CONNECT, HANDSHAKE, pin, CONNECTED, registered)") {
  auto a = make(alice_id, "alice", "bob");
  auto start = a.start(rng);
  REQUIRE(start.lines.size() == 1);
  auto c = parse_as<w::connect_msg>(start.lines[0]);
  CHECK(c.username == "alice");
  CHECK(a.current() == phase::connecting);

  auto b = make(bob_id, "bob");
  auto hs = accept(b, deliver(b, start.lines[0]));
  auto h = parse_as<w::handshake_msg>(hs.lines.at(0));
  CHECK(h.peer_nonce == c.nonce);

  auto check = deliver(a, hs.lines[0]);
  REQUIRE(check.next == step::check_pin);
  CHECK(check.cand->as_initiator);
  CHECK(a.user() == "bob");
  // Our own connection: an unknown key is pinned, and the policy is not asked (refuse here changes nothing).
  auto pin = a.on_pin_checked(*check.cand, mk::config::action::refuse, now, rng);
  REQUIRE(pin.next == step::pin_key);
  CHECK(pin.lines.empty());
  auto done = a.on_pinned(*pin.cand, now, rng);
  REQUIRE(done.lines.size() == 1);
  CHECK(parse_as<w::connected_msg>(done.lines[0]).nonce == h.nonce);
  CHECK(done.next == step::register_peer);
  CHECK_FALSE(a.established());
  a.on_registered();
  CHECK(a.established());
  CHECK(a.we_initiated());
  REQUIRE(a.peer_key());
  CHECK(a.peer_key()->base64() == bob_id.public_key().base64());
  CHECK(a.initiator_nonce() == c.nonce);
  CHECK(a.responder_nonce() == h.nonce);
}

TEST_CASE_FIXTURE(fixture, "handshake: responder happy path with a prompt, then CONNECTED registers") {
  auto a = make(alice_id, "alice");
  auto b = make(bob_id, "bob");
  CHECK(b.current() == phase::idle);
  auto connect_line = a.start(rng).lines.at(0);
  auto check = deliver(b, connect_line);
  REQUIRE(check.next == step::check_pin);
  CHECK_FALSE(check.cand->as_initiator);
  CHECK(b.current() == phase::deciding);
  auto c = *check.cand;
  auto ask = b.on_pin_checked(c, mk::config::action::prompt, now, rng);
  REQUIRE(ask.next == step::ask_user);
  CHECK(ask.question == "User \"alice\" (127.0.0.1:23232) requested to connect, accept? (y/n)");
  CHECK(ask.lines.empty());
  auto pin = b.on_answer(*ask.cand, true, now, rng);
  REQUIRE(pin.next == step::pin_key);
  auto hs = b.on_pinned(*pin.cand, now, rng);
  REQUIRE(hs.lines.size() == 1);
  CHECK(b.current() == phase::awaiting_connected);

  auto done = accept(a, deliver(a, hs.lines[0]), true);
  a.on_registered();
  auto reg = deliver(b, done.lines.at(0));
  CHECK(reg.next == step::register_peer);
  CHECK(reg.lines.empty());
  CHECK(deliver(b, done.lines[0]).next == step::none);  // a repeat while it registers waits
  b.on_registered();
  CHECK(b.established());
  CHECK_FALSE(b.we_initiated());
  CHECK(b.initiator_nonce() == a.initiator_nonce());
  CHECK(b.responder_nonce() == a.responder_nonce());
}

TEST_CASE_FIXTURE(fixture, "handshake: refused by policy or by the user, or unanswered, closes with connection refused") {
  auto a = make(alice_id, "alice");
  auto connect_line = a.start(rng).lines.at(0);
  for (int how = 0; how < 3; ++how) {
    auto b = make(bob_id, "bob");
    auto check = deliver(b, connect_line);
    handshake::output out;
    if (how == 0) {
      out = b.on_pin_checked(*check.cand, mk::config::action::refuse, now, rng);
    } else {
      auto ask = b.on_pin_checked(*check.cand, mk::config::action::prompt, now, rng);
      out = b.on_answer(*ask.cand, how == 1 ? std::optional<bool>{false} : std::nullopt, now, rng);
    }
    REQUIRE(out.close);
    CHECK(out.close->reason_to_peer == "connection refused");
    CHECK_FALSE(out.close->as_error);
    CHECK(out.lines.empty());
    CHECK(out.next == step::none);
  }
}

TEST_CASE_FIXTURE(fixture, "handshake: a repeated CONNECT gets the same HANDSHAKE and no new prompt") {
  auto a = make(alice_id, "alice");
  auto b = make(bob_id, "bob");
  auto connect_line = a.start(rng).lines.at(0);
  auto check = deliver(b, connect_line);
  REQUIRE(check.next == step::check_pin);
  // While bob is still deciding (asking its user), the retransmission asks nothing.
  auto again = deliver(b, connect_line);
  CHECK(again.next == step::none);
  CHECK(again.lines.empty());
  CHECK_FALSE(again.dropped);
  auto ask = b.on_pin_checked(*check.cand, mk::config::action::prompt, now, rng);
  auto hs = b.on_answer(*ask.cand, true, now, rng);
  hs = b.on_pinned(*hs.cand, now, rng);
  REQUIRE(hs.lines.size() == 1);
  // Our HANDSHAKE was lost: the repeated CONNECT gets the very same line, still no prompt.
  for (int i = 0; i < 3; ++i) {
    auto repeat = deliver(b, connect_line);
    REQUIRE(repeat.lines.size() == 1);
    CHECK(repeat.lines[0] == hs.lines[0]);
    CHECK(repeat.next == step::none);
  }
  CHECK(b.current() == phase::awaiting_connected);
}

TEST_CASE_FIXTURE(fixture, "handshake: a HANDSHAKE for a nonce we did not send is dropped") {
  auto a = make(alice_id, "alice");
  auto other = make(alice_id, "alice");
  auto b = make(bob_id, "bob");
  a.start(rng);
  auto hs = accept(b, deliver(b, other.start(rng).lines.at(0)));  // bob answers another CONNECT
  auto out = deliver(a, hs.lines.at(0));
  CHECK(out.dropped);
  CHECK(out.next == step::none);
  CHECK(out.lines.empty());
  CHECK(a.current() == phase::connecting);
  CHECK(a.user().empty());
  // A responder sent no CONNECT at all.
  auto idle = make(alice_id, "alice");
  CHECK(deliver(idle, hs.lines[0]).dropped);
}

TEST_CASE_FIXTURE(fixture, "handshake: a lost CONNECTED is answered again on a repeated HANDSHAKE") {
  auto a = make(alice_id, "alice");
  auto b = make(bob_id, "bob");
  auto connect_line = a.start(rng).lines.at(0);
  auto hs = accept(b, deliver(b, connect_line));
  auto done = accept(a, deliver(a, hs.lines.at(0)), true);
  REQUIRE(done.lines.size() == 1);
  CHECK(deliver(a, hs.lines[0]).lines.empty());  // repeated while alice registers: waits
  a.on_registered();
  // bob's timer resends its HANDSHAKE because alice's CONNECTED was lost.
  auto again = deliver(a, hs.lines[0]);
  REQUIRE(again.lines.size() == 1);
  auto repeated = parse_as<w::connected_msg>(again.lines[0]);
  CHECK(repeated.nonce == parse_as<w::handshake_msg>(hs.lines[0]).nonce);
  CHECK(again.next == step::none);
  CHECK(deliver(b, again.lines[0]).next == step::register_peer);
}

TEST_CASE_FIXTURE(fixture, "handshake: simultaneous connect, the smaller nonce switches to responder") {
  auto a = make(alice_id, "alice", "bob");
  auto b = make(bob_id, "bob", "alice");
  auto ca = a.start(rng).lines.at(0);
  auto cb = b.start(rng).lines.at(0);
  bool a_larger = parse_as<w::connect_msg>(ca).nonce > parse_as<w::connect_msg>(cb).nonce;
  auto& big = a_larger ? a : b;
  auto& small = a_larger ? b : a;
  auto& big_connect = a_larger ? ca : cb;
  auto& small_connect = a_larger ? cb : ca;

  auto ignored = deliver(big, small_connect);  // the larger nonce stays initiator
  CHECK(ignored.next == step::none);
  CHECK(ignored.lines.empty());
  CHECK(big.current() == phase::connecting);
  auto check = deliver(small, big_connect);
  REQUIRE(check.next == step::check_pin);
  // It asked for this peer itself: accepted whatever the policy says.
  auto hs = small.on_pin_checked(*check.cand, mk::config::action::refuse, now, rng);
  REQUIRE(hs.next == step::pin_key);
  hs = small.on_pinned(*hs.cand, now, rng);
  REQUIRE(hs.lines.size() == 1);
  CHECK(small.current() == phase::awaiting_connected);

  auto done = accept(big, deliver(big, hs.lines[0]));
  big.on_registered();
  CHECK(deliver(small, done.lines.at(0)).next == step::register_peer);
  small.on_registered();
  CHECK(big.we_initiated());
  CHECK_FALSE(small.we_initiated());
  CHECK(big.initiator_nonce() == parse_as<w::connect_msg>(big_connect).nonce);
  CHECK(small.initiator_nonce() == big.initiator_nonce());
  CHECK(small.responder_nonce() == big.responder_nonce());
}

TEST_CASE_FIXTURE(fixture, "handshake: MKCOOKIE echoes are bounded per attempt") {
  auto a = make(alice_id, "alice");
  w::cookie_msg cookie;
  cookie.cookie.fill(3);
  CHECK(a.on_cookie(cookie, false).dropped);  // no CONNECT sent yet
  auto connect_line = a.start(rng).lines.at(0);
  CHECK(a.on_cookie(cookie, true).dropped);  // never inside a sealed datagram
  for (int i = 0; i < 3; ++i) {
    auto echo = a.on_cookie(cookie, false);
    REQUIRE(echo.lines.size() == 2);
    CHECK(echo.lines[0] == w::serialize(cookie));
    CHECK(echo.lines[1] == connect_line);
  }
  auto fourth = a.on_cookie(cookie, false);
  CHECK(fourth.dropped);
  CHECK(fourth.lines.empty());
}

TEST_CASE_FIXTURE(fixture, "handshake: CONNECT is resent every 2 s up to 4 sends, and the attempt times out after 10 s") {
  auto a = make(alice_id, "alice");
  auto connect_line = a.start(rng).lines.at(0);
  std::vector<int> resent_at;
  int tick = 0;
  std::optional<handshake::close_order> closed;
  while (!closed && tick < 40) {
    ++tick;
    auto out = a.on_tick(t0 + tick * 500ms);
    for (auto& l : out.lines) {
      CHECK(l == connect_line);
      resent_at.push_back(tick);
    }
    closed = out.close;
  }
  CHECK(resent_at == std::vector<int>{4, 8, 12});
  REQUIRE(closed);
  CHECK(tick == 21);  // the first tick past 10 s
  CHECK(closed->reason_to_peer.empty());
  CHECK(closed->text == "Connection with 127.0.0.1:23232 timed out");
}

TEST_CASE_FIXTURE(fixture, "handshake: our HANDSHAKE is resent on the session's ticks and its 10 s start when it is sent") {
  auto a = make(alice_id, "alice");
  auto b = make(bob_id, "bob");
  auto connect_line = a.start(rng).lines.at(0);
  for (int tick = 1; tick <= 5; ++tick)  // nothing to resend before the CONNECT is answered
    CHECK(b.on_tick(t0 + tick * 500ms).lines.empty());
  now = t0 + 3s;  // the user answered after 3 s
  auto hs = accept(b, deliver(b, connect_line));
  std::vector<int> resent_at;
  std::optional<handshake::close_order> closed;
  for (int tick = 6; tick <= 40 && !closed; ++tick) {
    auto out = b.on_tick(t0 + tick * 500ms);
    if (!out.lines.empty()) {
      CHECK(out.lines == hs.lines);
      resent_at.push_back(tick);
    }
    if (out.close) {
      closed = out.close;
      CHECK(tick == 27);  // 10 s after the HANDSHAKE, not after the session's start
    }
  }
  CHECK(resent_at == std::vector<int>{8, 12, 16});
  CHECK(closed);
}

TEST_CASE_FIXTURE(fixture, "handshake: an established peer's new CONNECT restarts only on its CONNECTED") {
  auto a = make(alice_id, "alice");
  auto b = make(bob_id, "bob");
  auto old_connect = connect(a, b);
  auto old_responder = b.responder_nonce();
  CHECK(deliver(b, old_connect).lines.empty());  // a replay of the CONNECT it has seen: nothing

  auto restarted = make(alice_id, "alice");  // alice's process restarted on the same address
  auto challenge = deliver(b, restarted.start(rng).lines.at(0));
  REQUIRE(challenge.lines.size() == 1);
  CHECK(challenge.next == step::none);  // answered, nothing changed yet
  CHECK(b.established());
  CHECK(b.responder_nonce() == old_responder);

  auto proof = accept(restarted, deliver(restarted, challenge.lines[0]), true);
  REQUIRE(proof.lines.size() == 1);
  auto out = deliver(b, proof.lines[0]);
  CHECK(out.next == step::restarted);
  CHECK_FALSE(out.unproven_restart);
  CHECK(b.responder_nonce() == parse_as<w::handshake_msg>(challenge.lines[0]).nonce);
  CHECK(b.initiator_nonce() == restarted.initiator_nonce());
  CHECK_FALSE(b.we_initiated());
  // The same CONNECTED again proves nothing more.
  CHECK(deliver(b, proof.lines[0]).next != step::restarted);
}

TEST_CASE_FIXTURE(fixture, "handshake: an unanswered restart challenge counts as a replay after 10 s") {
  auto a = make(alice_id, "alice");
  auto b = make(bob_id, "bob");
  connect(a, b);
  auto replayer = make(alice_id, "alice");  // stands for a CONNECT captured from an earlier session
  auto challenge = deliver(b, replayer.start(rng).lines.at(0));
  REQUIRE(challenge.lines.size() == 1);
  int unproven = 0;
  for (int tick = 1; tick <= 20; ++tick)
    unproven += b.on_tick(now + tick * 500ms).unproven_restart;
  CHECK(unproven == 0);  // 10 s exactly: still waiting
  CHECK(b.on_tick(now + 10500ms).unproven_restart);
  CHECK_FALSE(b.on_tick(now + 11s).unproven_restart);  // counted once
  // The answer after the timeout no longer restarts anything.
  auto late = accept(replayer, deliver(replayer, challenge.lines[0]), true);
  CHECK(deliver(b, late.lines.at(0)).next != step::restarted);
  CHECK(b.established());
  // A second new CONNECT while a challenge is pending: the first one counts at once.
  auto second = make(alice_id, "alice");
  auto third = make(alice_id, "alice");
  CHECK_FALSE(deliver(b, second.start(rng).lines.at(0)).unproven_restart);
  auto again = deliver(b, third.start(rng).lines.at(0));
  CHECK(again.unproven_restart);
  CHECK(again.lines.size() == 1);
}

TEST_CASE_FIXTURE(fixture, "handshake: a HANDSHAKE from another name than expected closes with authentication error") {
  auto a = make(alice_id, "alice", "bob");
  auto carol = make(bob_id, "carol");
  auto hs = accept(carol, deliver(carol, a.start(rng).lines.at(0)));
  auto out = deliver(a, hs.lines.at(0));
  REQUIRE(out.close);
  CHECK(out.close->reason_to_peer == "authentication error");
  CHECK(out.close->as_error);
  CHECK(out.close->text == "Refused 127.0.0.1:23232: it answered as \"carol\", expected \"bob\"");
  CHECK(out.next == step::none);
  CHECK_FALSE(a.peer_key());
  // And a CONNECT from another name than the one we wait for is dropped.
  auto waiting = make(alice_id, "alice", "bob");
  auto mallory = make(bob_id, "mallory");
  CHECK(deliver(waiting, mallory.start(rng).lines.at(0)).dropped);
}

TEST_CASE_FIXTURE(fixture, "handshake: a badly signed CONNECT closes before any pin check or question") {
  auto a = make(alice_id, "alice");
  auto b = make(bob_id, "bob");
  auto line = a.start(rng).lines.at(0);
  auto m = parse_as<w::connect_msg>(line);
  m.username = "alicf";  // the signature covered "alice"
  auto out = deliver(b, w::serialize(m));
  REQUIRE(out.close);
  CHECK(out.close->reason_to_peer == "authentication error");
  CHECK(out.next == step::none);
}
