#include "core/session/path_mtu.hpp"

#include <algorithm>

namespace mk::session {

path_mtu::path_mtu(time_point now, std::uint32_t first_id, std::span<const std::size_t> sizes)
    : sizes_(sizes.begin(), sizes.end()), next_id_(first_id), search_again_at_(now),
      confirm_at_(now + confirm_interval) {
  std::sort(sizes_.begin(), sizes_.end());
  std::erase_if(sizes_, [](std::size_t s) { return s <= base_size; });
}

std::size_t path_mtu::target() const { return confirming_ ? budget_ : sizes_[next_index_]; }

std::optional<path_mtu::probe> path_mtu::due(time_point now) {
  if (outstanding_) {
    if (now - sent_at_ < probe_timeout) return std::nullopt;
    lost(now);  // timed out
  }
  bool search = searching_ && next_index_ < sizes_.size() && now >= search_again_at_;
  // A confirmation only matters while data above the base is flowing (an idle peer costs no large datagrams).
  bool confirm = budget_ > base_size && now >= confirm_at_ && last_traffic_ && now - *last_traffic_ < confirm_interval;
  if (!confirming_ && !search) {
    if (!confirm) return std::nullopt;
    confirming_ = true;
  }
  outstanding_ = probe{next_id_++, target()};
  sent_at_ = now;
  ++probes_sent_;
  return outstanding_;
}

bool path_mtu::on_ack(std::uint32_t id, time_point now) {
  if (!outstanding_ || outstanding_->id != id) return false;  // a late or repeated answer
  std::size_t size = outstanding_->size;
  outstanding_.reset();
  losses_ = 0;
  if (confirming_) {
    confirming_ = false;
    confirm_at_ = now + confirm_interval;
    return false;
  }
  bool grew = size > budget_;
  budget_ = std::max(budget_, size);
  ++next_index_;
  if (next_index_ >= sizes_.size()) searching_ = false;  // the largest size we use: nothing more to find
  confirm_at_ = now + confirm_interval;
  return grew;
}

void path_mtu::suspect(time_point now) {
  if (budget_ <= base_size || outstanding_) return;
  confirm_at_ = std::min(confirm_at_, now);
  last_traffic_ = now;
}

void path_mtu::on_refused(std::uint32_t id, time_point now) {
  if (!outstanding_ || outstanding_->id != id) return;
  losses_ = max_probes - 1;  // no point in trying again: our own interface is smaller
  lost(now);
}

void path_mtu::lost(time_point now) {
  outstanding_.reset();
  if (++losses_ < max_probes) return;  // due() sends the same size again
  losses_ = 0;
  if (confirming_) {
    // The size that worked no longer does: a black hole. Back to what every path carries, then search again.
    confirming_ = false;
    ++black_holes_;
    budget_ = base_size;
    next_index_ = 0;
    searching_ = true;
    search_again_at_ = now;
    return;
  }
  // This size does not cross the path: the search ends below it, and resumes (from it) much later.
  searching_ = true;
  search_again_at_ = now + raise_interval;
  confirm_at_ = now + confirm_interval;
}

}  // namespace mk::session
