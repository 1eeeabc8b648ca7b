#pragma once
// Test signals and objective measures for the voice path: a tone or sweep goes in, and the received audio is
// judged by its dominant frequency and by correlation / SNR against the input after alignment.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mk::audio {

// -- generators (int16, mono) --
std::vector<std::int16_t> tone(double freq_hz, double seconds, int rate, double amplitude);
// Linear chirp from f0 to f1 over `seconds` (phase is integrated, so there are no jumps).
std::vector<std::int16_t> sweep(double f0_hz, double f1_hz, double seconds, int rate, double amplitude);
std::vector<std::int16_t> silence(double seconds, int rate);

// -- analysis --
// Frequency of the strongest spectral peak (Hann-windowed FFT over up to 65536 samples from the middle of the
// signal, refined by parabolic interpolation): sub-Hz accurate for a steady tone. 0 for silence.
double dominant_frequency(std::span<const std::int16_t> samples, int rate);
double rms(std::span<const std::int16_t> samples);

struct alignment {
  std::ptrdiff_t lag = 0;    // received[i + lag] lines up with reference[i]
  double correlation = 0.0;  // normalised correlation (-1..1) over the overlap at that lag
};
// The lag in [-max_lag, max_lag] that maximises the cross-correlation (computed with an FFT).
alignment best_alignment(std::span<const std::int16_t> reference, std::span<const std::int16_t> received,
                         std::size_t max_lag);

// The overlapping parts of reference and received under `lag` (equal lengths).
struct aligned_pair {
  std::span<const std::int16_t> reference;
  std::span<const std::int16_t> received;
};
aligned_pair align(std::span<const std::int16_t> reference, std::span<const std::int16_t> received,
                   std::ptrdiff_t lag);

// 10*log10(sum ref^2 / sum (ref - rec)^2) over the common length; large when identical (capped at 200 dB).
double snr_db(std::span<const std::int16_t> reference, std::span<const std::int16_t> received_aligned);
// Normalised correlation over the common length.
double correlation(std::span<const std::int16_t> a, std::span<const std::int16_t> b);

}  // namespace mk::audio
