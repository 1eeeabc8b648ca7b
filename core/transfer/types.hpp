#pragma once
// Shared vocabulary of the transfer state machines. Time is always passed in (core has no clock).

#include <chrono>
#include <cstdint>

namespace mk::transfer {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;

// What the peer speaks. `legacy`: an original node (PROTOCOL §10: cumulative FILEACK only, its fixed timers).
// `extended`: a mokaccino node that sends and understands selective ACKs.
enum class peer_mode { legacy, extended };

inline constexpr std::uint64_t chunk_size = 1024;  // PROTOCOL §10: CHUNK_SIZE

// PROTOCOL §10: chunks are 1024 bytes except the last, which is size % 1024 when that is non-zero.
constexpr std::uint64_t chunk_length(std::uint64_t size, std::uint64_t offset) {
  return offset >= size ? 0 : (size - offset < chunk_size ? size - offset : chunk_size);
}

}  // namespace mk::transfer
