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
  const std::uint64_t size = 24u << 20;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    auto o = send_over(size, fwd, back, seed, change);
    std::printf("delay jump 10 -> 200 ms RTT: %llu retransmits, %llu RTOs, %.3f s\n",
                static_cast<unsigned long long>(o.retransmits), static_cast<unsigned long long>(o.timeouts),
                std::chrono::duration<double>(o.run.end - t0).count());
    CHECK(o.done);
    CHECK(o.equal);
    CHECK(o.retransmits <= 16);  // nothing is lost: at most the RTO's probes
    // Against the 10 ms base delay, 200 ms reads as a standing queue of 190 ms: the delay signal would hold the
    // window far below the path's 800 KB in flight for good. The base delay expires within two 5 s windows, then
    // the 4 MB/s path fills: 24 MiB in ~10 s + ~4 s.
    CHECK(o.run.end - t0 <= 20s);
  }
}

TEST_CASE("path sim: 1% random loss on a 40 ms path keeps a useful share of the lossless goodput") {
  link_config fwd;
  fwd.delay = 20ms;
  fwd.bytes_per_second = 20e6;
  fwd.queue_bytes = 1u << 20;
  link_config back;
  back.delay = 20ms;
  const std::uint64_t size = 8u << 20;
  auto clean = send_over(size, fwd, back, 1);
  REQUIRE(clean.done);
  double clean_s = std::chrono::duration<double>(clean.run.end - t0).count();
  fwd.loss = back.loss = 0.01;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    auto o = send_over(size, fwd, back, seed);
    double s = std::chrono::duration<double>(o.run.end - t0).count();
    std::printf("1%% loss, 40 ms RTT, 20 MB/s: %.2f MB/s (%.2f of lossless %.2f MB/s), %llu retransmits, %llu RTOs\n",
                static_cast<double>(size) / s / 1e6, clean_s / s, static_cast<double>(size) / clean_s / 1e6,
                static_cast<unsigned long long>(o.retransmits), static_cast<unsigned long long>(o.timeouts));
    CHECK(o.done);
    CHECK(o.equal);
    // Reno's halving and one-chunk growth hold it to ~12 chunks per RTT (0.3 MB/s, under 0.05 of lossless).
    CHECK(clean_s / s >= 0.15);
  }
}

TEST_CASE("path sim: a drop-tail bottleneck still makes the sender back off (the queue is not taken for random loss)") {
  link_config fwd;
  fwd.delay = 10ms;
  fwd.bytes_per_second = 4e6;
  fwd.queue_bytes = 128 * 1024;  // ~32 ms of queue: a full one is a congestion signal
  link_config back;
  back.delay = 10ms;
  auto o = send_over(8u << 20, fwd, back, 1);
  std::printf("drop-tail 4 MB/s: %llu queue drops, %llu retransmits, mean queue %.1f ms\n",
              static_cast<unsigned long long>(o.run.queue_drops), static_cast<unsigned long long>(o.retransmits),
              std::chrono::duration<double, std::milli>(o.run.mean_queue_delay).count());
  CHECK(o.done);
  CHECK(o.equal);
  CHECK(o.run.queue_drops <= 100);  // 8192 chunks: a sender that ignored the queue would lose far more
  CHECK(o.run.mean_queue_delay <= 2 * mk::limits::transfer_target_delay);
}

TEST_CASE("sender extended: a lost last chunk is probed after 2 SRTT, long before the RTO") {
  const std::uint64_t size = 10 * 1024;  // the initial window
  sender s{size, peer_mode::extended, t0};
  time_point now = t0;
  REQUIRE(s.on_ack(0, now));
  std::vector<chunk> sent;
  while (auto c = s.next_chunk(now)) sent.push_back(*c);
  REQUIRE(sent.size() == 10);
  now += 10ms;
  // Everything but the last chunk arrives: nothing was sent after it, so RACK has nothing to detect it by.
  REQUIRE(s.on_sack(size - 1024, {}, now));
  CHECK_FALSE(s.next_chunk(now));
  auto probe_at = s.next_deadline();
  CHECK(probe_at < now + 50ms);                 // 2 x 10 ms + the ACK delay
  CHECK(probe_at < now + s.congestion().rto());  // the RTO is 200 ms at least
  s.on_tick(probe_at);
  auto c = s.next_chunk(probe_at);
  REQUIRE(c);
  CHECK(c->offset == size - 1024);
  CHECK(c->retransmission);
  CHECK(s.tail_probe_count() == 1);
  CHECK(s.timeout_count() == 0);
  CHECK_FALSE(s.next_chunk(probe_at));  // one probe per flight
  REQUIRE(s.on_sack(size, {}, probe_at + 10ms));
  CHECK(s.state() == sender_state::done);
}
