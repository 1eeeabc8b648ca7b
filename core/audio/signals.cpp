#include "core/audio/signals.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>

#include "core/audio/fft.hpp"

namespace mk::audio {

namespace {

constexpr double full_scale = 32767.0;
constexpr std::size_t max_analysis_window = 65536;  // 1.4 s at 48 kHz: 0.73 Hz bins before interpolation

std::int16_t to_sample(double v) {
  return static_cast<std::int16_t>(std::lround(std::clamp(v, -32768.0, 32767.0)));
}

std::size_t samples_for(double seconds, int rate) {
  if (seconds <= 0 || rate <= 0) return 0;
  return static_cast<std::size_t>(std::llround(seconds * rate));
}

// Prefix sums of squares, so the energy of any window is two lookups.
std::vector<double> energy_prefix(std::span<const std::int16_t> s) {
  std::vector<double> p(s.size() + 1, 0.0);
  for (std::size_t i = 0; i < s.size(); ++i) p[i + 1] = p[i] + static_cast<double>(s[i]) * s[i];
  return p;
}

}  // namespace

// -- generators --

std::vector<std::int16_t> tone(double freq_hz, double seconds, int rate, double amplitude) {
  const std::size_t n = samples_for(seconds, rate);
  const double a = std::clamp(amplitude, 0.0, 1.0) * full_scale;
  std::vector<std::int16_t> out(n);
  const double w = 2 * std::numbers::pi * freq_hz / rate;
  for (std::size_t i = 0; i < n; ++i) out[i] = to_sample(a * std::sin(w * static_cast<double>(i)));
  return out;
}

std::vector<std::int16_t> sweep(double f0_hz, double f1_hz, double seconds, int rate, double amplitude) {
  const std::size_t n = samples_for(seconds, rate);
  const double a = std::clamp(amplitude, 0.0, 1.0) * full_scale;
  std::vector<std::int16_t> out(n);
  // phase(t) = 2*pi*(f0*t + (f1-f0)*t^2/(2T))
  const double k = (f1_hz - f0_hz) / seconds;
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / rate;
    out[i] = to_sample(a * std::sin(2 * std::numbers::pi * (f0_hz * t + k * t * t / 2)));
  }
  return out;
}

std::vector<std::int16_t> silence(double seconds, int rate) {
  return std::vector<std::int16_t>(samples_for(seconds, rate), 0);
}

// -- analysis --

double rms(std::span<const std::int16_t> s) {
  if (s.empty()) return 0.0;
  double sum = 0;
  for (std::int16_t v : s) sum += static_cast<double>(v) * v;
  return std::sqrt(sum / static_cast<double>(s.size()));
}

double dominant_frequency(std::span<const std::int16_t> samples, int rate) {
  if (samples.size() < 8 || rate <= 0) return 0.0;
  std::size_t n = detail::next_pow2(samples.size());
  if (n > samples.size()) n >>= 1;
  n = std::min(n, max_analysis_window);
  const auto seg = samples.subspan((samples.size() - n) / 2, n);  // the middle: away from start-up transients
  std::vector<std::complex<double>> buf(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double hann = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(n));
    buf[i] = seg[i] * hann;
  }
  detail::fft(buf, false);
  std::size_t peak = 0;
  double peak_mag = 0;
  for (std::size_t k = 1; k + 1 < n / 2; ++k) {
    const double m = std::abs(buf[k]);
    if (m > peak_mag) {
      peak_mag = m;
      peak = k;
    }
  }
  if (peak == 0 || peak_mag <= 0) return 0.0;
  // Parabolic interpolation of the log magnitude: near-exact for a Hann-windowed sinusoid.
  const double l = std::log(std::abs(buf[peak - 1]) + 1e-12);
  const double c = std::log(peak_mag);
  const double r = std::log(std::abs(buf[peak + 1]) + 1e-12);
  const double denom = l - 2 * c + r;
  const double delta = denom == 0 ? 0.0 : 0.5 * (l - r) / denom;
  return (static_cast<double>(peak) + delta) * rate / static_cast<double>(n);
}

alignment best_alignment(std::span<const std::int16_t> reference, std::span<const std::int16_t> received,
                         std::size_t max_lag) {
  alignment best;
  const std::size_t nref = reference.size();
  const std::size_t nrec = received.size();
  if (nref == 0 || nrec == 0) return best;
  // Circular correlation without wrap-around needs n >= nref + nrec - 1.
  const std::size_t n = detail::next_pow2(nref + nrec);
  std::vector<std::complex<double>> a(n), b(n);
  for (std::size_t i = 0; i < nref; ++i) a[i] = reference[i];
  for (std::size_t i = 0; i < nrec; ++i) b[i] = received[i];
  detail::fft(a, false);
  detail::fft(b, false);
  for (std::size_t i = 0; i < n; ++i) a[i] = std::conj(a[i]) * b[i];
  detail::fft(a, true);  // a[k] = n * sum_i ref[i] * rec[i + k]  (k < 0 at n + k)

  const auto pref = energy_prefix(reference);
  const auto prec = energy_prefix(received);
  // Tiny overlaps give meaningless correlations; demand at least half of the shorter signal.
  const auto min_overlap = static_cast<std::ptrdiff_t>(std::max<std::size_t>(1, std::min(nref, nrec) / 2));
  const auto lim = static_cast<std::ptrdiff_t>(std::min(max_lag, std::max(nref, nrec)));
  bool found = false;
  for (std::ptrdiff_t lag = -lim; lag <= lim; ++lag) {
    const std::ptrdiff_t i0 = std::max<std::ptrdiff_t>(0, -lag);
    const std::ptrdiff_t i1 = std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(nref),
                                                       static_cast<std::ptrdiff_t>(nrec) - lag);
    if (i1 - i0 < min_overlap) continue;
    const double e = (pref[i1] - pref[i0]) * (prec[i1 + lag] - prec[i0 + lag]);
    if (e <= 0) continue;
    const std::size_t idx = lag >= 0 ? static_cast<std::size_t>(lag) : n - static_cast<std::size_t>(-lag);
    const double c = a[idx].real() / static_cast<double>(n) / std::sqrt(e);
    if (!found || c > best.correlation) {
      best = {lag, c};
      found = true;
    }
  }
  return best;
}

aligned_pair align(std::span<const std::int16_t> reference, std::span<const std::int16_t> received,
                   std::ptrdiff_t lag) {
  std::size_t ref_start = 0;
  std::size_t rec_start = 0;
  if (lag >= 0) {
    rec_start = std::min(received.size(), static_cast<std::size_t>(lag));
  } else {
    ref_start = std::min(reference.size(), static_cast<std::size_t>(-lag));
  }
  const std::size_t len = std::min(reference.size() - ref_start, received.size() - rec_start);
  return {reference.subspan(ref_start, len), received.subspan(rec_start, len)};
}

double snr_db(std::span<const std::int16_t> reference, std::span<const std::int16_t> received_aligned) {
  const std::size_t n = std::min(reference.size(), received_aligned.size());
  double sig = 0;
  double noise = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = reference[i];
    const double d = r - received_aligned[i];
    sig += r * r;
    noise += d * d;
  }
  if (sig <= 0) return 0.0;
  if (noise <= 0) return 200.0;
  return std::min(200.0, 10 * std::log10(sig / noise));
}

double correlation(std::span<const std::int16_t> a, std::span<const std::int16_t> b) {
  const std::size_t n = std::min(a.size(), b.size());
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  if (aa <= 0 || bb <= 0) return 0.0;
  return ab / std::sqrt(aa * bb);
}

}  // namespace mk::audio
