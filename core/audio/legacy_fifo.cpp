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
    surplus_.restart();
  }
  if (queue_.empty()) {
    if (started_) ++stats_.underruns;
    filling_ = true;
    return std::nullopt;
  }
  // Standing delay (standing_delay.hpp), with one packet above the prebuffer left as margin. The queue then
  // still holds at least two packets, so the pop below always has one.
  if (surplus_.shed_due(queue_.size(), prebuffer_ + 1)) {
    queue_.pop_front();
    ++stats_.shed;
  }
  auto p = std::move(queue_.front());
  queue_.pop_front();
  ++stats_.played;
  stats_.depth = queue_.size();
  return p;
}

}  // namespace mk::audio
