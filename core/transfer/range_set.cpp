#include "core/transfer/range_set.hpp"

#include <algorithm>

namespace mk::transfer {

range_set::range_set(std::size_t max_ranges) : max_ranges_(std::max<std::size_t>(max_ranges, 1)) {}

bool range_set::contains(std::uint64_t begin, std::uint64_t end) const {
  if (begin >= end) return true;
  auto it = ranges_.upper_bound(begin);  // first range starting after begin
  if (it == ranges_.begin()) return false;
  --it;
  return it->first <= begin && it->second >= end;
}

range_set::insert_result range_set::insert(std::uint64_t begin, std::uint64_t end) {
  if (contains(begin, end)) return insert_result::duplicate;
  // Every range that overlaps or touches [begin, end) is merged into one.
  auto first = ranges_.upper_bound(begin);
  if (first != ranges_.begin() && std::prev(first)->second >= begin) --first;
  auto last = first;
  while (last != ranges_.end() && last->first <= end) ++last;
  if (first == last && ranges_.size() >= max_ranges_) return insert_result::full;
  std::uint64_t new_begin = begin, new_end = end;
  for (auto it = first; it != last; ++it) {
    new_begin = std::min(new_begin, it->first);
    new_end = std::max(new_end, it->second);
    bytes_ -= it->second - it->first;
  }
  ranges_.erase(first, last);
  ranges_.emplace(new_begin, new_end);
  bytes_ += new_end - new_begin;
  return insert_result::added;
}

std::uint64_t range_set::advance(std::uint64_t next) {
  while (!ranges_.empty() && ranges_.begin()->first <= next) {
    auto it = ranges_.begin();
    bytes_ -= it->second - it->first;
    next = std::max(next, it->second);
    ranges_.erase(it);
  }
  return next;
}

std::vector<byte_range> range_set::lowest(std::size_t n) const {
  std::vector<byte_range> out;
  for (auto it = ranges_.begin(); it != ranges_.end() && out.size() < n; ++it) out.emplace_back(it->first, it->second);
  return out;
}

}  // namespace mk::transfer
