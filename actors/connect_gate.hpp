#pragma once
// Issue 13: who may open a session when the node is under load. A CONNECT costs a P-521 verification (~1.3 ms) and
// a half-open slot; a flood from forged addresses could take all of both. Newcomers whose address is not proven
// may not spend the reserve (limits::verify_reserve tokens, limits::half_open_reserve slots): instead of being
// dropped they get an MKCOOKIE (core/crypto/connect_cookie.hpp). A mokaccino node echoes it and resends its
// CONNECT, which then may use the reserve. Off-path forgers never see their cookies, so they cannot. Only proofs
// are remembered (bounded, short-lived); issuing a cookie keeps no state. Not thread-safe: the node actor owns it.

#include <chrono>
#include <deque>
#include <memory>
#include <unordered_map>

#include <botan/rng.h>

#include "actors/endpoint.hpp"
#include "actors/verify_budget.hpp"
#include "core/crypto/connect_cookie.hpp"
#include "core/limits.hpp"
#include "core/wire/messages.hpp"

namespace mk {

class connect_gate {
 public:
  using clock = std::chrono::steady_clock;

  connect_gate(std::shared_ptr<verify_budget> budget, Botan::RandomNumberGenerator& rng, clock::time_point now)
    : budget_(std::move(budget)), cookies_(rng, now) {}

  // What to do with a CONNECT from `from`, given the half-open slots in use (the other limits are the node's).
  enum class verdict { admit, send_cookie, drop };
  verdict on_connect(const endpoint& from, std::size_t half_open, clock::time_point now) {
    bool proven = take_proof(from, now);
    if (half_open >= limits::max_half_open)
      return verdict::drop;
    if (!proven && half_open + limits::half_open_reserve >= limits::max_half_open)
      return verdict::send_cookie;
    if (!budget_->try_take_above(proven ? 0 : limits::verify_reserve, now))
      return proven ? verdict::drop : verdict::send_cookie;
    return verdict::admit;
  }

  wire::cookie_msg cookie_for(const endpoint& from, clock::time_point now, Botan::RandomNumberGenerator& rng) {
    ++cookies_sent_;
    return {cookies_.issue(from.to_string(), now, rng)};
  }

  // An echoed MKCOOKIE: true (and remembered for limits::proven_lifetime) if it was issued for `from`.
  bool on_cookie(const endpoint& from, const wire::cookie_msg& m, clock::time_point now) {
    if (!cookies_.valid(from.to_string(), m.cookie, now))
      return false;
    expire(now);
    proven_.insert_or_assign(from, now);
    order_.emplace_back(from, now);
    while (order_.size() > limits::max_proven)  // the oldest proofs go: the bound holds whatever arrives
      pop_oldest();
    ++proofs_;
    return true;
  }

  std::uint64_t cookies_sent() const { return cookies_sent_; }
  std::uint64_t proofs() const { return proofs_; }
  std::size_t remembered() const { return order_.size(); }  // bounds proven_ too

 private:
  bool take_proof(const endpoint& from, clock::time_point now) {
    expire(now);
    auto it = proven_.find(from);
    if (it == proven_.end())
      return false;
    proven_.erase(it);  // one proof, one CONNECT (its order_ entry turns stale)
    return true;
  }

  void expire(clock::time_point now) {
    while (!order_.empty() && now - order_.front().second >= limits::proven_lifetime)
      pop_oldest();
  }

  // Every proof in proven_ has an entry in order_ with its time; entries whose proof was used or renewed are stale.
  void pop_oldest() {
    auto it = proven_.find(order_.front().first);
    if (it != proven_.end() && it->second == order_.front().second)
      proven_.erase(it);
    order_.pop_front();
  }

  std::shared_ptr<verify_budget> budget_;
  crypto::connect_cookies cookies_;
  std::unordered_map<endpoint, clock::time_point> proven_;
  std::deque<std::pair<endpoint, clock::time_point>> order_;  // proofs by age
  std::uint64_t cookies_sent_ = 0, proofs_ = 0;
};

}  // namespace mk
