#include "core/audio/legacy_fifo.hpp"

#include <algorithm>

namespace mk::audio {

legacy_fifo::legacy_fifo(std::size_t max_depth) : max_depth_(std::max<std::size_t>(1, max_depth)) {}

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
  if (queue_.empty()) {
    if (started_) ++stats_.underruns;
    return std::nullopt;
  }
  auto p = std::move(queue_.front());
  queue_.pop_front();
  ++stats_.played;
  stats_.depth = queue_.size();
  return p;
}

}  // namespace mk::audio
