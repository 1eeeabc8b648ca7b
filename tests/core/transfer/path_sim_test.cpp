// Congestion control on real paths (issue 12, item 6) in virtual time: the extended sender against our receiver
// over the simulated link (link_sim.hpp), for the cases where a real run showed trouble: reordering on a fast path,
// and a path whose delay jumps mid-transfer. Each asserts completion and that retransmissions stay far below a
// storm (here no datagram is lost at all: every retransmission is spurious).
#include <doctest/doctest.h>

#include <cstdio>

#include "tests/core/transfer/link_sim.hpp"

using namespace mk::transfer;
using namespace mk::transfer::sim;

namespace {

struct sim_outcome {
  run_result run;
  bool done = false, equal = false;
  std::uint64_t retransmits = 0, timeouts = 0;
};

sim_outcome send_over(std::uint64_t size, link_config fwd, link_config back, std::uint64_t seed,
                      std::optional<path_change> change = {}) {
  auto file = make_file(size, seed);
  our_sender s{file, peer_mode::extended, t0};
  our_receiver r{size, peer_mode::extended};
  sim_outcome o;
  o.run = run(s, r, fwd, back, seed, std::chrono::minutes(5), 50ms, change);
  o.done = s.done();
  o.equal = r.content() == file;
  o.retransmits = s.machine().retransmit_count();
  o.timeouts = s.machine().timeout_count();
  return o;
}

}  // namespace

TEST_CASE("path sim: reordering without loss on a fast path causes few spurious retransmissions") {
  link_config fwd;
  fwd.delay = 100us;
  fwd.reorder = 0.10;
  fwd.reorder_extra = 5ms;
  fwd.bytes_per_second = 100e6;
  fwd.queue_bytes = 4u << 20;
  link_config back;
  back.delay = 100us;
  const std::uint64_t size = 8u << 20;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    auto o = send_over(size, fwd, back, seed);
    std::printf("reorder 10%% by <= 5 ms, 0.2 ms RTT: %llu retransmits of %llu chunks, %llu RTOs, %.3f s\n",
                static_cast<unsigned long long>(o.retransmits), static_cast<unsigned long long>(size / 1024),
                static_cast<unsigned long long>(o.timeouts),
                std::chrono::duration<double>(o.run.end - t0).count());
    CHECK(o.done);
    CHECK(o.equal);
    CHECK(o.retransmits <= size / 1024 / 50);  // < 2 % of the chunks
  }
}

TEST_CASE("path sim: a delay jump from 10 ms to 200 ms RTT mid-transfer does not resend the window") {
  link_config fwd;
  fwd.delay = 5ms;
  fwd.bytes_per_second = 4e6;
  fwd.queue_bytes = 1u << 20;
  link_config back;
  back.delay = 5ms;
  path_change change;
  change.after = 600ms;
  change.fwd = fwd;
  change.fwd.delay = 100ms;
  change.back = back;
  change.back.delay = 100ms;
  const std::uint64_t size = 6u << 20;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    auto o = send_over(size, fwd, back, seed, change);
    std::printf("delay jump 10 -> 200 ms RTT: %llu retransmits, %llu RTOs, %.3f s\n",
                static_cast<unsigned long long>(o.retransmits), static_cast<unsigned long long>(o.timeouts),
                std::chrono::duration<double>(o.run.end - t0).count());
    CHECK(o.done);
    CHECK(o.equal);
    CHECK(o.retransmits <= 16);  // nothing is lost: at most the RTO's probes
  }
}
