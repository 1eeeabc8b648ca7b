#include "core/crypto/replay_window.hpp"

namespace mk::crypto {

replay_window::verdict replay_window::check(std::uint64_t counter) const {
  if (!seen_any_ || counter > top_)
    return verdict::fresh;
  // Word granularity: the ring holds the last `words` 64-counter words, so at least size - 63 = 8128 counters
  // back are remembered exactly (WireGuard's figure), up to 8191.
  if (top_ / 64 - counter / 64 >= words)
    return verdict::too_old;
  return bit(counter) ? verdict::replayed : verdict::fresh;
}

void replay_window::mark(std::uint64_t counter) {
  if (!seen_any_ || counter > top_) {
    // Clear the words the window slides over: their counters are now either too old or not seen yet.
    std::uint64_t from = seen_any_ ? top_ / 64 + 1 : counter / 64;
    std::uint64_t to = counter / 64;
    if (!seen_any_ || to - from + 1 >= words) {
      bits_.fill(0);
    } else {
      for (std::uint64_t w = from; w <= to; ++w)
        bits_[w % words] = 0;
    }
    top_ = counter;
    seen_any_ = true;
  }
  bits_[(counter / 64) % words] |= std::uint64_t{1} << (counter % 64);
}

}  // namespace mk::crypto
