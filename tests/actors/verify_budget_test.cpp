// Issue 13: the node-wide signature-verification budget (actors/verify_budget.hpp), driven by explicit time.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "actors/verify_budget.hpp"

using namespace std::chrono_literals;
using mk::verify_budget;

TEST_CASE("verify_budget: starts full, refills at its rate, never above the burst") {
  auto t0 = verify_budget::clock::now();
  verify_budget b{100, 10, t0};
  for (int i = 0; i < 10; ++i)
    CHECK(b.try_take(t0));
  CHECK_FALSE(b.try_take(t0));
  CHECK_FALSE(b.try_take(t0 + 5ms));  // half a token
  CHECK(b.try_take(t0 + 10ms));       // one token after 10 ms at 100/s
  CHECK_FALSE(b.try_take(t0 + 10ms));
  int later = 0;
  while (b.try_take(t0 + 60s))  // a long pause saves at most the burst
    ++later;
  CHECK(later == 10);
  CHECK(b.granted() == 21);
  CHECK(b.denied() == 4);
  CHECK_FALSE(b.try_take(t0));  // time going backwards adds nothing
}

TEST_CASE("verify_budget: threads taking at once never get more than the budget holds") {
  auto t0 = verify_budget::clock::now();
  verify_budget b{1, 1000, t0};
  std::atomic<int> got{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        got += b.try_take(t0) ? 1 : 0;
    });
  for (auto& t : threads)
    t.join();
  CHECK(got == 1000);
  CHECK(b.granted() == 1000);
  CHECK(b.denied() == 3000);
}
