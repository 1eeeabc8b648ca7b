#pragma once
// Byte ranges a receiver holds above its cumulative point (PROTOCOL §10: chunks may arrive out of order).
// Bounded: at most `max_ranges` disjoint ranges, so memory stays fixed whatever offsets a peer sends.

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace mk::transfer {

using byte_range = std::pair<std::uint64_t, std::uint64_t>;  // [first, second)

class range_set {
 public:
  enum class insert_result { added, duplicate, full };

  explicit range_set(std::size_t max_ranges);

  // Adds [begin, end); merges with overlapping and adjacent ranges. `duplicate` if it was already fully held,
  // `full` (nothing changed) if it would need a new range while max_ranges are held. An empty range is a duplicate.
  insert_result insert(std::uint64_t begin, std::uint64_t end);

  // True if every byte of [begin, end) is held.
  bool contains(std::uint64_t begin, std::uint64_t end) const;

  // Removes the range that starts at or before `next` (if it reaches past it) and returns the new contiguous end;
  // drops every range that lies wholly below `next`. Used to advance the cumulative point.
  std::uint64_t advance(std::uint64_t next);

  // The lowest `n` ranges, sorted: what a selective ACK reports.
  std::vector<byte_range> lowest(std::size_t n) const;

  std::size_t size() const noexcept { return ranges_.size(); }
  bool empty() const noexcept { return ranges_.empty(); }
  std::uint64_t bytes() const noexcept { return bytes_; }  // total bytes held

 private:
  std::map<std::uint64_t, std::uint64_t> ranges_;  // begin -> end, disjoint and non-adjacent
  std::size_t max_ranges_;
  std::uint64_t bytes_ = 0;
};

}  // namespace mk::transfer
