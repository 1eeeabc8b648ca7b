#include "core/session/keepalive.hpp"

#include <algorithm>

#include "core/limits.hpp"

namespace mk::session {

keepalive::keepalive(std::uint64_t seed, time_point now)
  : rng_(static_cast<std::mt19937::result_type>(seed ^ (seed >> 32))), last_ping_(now) {}

keepalive::tick_result keepalive::on_tick(time_point now) {
  tick_result out;
  if (outstanding_) {
    // §6: no PONG within 3 x max(avg, 20 ms), seen at the next tick, is a strike.
    auto allowance = 3 * std::max<clock::duration>(avg_.value_or(clock::duration::zero()), limits::min_ping_rtt);
    if (now - sent_at_ > allowance) {
      late_ = outstanding_;
      outstanding_.reset();
      if (++strikes_ >= limits::max_strikes) {
        out.timed_out = true;
        return out;
      }
    }
  }
  if (!outstanding_ && now - last_ping_ > limits::ping_interval) {
    auto id = static_cast<std::uint16_t>(std::uniform_int_distribution<int>(0, 65535)(rng_));
    outstanding_ = id;
    late_.reset();
    sent_at_ = now;
    last_ping_ = now;
    out.ping = id;
  }
  return out;
}

bool keepalive::on_pong(std::uint16_t id, time_point now) {
  // §6 FIX: a PONG after its strike (the path's delay grew: a queue filling under a transfer, a radio link) still
  // proves the peer alive. The original drops it, so its average never learns the longer delay and a live peer
  // is timed out after six slow answers; ours takes the sample and the strikes go.
  const bool on_time = outstanding_ && *outstanding_ == id;
  if (!on_time && !(late_ && *late_ == id))
    return false;
  auto sample = now - sent_at_;
  avg_ = avg_ ? (*avg_ * 4 + sample) / 5 : sample;
  outstanding_.reset();
  late_.reset();
  strikes_ = 0;
  return true;
}

}  // namespace mk::session
