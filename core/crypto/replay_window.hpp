#pragma once
// The receiver's sliding replay window over 64-bit datagram counters (RFC 6479 / WireGuard style): a counter is
// fresh when it is above everything seen, or inside the window and not yet seen. check() is called before the
// AEAD opens a datagram (cheap rejection), mark() only after it authenticated, so a forged datagram can never
// move the window.
//
// Size: 8192 bits (1 KiB per direction and epoch), of which at least 8128 counters back are exact. A full-size data datagram is ~1.1 KB, so the
// window covers ~9 MB of reordering — at 100 MB/s, 90 ms of a datagram being overtaken — far more than any path
// reorders, while an attacker's oldest replayable datagram is at most 8192 datagrams old (and is still refused:
// within the window every counter is remembered exactly).

#include <array>
#include <cstdint>

namespace mk::crypto {

class replay_window {
 public:
  static constexpr std::uint64_t size = 8192;

  enum class verdict { fresh, replayed, too_old };

  verdict check(std::uint64_t counter) const;
  void mark(std::uint64_t counter);  // only after check() said fresh and the datagram authenticated

  std::uint64_t highest() const { return top_; }
  bool empty() const { return !seen_any_; }

 private:
  static constexpr std::size_t words = size / 64;
  bool bit(std::uint64_t counter) const { return bits_[(counter / 64) % words] >> (counter % 64) & 1u; }

  std::array<std::uint64_t, words> bits_{};
  std::uint64_t top_ = 0;
  bool seen_any_ = false;
};

}  // namespace mk::crypto
