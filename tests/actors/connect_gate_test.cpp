// Issue 13: under load, a CONNECT from an unproven address gets a cookie; the echoed cookie buys the reserve.
#include <doctest/doctest.h>

#include <botan/auto_rng.h>

#include "actors/connect_gate.hpp"

using namespace mk;
using namespace std::chrono_literals;

namespace {

struct gate_fixture {
  Botan::AutoSeeded_RNG rng;
  connect_gate::clock::time_point t0 = connect_gate::clock::now();
  // 200/s would refill during the test: a bucket that does not refill makes "under load" exact.
  std::shared_ptr<verify_budget> budget = std::make_shared<verify_budget>(0.0, limits::verify_reserve + 3, t0);
  connect_gate gate{budget, rng, t0};
  endpoint alice = endpoint::loopback_v4(4000), mallory = endpoint::loopback_v4(4666);
};

}  // namespace

TEST_CASE("connect gate: unproven CONNECTs stop at the reserve and get cookies, a proven one gets in") {
  gate_fixture f;
  using v = connect_gate::verdict;
  for (int i = 0; i < 3; ++i)
    CHECK(f.gate.on_connect(f.mallory, 0, f.t0) == v::admit);  // above the reserve: business as usual
  CHECK(f.gate.on_connect(f.mallory, 0, f.t0) == v::send_cookie);
  CHECK(f.gate.on_connect(f.alice, 0, f.t0) == v::send_cookie);
  auto cookie = f.gate.cookie_for(f.alice, f.t0, f.rng);
  CHECK(f.gate.cookies_sent() == 1);
  CHECK_FALSE(f.gate.on_cookie(f.mallory, cookie, f.t0));  // alice's cookie, echoed from elsewhere
  CHECK(f.gate.on_connect(f.mallory, 0, f.t0) == v::send_cookie);
  REQUIRE(f.gate.on_cookie(f.alice, cookie, f.t0 + 10ms));
  CHECK(f.gate.proofs() == 1);
  CHECK(f.gate.on_connect(f.alice, 0, f.t0 + 20ms) == v::admit);  // from the reserve
  CHECK(f.gate.on_connect(f.alice, 0, f.t0 + 30ms) == v::send_cookie);  // one proof, one CONNECT
  CHECK(f.budget->granted() == 4);
}

TEST_CASE("connect gate: the last half-open slots are for proven addresses, and proofs expire") {
  gate_fixture f;
  using v = connect_gate::verdict;
  const auto nearly_full = limits::max_half_open - limits::half_open_reserve;
  CHECK(f.gate.on_connect(f.alice, nearly_full, f.t0) == v::send_cookie);
  REQUIRE(f.gate.on_cookie(f.alice, f.gate.cookie_for(f.alice, f.t0, f.rng), f.t0));
  CHECK(f.gate.on_connect(f.alice, nearly_full, f.t0) == v::admit);
  CHECK(f.gate.on_connect(f.alice, limits::max_half_open, f.t0) == v::drop);  // full is full
  REQUIRE(f.gate.on_cookie(f.alice, f.gate.cookie_for(f.alice, f.t0, f.rng), f.t0));
  CHECK(f.gate.on_connect(f.alice, nearly_full, f.t0 + limits::proven_lifetime) == v::send_cookie);  // expired
}

TEST_CASE("connect gate: the proofs it remembers are bounded whatever is echoed") {
  gate_fixture f;
  auto cookie = f.gate.cookie_for(f.alice, f.t0, f.rng);
  for (int i = 0; i < 100000; ++i)  // one real address echoing its cookie as fast as it can
    REQUIRE(f.gate.on_cookie(f.alice, cookie, f.t0 + std::chrono::microseconds{i}));
  for (std::uint16_t p = 1; p <= 2 * limits::max_proven; ++p) {
    auto ep = endpoint::loopback_v4(p);
    REQUIRE(f.gate.on_cookie(ep, f.gate.cookie_for(ep, f.t0, f.rng), f.t0 + 1s));
  }
  CHECK(f.gate.remembered() <= limits::max_proven);
  // the newest proofs are the ones kept
  auto newest = endpoint::loopback_v4(static_cast<std::uint16_t>(2 * limits::max_proven));
  CHECK(f.gate.on_connect(newest, limits::max_half_open - 1, f.t0 + 2s) == connect_gate::verdict::admit);
}
