// The legacy sender toward an original receiver (issue 12): the original ACKs at once only every 10240 bytes, on
// completion and on a duplicate chunk, otherwise on its 100 ms timer; its socket buffer is the kernel default. A
// sender that overflows that buffer and then repairs each hole on one timer ACK falls to one chunk per 100 ms.
// Single-step checks of the rules that prevent it, then whole transfers over the simulated link against the model
// of the original (link_sim.hpp), compared with original -> original on the same link.
#include <doctest/doctest.h>

#include <cstdio>

#include "core/limits.hpp"
#include "core/transfer/sender.hpp"
#include "tests/core/transfer/link_sim.hpp"

using namespace mk::transfer;
using namespace mk::transfer::sim;
using namespace std::chrono_literals;
namespace limits = mk::limits;

namespace {

void drain(sender& s, time_point now, std::vector<chunk>* out = nullptr) {
  while (auto c = s.next_chunk(now))
    if (out)
      out->push_back(*c);
}

double secs(duration d) { return std::chrono::duration<double>(d).count(); }

struct timed {
  bool done = false, equal = false;
  double seconds = 0;
  std::uint64_t data = 0, retransmits = 0, probes = 0;
};

timed original_to_original(std::uint64_t size, link_config fwd, link_config back, std::uint64_t seed) {
  auto file = make_file(size, seed);
  original_sender s(file, t0);
  original_receiver r(size);
  auto res = run(s, r, fwd, back, seed, std::chrono::minutes(5));
  return {s.done(), r.content() == file, secs(res.end - t0), res.data_datagrams, 0, 0};
}

timed ours_to_original(std::uint64_t size, link_config fwd, link_config back, std::uint64_t seed) {
  auto file = make_file(size, seed);
  our_sender s(file, peer_mode::legacy, t0);
  original_receiver r(size);
  auto res = run(s, r, fwd, back, seed, std::chrono::minutes(5));
  return {s.done(), r.content() == file, secs(res.end - t0), res.data_datagrams, s.machine().retransmit_count(),
          s.machine().probe_count()};
}

}  // namespace

TEST_CASE("sender legacy: each retransmission round ends with one ACK probe, the chunk below the ACK point") {
  sender s(40 * 1024, peer_mode::legacy, t0);
  (void)s.on_ack(0, t0);
  drain(s, t0);
  CHECK(s.on_ack(5 * 1024, t0 + 1ms));  // RTT 1 ms
  drain(s, t0 + 1ms);
  auto in_flight = s.bytes_in_flight();
  CHECK(s.on_ack(5 * 1024, t0 + 150ms));  // the 100 ms repeat: the chunk at 5120 is missing
  std::vector<chunk> out;
  drain(s, t0 + 150ms, &out);
  REQUIRE(out.size() >= 2);
  CHECK(out[0] == chunk{5 * 1024, 1024, true, false});
  CHECK(out[1] == chunk{4 * 1024, 1024, true, true});  // already acknowledged: the receiver ACKs it at once
  CHECK(s.probe_count() == 1);
  CHECK(s.bytes_in_flight() <= in_flight);  // the probe is not counted in flight
  for (std::size_t i = 2; i < out.size(); ++i)
    CHECK_FALSE(out[i].ack_probe);
  // At byte 0 there is nothing the receiver surely holds: no probe.
  sender z(40 * 1024, peer_mode::legacy, t0);
  (void)z.on_ack(0, t0);
  drain(z, t0);
  CHECK(z.on_ack(0, t0 + 1ms));
  CHECK(z.on_ack(0, t0 + 400ms));
  out.clear();
  drain(z, t0 + 400ms, &out);
  REQUIRE_FALSE(out.empty());
  CHECK(out[0] == chunk{0, 1024, true, false});
  for (auto& c : out)
    CHECK_FALSE(c.ack_probe);
  // Extended peers get SACKs: never a probe.
  sender e(40 * 1024, peer_mode::extended, t0);
  (void)e.on_ack(0, t0);
  drain(e, t0);
  (void)e.on_ack(5 * 1024, t0 + 1ms);
  e.on_tick(t0 + 5s);
  out.clear();
  drain(e, t0 + 5s, &out);
  for (auto& c : out)
    CHECK_FALSE(c.ack_probe);
}

