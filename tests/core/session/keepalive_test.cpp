#include <doctest/doctest.h>

#include "core/session/keepalive.hpp"

using namespace std::chrono_literals;
using mk::session::keepalive;

TEST_CASE("keepalive pings after 1 s, measures RTT and resets strikes on PONG") {
  mk::session::time_point t{};
  keepalive k{42, t};
  CHECK_FALSE(k.on_tick(t + 500ms).ping);  // less than 1 s since start
  auto r = k.on_tick(t + 1500ms);
  REQUIRE(r.ping);
  CHECK_FALSE(k.on_pong(static_cast<std::uint16_t>(*r.ping + 1), t + 1510ms));  // wrong id ignored
  CHECK(k.on_pong(*r.ping, t + 1510ms));
  REQUIRE(k.average_rtt());
  CHECK(*k.average_rtt() == 10ms);  // first sample taken as is
  auto r2 = k.on_tick(t + 2600ms);
  REQUIRE(r2.ping);
  CHECK(k.on_pong(*r2.ping, t + 2620ms));
  CHECK(*k.average_rtt() == 12ms);  // 0.8 * 10 + 0.2 * 20
}

TEST_CASE("keepalive: six missed PONGs time the peer out (about 6-9 s, PROTOCOL 6)") {
  mk::session::time_point t{};
  keepalive k{7, t};
  bool timed_out = false;
  auto now = t;
  int ticks = 0;
  while (!timed_out && ticks < 100) {
    now += 500ms;
    ++ticks;
    timed_out = k.on_tick(now).timed_out;
  }
  CHECK(timed_out);
  auto elapsed = now - t;
  CHECK(elapsed >= 6s);
  CHECK(elapsed <= 10s);
}

TEST_CASE("keepalive: a PONG resets the strike count") {
  mk::session::time_point t{};
  keepalive k{1, t};
  auto now = t;
  std::optional<std::uint16_t> last;
  for (int i = 0; i < 8; ++i) {  // accumulate a few strikes
    now += 500ms;
    if (auto r = k.on_tick(now); r.ping)
      last = r.ping;
  }
  CHECK(k.strikes() > 0);
  REQUIRE(last);
  now += 500ms;
  auto r = k.on_tick(now);
  auto id = r.ping ? *r.ping : *last;
  if (k.on_pong(id, now + 5ms))
    CHECK(k.strikes() == 0);
}

TEST_CASE("keepalive: a PONG after its strike still proves the peer alive and the average learns the longer delay") {
  mk::session::time_point t{};
  keepalive k{11, t};
  auto now = t + 1500ms;
  auto r = k.on_tick(now);
  REQUIRE(r.ping);
  REQUIRE(k.on_pong(*r.ping, now + 10ms));  // a 10 ms path: strike after 60 ms
  // The delay grows to 300 ms (a queue fills): every answer comes after its strike. Twenty pings in a row: the
  // original would time the peer out after six; the peer answers every one, so it stays.
  for (int i = 0; i < 20; ++i) {
    now += 1100ms;
    auto p = k.on_tick(now);
    REQUIRE(p.ping);
    now += 500ms;
    CHECK_FALSE(k.on_tick(now).timed_out);  // the strike for this ping
    CHECK(k.strikes() == (*k.average_rtt() * 3 < 500ms ? 1 : 0));
    CHECK(k.on_pong(*p.ping, now - 200ms));  // 300 ms after the ping: after the strike when the average is short
    CHECK(k.strikes() == 0);
  }
  CHECK(*k.average_rtt() > 250ms);  // learnt the new delay
  // A PONG for a ping older than the last one, or an id never sent, proves nothing.
  CHECK_FALSE(k.on_pong(12345, now));
}

TEST_CASE("keepalive: late PONGs cannot keep a dead peer alive") {
  mk::session::time_point t{};
  keepalive k{13, t};
  auto now = t;
  bool timed_out = false;
  std::optional<std::uint16_t> last;
  for (int i = 0; i < 40 && !timed_out; ++i) {
    now += 500ms;
    auto r = k.on_tick(now);
    timed_out = r.timed_out;
    if (r.ping) {
      CHECK_FALSE(k.on_pong(static_cast<std::uint16_t>(*r.ping ^ 1), now));  // a forged or stale id
      last = r.ping;
    }
  }
  CHECK(timed_out);
}
