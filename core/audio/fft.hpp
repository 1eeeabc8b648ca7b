#pragma once
// A small in-place radix-2 FFT for the analysis helpers in signals.hpp (test and benchmark use only).

#include <complex>
#include <cstddef>
#include <vector>

namespace mk::audio::detail {

// data.size() must be a power of two. inverse = true computes the unscaled inverse transform.
void fft(std::vector<std::complex<double>>& data, bool inverse);

std::size_t next_pow2(std::size_t n) noexcept;

}  // namespace mk::audio::detail