TEST_CASE("sender legacy: the window toward an original stays within legacy_max_window_chunks") {
  sender s(4u << 20, peer_mode::legacy, t0);
  (void)s.on_ack(0, t0);
  time_point now = t0;
  std::uint64_t most = 0;
  for (int round = 0; round < 200 && s.state() == sender_state::sending; ++round) {
    drain(s, now);
    most = std::max<std::uint64_t>(most, s.sent_bytes() - s.acked_bytes());
    now += 1ms;
    (void)s.on_ack(s.sent_bytes(), now);  // every chunk arrives: slow start would grow without a cap
  }
  CHECK(most == limits::legacy_max_window_chunks * chunk_size);
  CHECK(s.congestion().cwnd() <= limits::legacy_max_window_chunks * chunk_size);
}

TEST_CASE("sender legacy: a hole the original reports on its 100 ms timer costs one probe interval, not 100 ms") {
  sender s(100 * 1024, peer_mode::legacy, t0);
  (void)s.on_ack(0, t0);
  drain(s, t0);
  CHECK(s.on_ack(10 * 1024, t0 + 2ms));  // RTT ~2 ms
  drain(s, t0 + 2ms);
  // The timer reports next = 12288, 100 ms later. The ACK itself took 100 ms (chunks 10 and 11 went out with 12),
  // so it proves nothing about 12 yet...
  CHECK(s.on_ack(12 * 1024, t0 + 102ms));
  std::vector<chunk> out;
  drain(s, t0 + 102ms, &out);
  CHECK(s.retransmit_count() == 0);
  // ...but within a probe interval the sender asks (the chunk below the ACK point), the original answers at once
  // with the same point, and the chunk is resent: no second 100 ms wait.
  auto at = s.next_deadline();
  CHECK(at <= t0 + 102ms + limits::legacy_probe_interval);
  s.on_tick(at);
  out.clear();
  drain(s, at, &out);
  REQUIRE_FALSE(out.empty());
  CHECK(out[0] == chunk{11 * 1024, 1024, true, true});
  CHECK(s.on_ack(12 * 1024, at + 1ms));
  out.clear();
  drain(s, at + 1ms, &out);
  REQUIRE_FALSE(out.empty());
  CHECK(out[0] == chunk{12 * 1024, 1024, true, false});
}

TEST_CASE("sender legacy: an ACK held back by the receiver does not make the next chunk look lost") {
  sender s(100 * 1024, peer_mode::legacy, t0);
  (void)s.on_ack(0, t0);
  drain(s, t0);
  CHECK(s.on_ack(10 * 1024, t0 + 2ms));
  drain(s, t0 + 2ms);  // chunks 10..29 go out together
  // The +10240 ACK for chunk 19 comes 15 ms late (a busy receiver): 20 went out with 19 and is not overdue.
  CHECK(s.on_ack(20 * 1024, t0 + 17ms));
  std::vector<chunk> out;
  drain(s, t0 + 17ms, &out);
  CHECK(s.retransmit_count() == 0);
  // Nor does an ACK that simply came before the chunk could have arrived.
  sender f(100 * 1024, peer_mode::legacy, t0);
  (void)f.on_ack(0, t0);
  drain(f, t0);
  CHECK(f.on_ack(10 * 1024, t0 + 20ms));  // RTT ~20 ms
  drain(f, t0 + 20ms);
  CHECK(f.on_ack(12 * 1024, t0 + 25ms));
  drain(f, t0 + 25ms, &out);
  for (auto& c : out)
    CHECK_FALSE(c.retransmission);
  CHECK(f.retransmit_count() == 0);
}

