#include "core/audio/vad.hpp"

#include <cstdlib>

namespace mk::audio {

int volume(std::span<const std::int16_t> frame) noexcept {
  if (frame.empty()) return 0;
  std::int64_t sum = 0;
  // |-32768| = 32768 does not fit int16; widen before abs.
  for (std::int16_t s : frame) sum += std::abs(static_cast<std::int32_t>(s));
  return static_cast<int>(sum / static_cast<std::int64_t>(frame.size()));
}

bool should_send(std::span<const std::int16_t> frame, int threshold) noexcept {
  if (threshold <= 0) return true;
  return volume(frame) >= threshold;
}

}  // namespace mk::audio
