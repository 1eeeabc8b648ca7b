#include "core/audio/legacy_fifo.hpp"

#include <algorithm>

namespace mk::audio {

legacy_fifo::legacy_fifo(std::size_t max_depth, std::size_t prebuffer)
    : max_depth_(std::max<std::size_t>(1, max_depth)), prebuffer_(std::clamp<std::size_t>(prebuffer, 1, max_depth_)) {}

bool legacy_fifo::push(std::span<const std::uint8_t> packet) {
  if (packet.empty() || packet.size() > limits::max_audio_packet) {
    ++stats_.invalid;
    return false;
  }
  ++stats_.received;
  queue_.emplace_back(packet.begin(), packet.end());
  while (queue_.size() > max_depth_) {
    queue_.pop_front();
    ++stats_.dropped;
  }
  started_ = true;
  stats_.depth = queue_.size();
  return true;
}

std::optional<std::vector<std::uint8_t>> legacy_fifo::pop() {
  if (filling_) {
    if (queue_.size() < prebuffer_)
      return std::nullopt;
    filling_ = false;
    window_pops_ = 0;
    window_min_depth_ = SIZE_MAX;
  }
  if (queue_.empty()) {
    if (started_) ++stats_.underruns;
    filling_ = true;
    return std::nullopt;
  }
  // The least depth seen over a window is delay that jitter never needed; one packet above the prebuffer is
  // left as margin.
  window_min_depth_ = std::min(window_min_depth_, queue_.size());
  if (++window_pops_ == shed_window) {
    if (window_min_depth_ > prebuffer_ + 1) {
      queue_.pop_front();
      ++stats_.shed;
    }
    window_pops_ = 0;
    window_min_depth_ = SIZE_MAX;
  }
  auto p = std::move(queue_.front());
  queue_.pop_front();
  ++stats_.played;
  stats_.depth = queue_.size();
  return p;
}

}  // namespace mk::audio
