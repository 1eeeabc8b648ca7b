// Datagram PLPMTUD (RFC 8899) as the session runs it: search upward from 1232, stop at the first size the path
// loses max_probes times, confirm while data flows, fall back to the base on a black hole.
#include <doctest/doctest.h>

#include "core/session/path_mtu.hpp"

using mk::session::path_mtu;
using namespace std::chrono_literals;

namespace {

const path_mtu::time_point t0 = path_mtu::time_point{} + std::chrono::hours(1);

// A path that carries datagrams up to `mtu` bytes: answers the probes that fit, loses the others (each after the
// probe timeout). Returns when no probe is due any more; `now` is advanced as it goes.
void run_search(path_mtu& m, std::size_t mtu, path_mtu::time_point& now, int* lost = nullptr) {
  for (int step = 0; step < 100; ++step) {
    auto p = m.due(now);
    if (!p) {
      now += path_mtu::probe_timeout;
      p = m.due(now);
      if (!p) return;  // nothing timed out and nothing left to try
    }
    if (p->size <= mtu) {
      now += 1ms;
      m.on_ack(p->id, now);
    } else {
      if (lost) ++*lost;
      now += path_mtu::probe_timeout;
    }
  }
  FAIL("the search did not settle");
}

}  // namespace

TEST_CASE("path mtu: the search climbs to the largest size an Ethernet path carries, and stops there") {
  path_mtu m{t0, 1000};
  CHECK(m.budget() == path_mtu::base_size);
  auto now = t0;
  int lost = 0;
  run_search(m, 1472, now, &lost);
  CHECK(m.budget() == 1472);
  CHECK(lost == path_mtu::max_probes);  // 8952 tried three times, then the search ends
  CHECK_FALSE(m.due(now + 1s));
  // Much later the search tries the next size again.
  auto again = m.due(now + path_mtu::raise_interval);
  REQUIRE(again);
  CHECK(again->size == 8952);
}

TEST_CASE("path mtu: a 1280-byte tunnel keeps the budget at the base") {
  path_mtu m{t0, 7};
  auto now = t0;
  run_search(m, 1232 + 10, now);
  CHECK(m.budget() == path_mtu::base_size);
}

TEST_CASE("path mtu: only the outstanding probe's answer counts") {
  path_mtu m{t0, 500};
  auto p = m.due(t0);
  REQUIRE(p);
  CHECK(p->id == 500);
  CHECK_FALSE(m.due(t0 + 1ms));                // one at a time
  CHECK_FALSE(m.on_ack(p->id + 1, t0 + 2ms));  // a guess (or a forgery) is ignored
  CHECK(m.budget() == path_mtu::base_size);
  CHECK(m.on_ack(p->id, t0 + 2ms));
  CHECK(m.budget() == p->size);
  CHECK_FALSE(m.on_ack(p->id, t0 + 3ms));      // a repeated answer changes nothing
}

TEST_CASE("path mtu: a probe our own kernel refuses ends that step at once") {
  path_mtu m{t0, 1};
  auto now = t0;
  for (;;) {
    auto p = m.due(now);
    REQUIRE(p);
    if (p->size > 1472) {
      m.on_refused(p->id, now);
      break;
    }
    m.on_ack(p->id, now);
  }
  CHECK(m.budget() == 1472);
  CHECK_FALSE(m.due(now + path_mtu::probe_timeout));  // no retries of a size the interface cannot send
}

TEST_CASE("path mtu: while data flows the budget is confirmed, and a black hole falls back to the base") {
  path_mtu m{t0, 1};
  auto now = t0;
  run_search(m, 1472, now);
  REQUIRE(m.budget() == 1472);
  // Idle: no confirmation probes (an idle peer costs no large datagrams).
  CHECK_FALSE(m.due(now + path_mtu::confirm_interval + 1s));
  now += path_mtu::confirm_interval + 1s;
  m.note_traffic(now);
  auto c = m.due(now);
  REQUIRE(c);
  CHECK(c->size == 1472);
  m.on_ack(c->id, now + 1ms);
  CHECK(m.budget() == 1472);
  // The path shrinks to 1300 bytes without telling anyone: the confirmations are lost.
  now += path_mtu::confirm_interval + 1s;
  m.note_traffic(now);
  for (int i = 0; i < path_mtu::max_probes; ++i) {
    auto p = m.due(now);
    REQUIRE(p);
    CHECK(p->size == 1472);
    CHECK(m.budget() == 1472);
    now += path_mtu::probe_timeout;
  }
  CHECK_FALSE(m.due(now - 1ms));
  auto restart = m.due(now);  // the third loss is noticed here
  CHECK(m.black_holes() == 1);
  CHECK(m.budget() == path_mtu::base_size);
  // The search starts over at once and settles on what the path carries now.
  REQUIRE(restart);
  CHECK(restart->size == 1252);
  m.on_ack(restart->id, now + 1ms);
  run_search(m, 1300, now);
  CHECK(m.budget() == 1252);
}

TEST_CASE("path mtu: a transfer's timeout asks for a confirmation at once") {
  path_mtu m{t0, 1};
  auto now = t0;
  run_search(m, 1472, now);
  REQUIRE(m.budget() == 1472);
  CHECK_FALSE(m.due(now + 1s));
  m.suspect(now + 1s);
  auto c = m.due(now + 1s);
  REQUIRE(c);
  CHECK(c->size == 1472);
}
