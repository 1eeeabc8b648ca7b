#pragma once
// PROTOCOL §10 FIX ("a lost final ACK" stalls the original sender forever): after a receiver is dropped, its
// transfer id (the hash) is remembered for a while, so a FILE for it is still answered with FILEACK <size>.
// Bounded in count (oldest forgotten first) and in time. A lazy-hash transfer (FILEOFFER) also keeps the SHA-384
// the receiver verified, so that a late FILEHASH (our answer was lost) is still answered.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "core/limits.hpp"
#include "core/transfer/types.hpp"

namespace mk::transfer {

class completed_transfers {
 public:
  explicit completed_transfers(std::size_t capacity = limits::completed_transfer_memory,
                               duration ttl = limits::completed_transfer_ttl);

  void remember(std::string id, std::uint64_t size, time_point now, std::string content_hash = {});
  // The size to acknowledge if `id` completed less than ttl ago.
  std::optional<std::uint64_t> lookup(std::string_view id, time_point now);
  // The verified SHA-384 of a lazy-hash transfer that completed less than ttl ago.
  std::optional<std::string> content_hash(std::string_view id, time_point now);
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct entry {
    std::string id;
    std::uint64_t size;
    time_point when;
    std::string content_hash;  // empty unless a lazy-hash transfer
  };
  void expire(time_point now);

  std::deque<entry> entries_;  // oldest first
  std::size_t capacity_;
  duration ttl_;
};

}  // namespace mk::transfer
