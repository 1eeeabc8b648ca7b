#pragma once
// Voice activation as the original does it (PROTOCOL §9): a frame is sent only when loud enough.

#include <cstdint>
#include <span>

namespace mk::audio {

// PROTOCOL §9: volume = integer mean of |sample| over the frame (0 for an empty frame).
int volume(std::span<const std::int16_t> frame) noexcept;

// PROTOCOL §9: send unless volume < threshold; threshold 0 (or below) means voice activation is off.
bool should_send(std::span<const std::int16_t> frame, int threshold) noexcept;

}  // namespace mk::audio
