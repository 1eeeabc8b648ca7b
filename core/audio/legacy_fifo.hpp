#pragma once
// Receive queue for the legacy voice format (PROTOCOL §9): 2.5 ms packets with no seq or timestamp, so the only
// thing to do is play them in arrival order. FIX for §14: the original's 256-entry FIFO let 640 ms of latency
// build up; this one holds at most limits::legacy_fifo_max_delay and drops the oldest beyond that.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "core/limits.hpp"

namespace mk::audio {

struct legacy_fifo_stats {
  std::uint64_t received = 0;
  std::uint64_t invalid = 0;    // empty or over 1275 bytes
  std::uint64_t played = 0;
  std::uint64_t dropped = 0;    // oldest packets discarded to bound latency
  std::uint64_t underruns = 0;  // pops while started and empty (the player conceals)
  std::size_t depth = 0;
};

class legacy_fifo {
 public:
  // max_depth in packets; the default is 40 ms of 2.5 ms frames.
  explicit legacy_fifo(std::size_t max_depth = default_depth());

  static constexpr std::size_t default_depth() noexcept {
    return static_cast<std::size_t>(limits::legacy_fifo_max_delay.count() * limits::audio_sample_rate /
                                    1000 / limits::legacy_frame_samples);
  }

  bool push(std::span<const std::uint8_t> packet);
  // The next packet, or nullopt: the player conceals (or plays silence before the first packet).
  std::optional<std::vector<std::uint8_t>> pop();

  const legacy_fifo_stats& stats() const noexcept { return stats_; }
  std::size_t max_depth() const noexcept { return max_depth_; }

 private:
  std::size_t max_depth_;
  bool started_ = false;
  std::deque<std::vector<std::uint8_t>> queue_;
  legacy_fifo_stats stats_;
};

}  // namespace mk::audio