TEST_CASE("sender legacy: a dead path gets a few probes with backoff, never the original's 10 ms storm") {
  sender s(100 * 1024, peer_mode::legacy, t0);
  (void)s.on_ack(0, t0);
  drain(s, t0);
  CHECK(s.on_ack(10 * 1024, t0 + 2ms));
  drain(s, t0 + 2ms);
  time_point now = t0 + 2ms;
  std::uint64_t datagrams = 0;
  while (s.state() == sender_state::sending && now < t0 + 60s) {
    now = s.next_deadline();
    s.on_tick(now);
    while (s.next_chunk(now))
      ++datagrams;
  }
  CHECK(s.state() == sender_state::failed);  // the stall timeout still ends it
  CHECK(datagrams > 5);
  CHECK(datagrams < 60);  // the original: one resend per 10 ms pass, 3000 in 30 s
}

TEST_CASE("legacy sender -> original receiver whose socket buffer overflows: at least original -> original") {
  // Loopback-like: 50 us each way; the original drains its socket at 20 MB/s and the buffer holds 64 KB. A burst
  // fills it in well under a millisecond, before any delay signal could stop slow start.
  link_config fwd;
  fwd.delay = 50us;
  fwd.bytes_per_second = 20e6;
  fwd.queue_bytes = 64 * 1024;
  link_config back;
  back.delay = 50us;
  const std::uint64_t size = 1536 * 1024 + 333;
  auto base = original_to_original(size, fwd, back, 5);
  auto ours = ours_to_original(size, fwd, back, 5);
  std::printf("overflowing receiver, 1.5 MB: original -> original %.2f s (%.2f MB/s); ours -> original %.2f s "
              "(%.2f MB/s), %llu data datagrams, %llu retransmits, %llu probes\n",
              base.seconds, static_cast<double>(size) / base.seconds / 1e6, ours.seconds,
              static_cast<double>(size) / ours.seconds / 1e6, static_cast<unsigned long long>(ours.data),
              static_cast<unsigned long long>(ours.retransmits), static_cast<unsigned long long>(ours.probes));
  REQUIRE(base.done);
  REQUIRE(ours.done);
  CHECK(ours.equal);
  CHECK(ours.seconds <= base.seconds);
  CHECK(ours.retransmits == 0);  // the window never overflows the original's buffer (uncapped: 124 lost chunks)
}

TEST_CASE("legacy sender -> original receiver under 2% random loss: at least original -> original, no storm") {
  for (auto delay : {50us, 5000us}) {
    CAPTURE(secs(delay));
    link_config c;
    c.delay = delay;
    c.loss = 0.02;
    const std::uint64_t size = 1536 * 1024 + 333;
    auto base = original_to_original(size, c, c, 9);
    auto ours = ours_to_original(size, c, c, 9);
    std::printf("2%% loss, one-way %.2f ms, 1.5 MB: original -> original %.2f s; ours -> original %.2f s, %llu data "
                "datagrams for %llu chunks, %llu retransmits, %llu probes\n",
                secs(delay) * 1e3, base.seconds, ours.seconds, static_cast<unsigned long long>(ours.data),
                static_cast<unsigned long long>((size + 1023) / 1024),
                static_cast<unsigned long long>(ours.retransmits), static_cast<unsigned long long>(ours.probes));
    REQUIRE(base.done);
    REQUIRE(ours.done);
    CHECK(ours.equal);
    // The original loses 100-200 ms per loss (its ACK timer, then its resend delay); a hole must cost us about a
    // probe interval and a round trip.
    CHECK(ours.seconds <= 0.7 * base.seconds);
    // Every loss costs about one retransmission and one probe; the original's storm sends far more.
    CHECK(ours.data < (size + 1023) / 1024 * 115 / 100);
  }
}
