#pragma once
// The modern receive path in one object: jitter buffer + Opus decoder, turning each playout decision into exactly
// one frame of samples. The audio pipeline calls next_frame() once per 20 ms of playback.

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "core/audio/jitter_buffer.hpp"
#include "core/audio/opus_codec.hpp"
#include "core/result.hpp"

namespace mk::audio {

class voice_receiver {
 public:
  static result<voice_receiver> create(jitter_config cfg = {});

  insert_result insert(std::uint32_t seq, std::uint32_t ts, std::span<const std::uint8_t> packet, time_point now) {
    return jitter_.insert(seq, ts, packet, now);
  }
  // Always frame_samples() samples: decoded audio, FEC, concealment, or silence.
  std::vector<std::int16_t> next_frame(time_point now);

  const jitter_stats& stats() const noexcept { return jitter_.stats(); }
  bool playing() const noexcept { return jitter_.playing(); }
  std::uint64_t decode_errors() const noexcept { return decode_errors_; }
  int frame_samples() const noexcept { return frame_samples_; }

 private:
  // After this many concealed underrun frames Opus has faded out anyway; play plain silence.
  static constexpr int max_underrun_plc = 5;

  voice_receiver(jitter_buffer jb, opus_decoder dec, int frame_samples)
      : jitter_(std::move(jb)), decoder_(std::move(dec)), frame_samples_(frame_samples) {}

  std::vector<std::int16_t> conceal();

  jitter_buffer jitter_;
  opus_decoder decoder_;
  int frame_samples_;
  int underrun_run_ = 0;
  bool decoded_any_ = false;
  std::uint64_t decode_errors_ = 0;
};

}  // namespace mk::audio
