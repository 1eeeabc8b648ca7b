#include "core/transfer/completed_transfers.hpp"

#include <algorithm>

namespace mk::transfer {

completed_transfers::completed_transfers(std::size_t capacity, duration ttl)
    : capacity_(std::max<std::size_t>(capacity, 1)), ttl_(ttl) {}

void completed_transfers::expire(time_point now) {
  while (!entries_.empty() && now - entries_.front().when >= ttl_) entries_.pop_front();
}

void completed_transfers::remember(std::string id, std::uint64_t size, time_point now, std::string content_hash) {
  expire(now);
  std::erase_if(entries_, [&](const entry& e) { return e.id == id; });
  if (entries_.size() >= capacity_) entries_.pop_front();
  entries_.push_back({std::move(id), size, now, std::move(content_hash)});
}

std::optional<std::uint64_t> completed_transfers::lookup(std::string_view id, time_point now) {
  expire(now);
  for (const auto& e : entries_)
    if (e.id == id) return e.size;
  return std::nullopt;
}

std::optional<std::string> completed_transfers::content_hash(std::string_view id, time_point now) {
  expire(now);
  for (const auto& e : entries_)
    if (e.id == id && !e.content_hash.empty()) return e.content_hash;
  return std::nullopt;
}

}  // namespace mk::transfer
