#pragma once
// Receive queue for the legacy voice format (PROTOCOL §9): 2.5 ms packets with no seq or timestamp, so the only
// thing to do is play them in arrival order. FIX for §14: the original's 256-entry FIFO let 640 ms of latency
// build up; this one holds at most limits::legacy_fifo_max_delay and drops the oldest beyond that.
//
// A small prebuffer is the only jitter protection the format allows: playout starts once the queue holds it, and
// after running dry it refills (one short concealed gap instead of a concealed frame per late packet). A stall
// that delivers its packets in a burst leaves that much extra delay in the queue for good; while the queue never
// came near empty over a whole window, one packet is shed per window to walk the latency back to the prebuffer.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "core/audio/standing_delay.hpp"
#include "core/limits.hpp"

namespace mk::audio {

struct legacy_fifo_stats {
  std::uint64_t received = 0;
  std::uint64_t invalid = 0;    // empty or over 1275 bytes
  std::uint64_t played = 0;
  std::uint64_t dropped = 0;    // oldest packets discarded at the depth cap
  std::uint64_t shed = 0;       // packets skipped to bring a standing excess delay back to the prebuffer
  std::uint64_t underruns = 0;  // times the queue ran dry while playing (the player conceals, then it refills)
  std::size_t depth = 0;
};

class legacy_fifo {
 public:
  // Depths in packets; the defaults are 40 ms and 10 ms of 2.5 ms frames.
  explicit legacy_fifo(std::size_t max_depth = packets_in(limits::legacy_fifo_max_delay),
                       std::size_t prebuffer = packets_in(limits::legacy_prebuffer));

  static constexpr std::size_t packets_in(std::chrono::milliseconds d) noexcept {
    return static_cast<std::size_t>(d.count() * limits::audio_sample_rate / 1000 / limits::legacy_frame_samples);
  }
  // Pops per judgement of the standing delay: 100 ms, so an excess of 40 ms is gone within about 1.6 s.
  static constexpr std::size_t shed_window = 40;

  bool push(std::span<const std::uint8_t> packet);
  // The next packet, or nullopt while (re)filling the prebuffer: the player conceals, or plays silence before
  // the first packet.
  std::optional<std::vector<std::uint8_t>> pop();

  const legacy_fifo_stats& stats() const noexcept { return stats_; }
  std::size_t max_depth() const noexcept { return max_depth_; }
  std::size_t prebuffer() const noexcept { return prebuffer_; }

 private:
  std::size_t max_depth_;
  std::size_t prebuffer_;
  bool started_ = false;    // a packet has arrived
  bool filling_ = true;     // waiting until the queue holds the prebuffer
  standing_delay surplus_{shed_window};
  std::deque<std::vector<std::uint8_t>> queue_;
  legacy_fifo_stats stats_;
};

}  // namespace mk::audio
