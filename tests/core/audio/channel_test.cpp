// The modern voice path end to end without sockets: encoder -> simulated lossy, jittery channel -> jitter buffer
// -> decoder (voice_receiver), on a virtual clock.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "core/audio/opus_codec.hpp"
#include "core/audio/signals.hpp"
#include "core/audio/voice_receiver.hpp"

using namespace mk::audio;
using namespace std::chrono_literals;

namespace {

struct in_flight {
  std::chrono::microseconds arrival;
  std::uint32_t seq;
  std::uint32_t ts;
  std::vector<std::uint8_t> packet;
};

struct channel_result {
  std::vector<std::int16_t> output;
  jitter_stats stats;
  std::uint64_t decode_errors = 0;
  std::size_t sent = 0;
  std::size_t dropped_by_channel = 0;
};

// loss: probability a packet is dropped; jitter: extra delay uniform in [0, jitter] on top of 10 ms.
channel_result run_channel(const std::vector<std::int16_t>& input, double loss, std::chrono::milliseconds jitter,
                           unsigned seed) {
  auto enc = opus_encoder::create(profile::modern);
  auto rx = voice_receiver::create();
  REQUIRE(enc.ok());
  REQUIRE(rx.ok());
  std::mt19937 rng(seed);
  std::bernoulli_distribution lose(loss);
  std::uniform_int_distribution<long> extra(0, std::chrono::duration_cast<std::chrono::microseconds>(jitter).count());

  channel_result res;
  std::vector<in_flight> wire;
  const std::uint32_t seq0 = 0xFFFFFF00u;  // wraps during the run
  const std::uint32_t ts0 = 123456789u;
  for (std::size_t i = 0; i * 960 + 960 <= input.size(); ++i) {
    auto pkt = enc->encode(std::span{input}.subspan(i * 960, 960));
    REQUIRE(pkt.ok());
    ++res.sent;
    if (lose(rng)) {
      ++res.dropped_by_channel;
      continue;
    }
    const auto sent_at = std::chrono::microseconds{static_cast<long>(i) * 20000};
    wire.push_back({sent_at + 10ms + std::chrono::microseconds{extra(rng)}, seq0 + static_cast<std::uint32_t>(i),
                    ts0 + static_cast<std::uint32_t>(i * 960), std::move(*pkt)});
  }
  std::sort(wire.begin(), wire.end(), [](const auto& a, const auto& b) { return a.arrival < b.arrival; });

  const time_point epoch{};
  std::size_t next = 0;
  // The playback clock ticks every 20 ms with an arbitrary phase against the sender.
  for (auto now = 7ms; now < std::chrono::milliseconds{static_cast<long>(res.sent) * 20 + 300}; now += 20ms) {
    while (next < wire.size() && wire[next].arrival <= now) {
      const auto& w = wire[next++];
      rx->insert(w.seq, w.ts, w.packet, epoch + w.arrival);
    }
    auto frame = rx->next_frame(epoch + now);
    REQUIRE(frame.size() == 960);
    res.output.insert(res.output.end(), frame.begin(), frame.end());
  }
  res.stats = rx->stats();
  res.decode_errors = rx->decode_errors();
  return res;
}

}  // namespace

TEST_CASE("a 1 kHz tone survives a 5%-loss, 30 ms-jitter channel") {
  constexpr int rate = 48000;
  const auto input = tone(1000, 6.0, rate, 0.3);
  for (unsigned seed : {1234u, 5u, 77u}) {
  CAPTURE(seed);
  const auto res = run_channel(input, 0.05, 30ms, seed);
  const auto& st = res.stats;

  const double f = dominant_frequency(res.output, rate);
  CHECK(f == doctest::Approx(1000).epsilon(0.003));
  // Lag search up to 200 ms: the pipeline delay is the channel (10-40 ms) + buffering (<= 120 ms) + tick phase.
  const auto al = best_alignment(input, res.output, rate / 5);
  const auto pair = align(input, res.output, al.lag);
  const double snr = snr_db(pair.reference, pair.received);
  MESSAGE("channel: sent " << res.sent << ", channel dropped " << res.dropped_by_channel << ", played "
                           << st.played << ", lost " << st.lost << " (fec " << st.fec << ", plc " << st.concealed
                           << "), late " << st.late << ", underruns " << st.underruns << ", dropped " << st.dropped
                           << ", target " << st.target_delay.count() / 1000 << " ms, jitter "
                           << st.jitter.count() / 1000 << " ms, lag " << al.lag * 1000 / rate << " ms, corr "
                           << al.correlation << ", SNR " << snr << " dB");
  CHECK(res.decode_errors == 0);
  CHECK(st.resyncs == 0);  // the seq wrap in the middle is not a new stream
  // Every sent frame is accounted for: played, or lost (counted once), or the channel ate it while the buffer was
  // refilling (then skipped as lost too).
  CHECK(st.played + st.lost + st.dropped >= res.sent - 2);
  CHECK(st.played >= res.sent * 85 / 100);
  CHECK(st.fec > 0);  // isolated losses are the common case at 5%: FEC gets used
  CHECK(al.lag >= 0);
  CHECK(al.lag < rate * 150 / 1000);  // total delay bounded (channel <= 40 ms + buffer <= 120 ms)
  CHECK(st.target_delay <= 120ms);
  // A clean steady tone through the codec alone gives the SNR measured in opus_codec_test; concealed and
  // FEC frames approximate the tone less well. Random noise or a wrong alignment would give <= 0 dB.
  CHECK(al.correlation > 0.7);
  CHECK(snr > 3.0);
  }
}

TEST_CASE("a clean channel plays every frame with low added delay") {
  constexpr int rate = 48000;
  // A sweep, not a tone: its alignment is unambiguous, so the lag is the real delay.
  const auto input = sweep(300, 3000, 4.0, rate, 0.3);
  const auto res = run_channel(input, 0.0, 0ms, 99);
  const auto& st = res.stats;
  CHECK(st.lost == 0);
  CHECK(st.late == 0);
  CHECK(st.underruns == 1);  // only at the end of the stream
  // The start target (40 ms) is shed by at most one frame once the channel proves jitter-free.
  CHECK(st.dropped <= 1);
  CHECK(st.played + st.dropped == res.sent);
  CHECK(st.target_delay == 20ms);
  // Measure the steady state, after the start-up: output and input indices both start at stream time 0.
  const auto skip = static_cast<std::size_t>(2 * rate);
  const auto al = best_alignment(std::span{input}.subspan(skip), std::span{res.output}.subspan(skip), rate / 5);
  // Output index 0 is the first playback tick, 7 ms after the first send.
  const double delay_ms = static_cast<double>(al.lag) * 1000 / rate + 7;
  MESSAGE("clean channel: send-to-play delay " << delay_ms << " ms (10 ms channel + buffer + 6.5 ms codec), corr "
                                               << al.correlation);
  CHECK(al.correlation > 0.8);
  CHECK(delay_ms > 10);
  CHECK(delay_ms <= 40);
}
