// Issue 13: the stateless cookie a node under load hands to unproven CONNECTs.
#include <doctest/doctest.h>

#include <botan/auto_rng.h>

#include "core/crypto/connect_cookie.hpp"

using namespace mk::crypto;
using namespace std::chrono_literals;

TEST_CASE("connect cookie: valid only for the address it was issued to") {
  Botan::AutoSeeded_RNG rng;
  auto t0 = connect_cookies::clock::time_point{} + 1h;
  connect_cookies jar{rng, t0};
  auto c = jar.issue("127.0.0.1:4000", t0, rng);
  CHECK(jar.valid("127.0.0.1:4000", c, t0 + 1s));
  CHECK_FALSE(jar.valid("127.0.0.1:4001", c, t0 + 1s));  // another port
  CHECK_FALSE(jar.valid("127.0.0.2:4000", c, t0 + 1s));  // another host
  auto tampered = c;
  tampered[7] ^= 1;
  CHECK_FALSE(jar.valid("127.0.0.1:4000", tampered, t0 + 1s));
  connect_cookies other{rng, t0};  // another node's secret
  CHECK_FALSE(other.valid("127.0.0.1:4000", c, t0 + 1s));
}

TEST_CASE("connect cookie: the secret rotates, a cookie lives between one and two periods") {
  Botan::AutoSeeded_RNG rng;
  auto t0 = connect_cookies::clock::time_point{} + 1h;
  const auto p = connect_cookies::period;
  connect_cookies jar{rng, t0};
  auto old = jar.issue("[::1]:5000", t0, rng);
  auto fresh = jar.issue("[::1]:5000", t0 + p + 1s, rng);  // a period passed: new secret
  CHECK(fresh != old);
  CHECK(jar.valid("[::1]:5000", old, t0 + p + 2s));   // the previous secret still opens it
  CHECK(jar.valid("[::1]:5000", fresh, t0 + p + 2s));
  CHECK_FALSE(jar.valid("[::1]:5000", old, t0 + 2 * p));  // two periods after its secret was made: gone
  CHECK(jar.valid("[::1]:5000", fresh, t0 + 2 * p));
  // Without any issue() the current secret ages out too: an old cookie never opens again.
  CHECK_FALSE(jar.valid("[::1]:5000", fresh, t0 + p + 1s + 2 * p));
}
