#pragma once
// Shared vocabulary of the transfer state machines. Time is always passed in (core has no clock).

#include <chrono>
#include <cstdint>

#include "core/limits.hpp"

namespace mk::transfer {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;

// What the peer speaks. `legacy`: an original node (PROTOCOL §10: cumulative FILEACK only, its fixed timers).
// `extended`: a mokaccino node that sends and understands selective ACKs.
enum class peer_mode { legacy, extended };

inline constexpr std::uint64_t chunk_size = 1024;  // PROTOCOL §10: CHUNK_SIZE

// Between mokaccino nodes that announce MKCAPS `pmtu1`, a transfer's chunks may be larger (up to this), as the
// path's datagram budget allows; and a receiver takes any piece of a chunk (a chunk split to fit a path that shrank).
inline constexpr std::uint64_t max_chunk_size = limits::max_file_piece;

// PROTOCOL §10: chunks are 1024 bytes except the last, which is size % 1024 when that is non-zero (and the same
// with a transfer's own chunk size).
constexpr std::uint64_t chunk_length(std::uint64_t size, std::uint64_t offset, std::uint64_t chunk = chunk_size) {
  return offset >= size ? 0 : (size - offset < chunk ? size - offset : chunk);
}

}  // namespace mk::transfer
