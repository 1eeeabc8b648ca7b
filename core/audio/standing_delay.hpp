#pragma once
// Latency in a playout queue only grows in steps: a refill after an underrun, a burst after a stall, sender clock
// drift, a start before the jitter was known. If even the tightest moment of a whole window of pops left more than
// the wanted depth waiting, that surplus is delay no jitter needed, and one item may be shed. Shared by the
// modern jitter buffer and the legacy FIFO, which differ only in window and wanted depth.

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace mk::audio {

class standing_delay {
 public:
  explicit constexpr standing_delay(std::size_t window) noexcept : window_(window) {}

  // Once per pop, with the queue's depth at that pop; true when one item should be shed now.
  constexpr bool shed_due(std::size_t depth, std::size_t wanted) noexcept {
    min_depth_ = std::min(min_depth_, depth);
    if (++pops_ < window_)
      return false;
    const bool surplus = min_depth_ > wanted;
    restart();
    return surplus;
  }

  // The queue ran dry or a new stream started: the window so far says nothing about the standing delay.
  constexpr void restart() noexcept {
    pops_ = 0;
    min_depth_ = SIZE_MAX;
  }

 private:
  std::size_t window_;
  std::size_t pops_ = 0;
  std::size_t min_depth_ = SIZE_MAX;
};

}  // namespace mk::audio
