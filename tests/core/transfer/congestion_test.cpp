#include <doctest/doctest.h>

#include "core/limits.hpp"
#include "core/transfer/congestion.hpp"

using namespace mk::transfer;
using namespace std::chrono_literals;

namespace {
const time_point t0 = time_point{} + std::chrono::hours(1);
// One round trip: a full window acknowledged, each chunk with RTT `rtt`, all sent at `sent`.
void round_trip(congestion& cc, duration rtt, time_point sent) {
  std::size_t w = cc.cwnd();
  for (std::size_t acked = 0; acked < w; acked += chunk_size) {
    cc.on_rtt_sample(rtt);
    cc.on_ack(chunk_size, sent);
  }
}
}  // namespace

TEST_CASE("RTT estimator follows RFC 6298 with a floor, a cap and backoff") {
  rtt_estimator r;
  CHECK(r.rto() == mk::limits::transfer_initial_rto);
  r.on_sample(100ms);
  CHECK(*r.srtt() == 100ms);
  CHECK(r.rttvar() == 50ms);
  CHECK(r.rto() == 300ms);  // 100 + 4*50
  r.on_sample(100ms);
  CHECK(*r.srtt() == 100ms);
  CHECK(r.rttvar() == 37500us);
  r.on_sample(1ms);
  for (int i = 0; i < 50; ++i) r.on_sample(1ms);
  CHECK(r.rto() == mk::limits::transfer_min_rto);  // LAN RTTs hit the floor
  CHECK(*r.min_rtt() == 1ms);
  r.on_timeout();
  CHECK(r.rto() == 2 * mk::limits::transfer_min_rto);
  for (int i = 0; i < 10; ++i) r.on_timeout();
  CHECK(r.rto() == mk::limits::transfer_max_rto);  // capped
  r.on_sample(1ms);
  CHECK(r.rto() == mk::limits::transfer_min_rto);  // a new sample clears the backoff
}

TEST_CASE("cwnd grows without loss: slow start doubles, then additive increase") {
  congestion cc;
  std::size_t start = cc.cwnd();
  CHECK(start == mk::limits::legacy_window_chunks * chunk_size);
  time_point now = t0;
  round_trip(cc, 20ms, now);
  CHECK(cc.cwnd() == 2 * start);
  round_trip(cc, 20ms, now);
  CHECK(cc.cwnd() == 4 * start);
  // A loss ends slow start and halves.
  CHECK(cc.on_loss(now + 1ms, now + 30ms));
  CHECK(cc.cwnd() == 2 * start);
  CHECK_FALSE(cc.in_slow_start());
  now += 40ms;
  std::size_t before = cc.cwnd();
  round_trip(cc, 20ms, now);
  CHECK(cc.cwnd() > before);
  CHECK(cc.cwnd() <= before + chunk_size + 1);  // about one chunk per round trip
  for (int i = 0; i < 20000; ++i) round_trip(cc, 20ms, now);
  CHECK(cc.cwnd() == mk::limits::transfer_max_window);  // bounded
}

TEST_CASE("multiplicative decrease happens once per round trip") {
  congestion cc;
  time_point now = t0;
  for (int i = 0; i < 3; ++i) round_trip(cc, 10ms, now);
  std::size_t w = cc.cwnd();
  CHECK(cc.on_loss(now, now + 10ms));  // first loss: halve
  CHECK(cc.cwnd() == w / 2);
  CHECK_FALSE(cc.on_loss(now, now + 11ms));  // more losses from the same flight: no further cut
  CHECK(cc.cwnd() == w / 2);
  // ACKs of data sent before the cut do not grow the window either.
  round_trip(cc, 10ms, now);
  CHECK(cc.cwnd() == w / 2);
  CHECK(cc.on_loss(now + 20ms, now + 30ms));  // data sent after the cut: a new event
  CHECK(cc.cwnd() == w / 4);
  for (int i = 0; i < 20; ++i) CHECK_FALSE(cc.on_loss(now + 25ms, now + 40ms));
  for (int i = 0; i < 20; ++i) (void)cc.on_loss(now + 100ms + i * 1s, now + 101ms + i * 1s);
  CHECK(cc.cwnd() == mk::limits::transfer_min_cwnd_chunks * chunk_size);  // never below the floor
}

TEST_CASE("the LEDBAT delay signal stops growth and then backs off") {
  congestion cc;
  time_point now = t0;
  round_trip(cc, 10ms, now);  // min RTT 10 ms
  (void)cc.on_loss(now, now + 1ms);  // into congestion avoidance
  now += 10ms;
  std::size_t w = cc.cwnd();
  round_trip(cc, 10ms, now);  // no queue: grows
  CHECK(cc.cwnd() > w);
  // Queuing delay exactly at the target: no growth (once the delay filter has seen it).
  round_trip(cc, 10ms + mk::limits::transfer_target_delay, now);
  w = cc.cwnd();
  for (int i = 0; i < 10; ++i) round_trip(cc, 10ms + mk::limits::transfer_target_delay, now);
  CHECK(cc.queuing_delay() == mk::limits::transfer_target_delay);
  CHECK(cc.cwnd() == w);
  // Above the target: it shrinks, without any loss.
  for (int i = 0; i < 10; ++i) round_trip(cc, 10ms + 3 * mk::limits::transfer_target_delay, now);
  CHECK(cc.cwnd() < w);
  // The queue drains: it grows again.
  w = cc.cwnd();
  for (int i = 0; i < 10; ++i) round_trip(cc, 10ms, now);
  CHECK(cc.cwnd() > w);
}

