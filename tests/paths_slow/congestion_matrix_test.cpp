// The full congestion matrix (issue 12, item 6), label `slow` (scripts/test.sh leaves it out; run it with
// `ctest -L slow`): real nodes, encrypted, through the fault relay. RTT 0, 20 and 100 ms with 0 and 2 % random
// loss each way; reordering on a fast and a 20 ms path; a competing transfer on a 100 ms bottleneck path; a path
// whose delay and loss jump mid-transfer; a 2 s blackout on a 100 ms path. Every case asserts: byte-identical, within
// the path's bound (tests/support/path_case.hpp), and retransmissions <= 2 per datagram the relay dropped from the
// sender (+ a stated slack).
#include <doctest/doctest.h>

#include "support/path_case.hpp"

using namespace mk::test;
using namespace std::chrono_literals;

namespace {

void rtt_loss_case(std::chrono::milliseconds rtt, double loss, std::uint32_t seed) {
  path_spec s;
  s.path.delay = std::chrono::duration_cast<std::chrono::microseconds>(rtt) / 2;
  s.path.drop = loss;
  s.size = 4u << 20;
  s.seed = seed;
  auto r = run_path(s);
  check_path(s, r, 2.0, 32);
  if (loss > 0)
    CHECK(r.dropped_data > 0);
  else
    CHECK(r.timeouts == 0);  // a clean path never times out
}

}  // namespace

TEST_CASE("paths matrix: RTT 0 ms, 0% loss") { rtt_loss_case(0ms, 0, 701); }
TEST_CASE("paths matrix: RTT 0 ms, 2% loss") { rtt_loss_case(0ms, 0.02, 702); }
TEST_CASE("paths matrix: RTT 20 ms, 0% loss") { rtt_loss_case(20ms, 0, 703); }
TEST_CASE("paths matrix: RTT 20 ms, 2% loss") { rtt_loss_case(20ms, 0.02, 704); }
TEST_CASE("paths matrix: RTT 100 ms, 0% loss") { rtt_loss_case(100ms, 0, 705); }
TEST_CASE("paths matrix: RTT 100 ms, 2% loss") { rtt_loss_case(100ms, 0.02, 706); }

TEST_CASE("paths matrix: 20 ms RTT with 25% of datagrams reordered by up to 10 ms") {
  path_spec s;
  s.path.delay = 10ms;
  s.path.reorder = 0.25;
  s.path.reorder_delay = 10000us;
  s.size = 4u << 20;
  s.seed = 711;
  auto r = run_path(s);
  check_path(s, r, 2.0, r.chunks / 50);
}

TEST_CASE("paths matrix: 2% loss and reordering together on a 20 ms path") {
  path_spec s;
  s.path.delay = 10ms;
  s.path.drop = 0.02;
  s.path.reorder = 0.10;
  s.path.reorder_delay = 5000us;
  s.size = 4u << 20;
  s.seed = 712;
  auto r = run_path(s);
  check_path(s, r, 2.0, 32 + r.chunks / 50);
}

TEST_CASE("paths matrix: a competing transfer on a 100 ms RTT, 2 MB/s bottleneck") {
  path_spec s;
  s.path.delay = 50ms;
  s.path.rate_bytes_per_s = 2e6;
  s.size = 4u << 20;
  s.second_size = 2u << 20;
  s.second_after = 1000ms;
  s.seed = 721;
  auto r = run_path(s);
  check_path(s, r, 2.0, r.chunks / 50);
}

TEST_CASE("paths matrix: the path jumps from 10 ms RTT and no loss to 200 ms RTT and 2% loss mid-transfer") {
  path_spec s;
  s.path.delay = 5ms;
  s.path.rate_bytes_per_s = 4e6;
  s.size = 6u << 20;
  fault_config worse;
  worse.delay = 100ms;
  worse.drop = 0.02;
  worse.rate_bytes_per_s = 4e6;
  s.change = worse;
  s.change_after = 600ms;
  s.seed = 731;
  auto r = run_path(s);
  // The RTT jumps 20-fold: the old RTO may fire once on what is merely late (one window resent at most).
  check_path(s, r, 2.0, 32 + (mk::limits::transfer_max_window / mk::limits::max_chunk) / 4);
}

TEST_CASE("paths matrix: a 2 s blackout on a 100 ms RTT path with 1% loss") {
  path_spec s;
  s.path.delay = 50ms;
  s.path.drop = 0.01;
  s.path.rate_bytes_per_s = 2e6;
  s.size = 4u << 20;
  s.change = s.path;
  s.change_after = 800ms;
  s.blackout = 2000ms;
  s.seed = 741;
  auto r = run_path(s);
  check_path(s, r, 1.0, 32);
  CHECK(r.timeouts >= 1);
}
