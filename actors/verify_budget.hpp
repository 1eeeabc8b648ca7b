#pragma once
// Issue 13: the node-wide budget of signature verifications (P-521, ~1.3 ms each). Per-session limits let every
// new source port buy a fresh burst; this one bucket, shared by the node and all its sessions through
// node_context::verify_budget, bounds what a flood can cost the CPU whatever addresses it comes from.
// Thread-safe (sessions run on any scheduler thread). Time is a parameter so tests can drive it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace mk {

class verify_budget {
 public:
  using clock = std::chrono::steady_clock;

  // `per_second` tokens flow in continuously, at most `burst` are saved; the bucket starts full.
  verify_budget(double per_second, double burst, clock::time_point now = clock::now())
    : rate_(per_second), burst_(burst), tokens_(burst), last_(now) {}

  // Takes one token before one signature verification; false = do not verify (drop the line, count it).
  bool try_take(clock::time_point now = clock::now()) { return try_take_above(0, now); }

  // Takes one token only if `reserve` tokens stay after it: CONNECTs from addresses not proven by a cookie cannot
  // spend the reserve that established sessions and proven newcomers draw on (connect_cookie.hpp).
  bool try_take_above(double reserve, clock::time_point now = clock::now()) {
    std::lock_guard g{mx_};
    if (now > last_) {
      tokens_ = std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
      last_ = now;
    }
    if (tokens_ < 1 + reserve) {
      denied_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    tokens_ -= 1;
    granted_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  std::uint64_t granted() const { return granted_.load(std::memory_order_relaxed); }
  std::uint64_t denied() const { return denied_.load(std::memory_order_relaxed); }

 private:
  std::mutex mx_;
  double rate_, burst_, tokens_;
  clock::time_point last_;
  std::atomic<std::uint64_t> granted_{0}, denied_{0};
};

}  // namespace mk
