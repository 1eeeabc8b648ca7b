#pragma once
// PROTOCOL §6 keep-alive, as a pure state machine: the session actor calls on_tick every 500 ms and on_pong on
// each PONG. Time is passed in; the ping id PRNG is seeded by the caller (§14 FIX: the original's seed is fixed).

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace mk::session {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;

class keepalive {
 public:
  explicit keepalive(std::uint64_t seed, time_point now);

  struct tick_result {
    std::optional<std::uint16_t> ping;  // send `PING <id>`
    bool timed_out = false;             // send `DISCONNECT connection\ timed\ out` and drop the peer
  };
  tick_result on_tick(time_point now);
  // True when the PONG answered the outstanding ping, or the last one after its strike (and so updated the RTT).
  bool on_pong(std::uint16_t id, time_point now);

  // Smoothed round-trip time: avg = 0.8 avg + 0.2 sample, the first sample taken as is (§6).
  std::optional<clock::duration> average_rtt() const { return avg_; }
  int strikes() const { return strikes_; }

 private:
  std::mt19937 rng_;
  std::optional<std::uint16_t> outstanding_;
  std::optional<std::uint16_t> late_;  // the last ping, counted as a strike: its PONG still counts (§6 FIX)
  time_point sent_at_{};
  time_point last_ping_{};
  std::optional<clock::duration> avg_;
  int strikes_ = 0;
};

}  // namespace mk::session
