#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "core/audio/signals.hpp"

using namespace mk::audio;

TEST_CASE("generators: length, level and frequency") {
  const auto t = tone(1000, 0.5, 48000, 0.5);
  CHECK(t.size() == 24000);
  CHECK(rms(t) == doctest::Approx(32767 * 0.5 / std::sqrt(2.0)).epsilon(0.01));
  CHECK(dominant_frequency(t, 48000) == doctest::Approx(1000).epsilon(0.0005));
  CHECK(dominant_frequency(tone(440, 1, 48000, 0.1), 48000) == doctest::Approx(440).epsilon(0.001));
  CHECK(dominant_frequency(tone(3137, 1, 16000, 0.9), 16000) == doctest::Approx(3137).epsilon(0.001));
  const auto s = silence(0.25, 48000);
  CHECK(s.size() == 12000);
  CHECK(rms(s) == 0);
  CHECK(dominant_frequency(s, 48000) == 0);
  // Full-scale clips rather than wrapping.
  const auto loud = tone(50, 0.1, 48000, 1.0);
  CHECK(*std::max_element(loud.begin(), loud.end()) == 32767);
  // A sweep's middle is at its mid frequency.
  const auto sw = sweep(500, 1500, 2.0, 48000, 0.5);
  CHECK(sw.size() == 96000);
  const auto mid = std::span{sw}.subspan(48000 - 2048, 4096);
  CHECK(dominant_frequency(mid, 48000) == doctest::Approx(1000).epsilon(0.02));
}

TEST_CASE("alignment finds a known delay, and SNR reflects added noise") {
  const auto ref = sweep(300, 3000, 1.0, 48000, 0.5);
  const std::ptrdiff_t delay = 737;
  std::vector<std::int16_t> rec(static_cast<std::size_t>(delay), 0);
  rec.insert(rec.end(), ref.begin(), ref.end());
  auto al = best_alignment(ref, rec, 2000);
  CHECK(al.lag == delay);
  CHECK(al.correlation == doctest::Approx(1.0).epsilon(1e-6));
  auto pair = align(ref, rec, al.lag);
  CHECK(pair.reference.size() == ref.size());
  CHECK(snr_db(pair.reference, pair.received) == 200.0);

  // Negative lag: the received signal starts late in the reference.
  const std::span<const std::int16_t> tail = std::span{ref}.subspan(500);
  al = best_alignment(ref, tail, 2000);
  CHECK(al.lag == -500);

  // Noise 20 dB below the signal gives about 20 dB SNR.
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, rms(ref) / 10.0);
  std::vector<std::int16_t> noisy(ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) noisy[i] = static_cast<std::int16_t>(std::lround(ref[i] + noise(rng)));
  CHECK(snr_db(ref, noisy) == doctest::Approx(20.0).epsilon(0.03));
  CHECK(correlation(ref, noisy) > 0.99);
  // An unrelated signal has ~0 correlation and a negative-ish SNR.
  const auto other = tone(7777, 1.0, 48000, 0.5);
  CHECK(std::abs(correlation(ref, other)) < 0.05);
  CHECK(snr_db(ref, other) < 0.5);
}