TEST_CASE("slow start ends early when the queue builds (before any loss)") {
  congestion cc;
  time_point now = t0;
  round_trip(cc, 10ms, now);
  CHECK(cc.in_slow_start());
  round_trip(cc, 10ms + mk::limits::transfer_target_delay, now);
  CHECK_FALSE(cc.in_slow_start());
}

TEST_CASE("timeout falls back to the minimum window and backs off the RTO") {
  congestion cc;
  time_point now = t0;
  for (int i = 0; i < 4; ++i) round_trip(cc, 10ms, now);
  auto rto = cc.rto();
  cc.on_timeout(now + 1s);
  CHECK(cc.cwnd() == mk::limits::transfer_min_cwnd_chunks * chunk_size);
  CHECK(cc.rto() == 2 * rto);
  CHECK(cc.in_slow_start());
  CHECK(cc.pacing_interval(chunk_size) > duration::zero());
}

TEST_CASE("a fair-share cap bounds the window, shrinks it at once and lets it grow again when raised") {
  congestion cc;
  for (int i = 0; i < 20; ++i) round_trip(cc, 1ms, t0);
  REQUIRE(cc.cwnd() > 200 * chunk_size);  // slow start on a clean path
  cc.set_cap(64 * chunk_size);
  CHECK(cc.cwnd() == 64 * chunk_size);
  for (int i = 0; i < 20; ++i) round_trip(cc, 1ms, t0);
  CHECK(cc.cwnd() == 64 * chunk_size);  // acknowledgements do not push it past the cap
  cc.set_cap(1);                        // never below the floor
  CHECK(cc.cwnd() == congestion_config{}.min_cwnd);
  cc.set_cap(std::size_t{1} << 40);     // nor above the configured maximum
  CHECK(cc.cap() == congestion_config{}.max_cwnd);
  std::size_t before = cc.cwnd();
  round_trip(cc, 1ms, t0);
  CHECK(cc.cwnd() > before);
}

TEST_CASE("peer window share: an even split of the peer budget, never below the per-transfer floor") {
  CHECK(peer_window_share(0) == mk::limits::transfer_peer_window);  // the first sender before it counted itself
  CHECK(peer_window_share(1) == mk::limits::transfer_peer_window);
  CHECK(peer_window_share(16) == mk::limits::transfer_peer_window / 16);
  CHECK(peer_window_share(256) == mk::limits::transfer_min_share);
  for (std::uint32_t n = 1; n < 1000; ++n) {
    CHECK(peer_window_share(n) >= mk::limits::transfer_min_share);
    CHECK(peer_window_share(n) <= peer_window_share(n - 1));  // more senders never widen it
  }
}

TEST_CASE("loss tolerant: a loss with an empty queue cuts a fifth, a loss behind a queue halves") {
  congestion_config cfg;
  cfg.loss_tolerant = true;
  time_point now = t0;
  {
    congestion cc{cfg};
    for (int i = 0; i < 3; ++i) round_trip(cc, 10ms, now);  // RTT flat at 10 ms: no queue
    CHECK(cc.queue_empty());
    std::size_t w = cc.cwnd();
    CHECK(cc.on_loss(now, now + 10ms));
    CHECK(cc.cwnd() == w - w / 5);
    // Congestion avoidance with an empty queue: an eighth of the window per round trip, not one chunk.
    now += 20ms;
    w = cc.cwnd();
    round_trip(cc, 10ms, now);
    CHECK(cc.cwnd() >= w + w / 8 - chunk_size);
  }
  {
    congestion cc{cfg};
    round_trip(cc, 10ms, now);
    for (int i = 0; i < 2; ++i) round_trip(cc, 10ms + mk::limits::transfer_target_delay, now);  // a queue built
    CHECK_FALSE(cc.queue_empty());
    std::size_t w = cc.cwnd();
    CHECK(cc.on_loss(now, now + 10ms));
    CHECK(cc.cwnd() == w / 2);
  }
  congestion plain;  // not tolerant (toward an original): always Reno's halving
  for (int i = 0; i < 3; ++i) round_trip(plain, 10ms, now);
  CHECK_FALSE(plain.queue_empty());
}

TEST_CASE("the base delay forgets a path's old RTT within two base windows (a route change is no standing queue)") {
  rtt_estimator r;
  time_point now = t0;
  r.on_sample(10ms, now);
  CHECK(*r.base_delay() == 10ms);
  for (int i = 1; i <= 40; ++i) r.on_sample(200ms, now + i * 500ms);  // the RTT rose for good: 20 s of samples
  CHECK(*r.min_rtt() == 10ms);          // the minimum ever seen stays (RACK, spurious-retransmission checks)
  CHECK(*r.base_delay() == 200ms);      // the delay signal's base follows the path
  rtt_estimator untimed;                // without times: the minimum ever seen
  untimed.on_sample(10ms);
  untimed.on_sample(200ms);
  CHECK(*untimed.base_delay() == 10ms);
}
