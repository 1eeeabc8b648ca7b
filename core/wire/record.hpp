#pragma once
// What travels inside a mokaccino envelope (core/crypto/secure_channel.hpp): one record per datagram.
//
//   'L' | line            any protocol line (§4), exactly as it would be sent in text (no LF)
//   'F' | hash (48 raw bytes) | offset (8, big-endian) | data (1..1024 bytes; up to limits::max_file_piece with
//                         MKCAPS `pmtu1`, as the path's datagram budget allows)
//                         a FILE chunk in binary: a 1 KiB chunk costs 57 bytes of framing instead of a base64
//                         FILE line (~1.45 KB) sealed and base64-coded again (~1.9 KB); with the envelope's 26 bytes
//                         a full datagram is 1107 bytes, 92.5 % of it file data, under the 1232-byte floor that
//                         crosses every IPv6 path (RFC 8200 minimum MTU 1280) without fragmentation.
// Pure; decoding applies the same rules as the text parser (sizes, hash shape).

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/wire/messages.hpp"

namespace mk::wire {

inline constexpr char record_line = 'L';
// Between mokaccino nodes that run without encryption (require_encryption off), file chunks still travel as binary
// records, unsealed, behind this first byte, so a data datagram (1082 bytes) never needs IP fragmentation either.
inline constexpr char plain_record_marker = 0x02;
inline bool is_plain_record(std::string_view datagram) {
  return datagram.size() > 1 && datagram[0] == plain_record_marker;
}
inline constexpr char record_file = 'F';
inline constexpr std::size_t file_record_header = 1 + 48 + 8;

// The record for one outgoing line: FILE lines become binary 'F' records, everything else 'L' (`out` is replaced).
void record_of_line(std::string_view line, std::string& out);
// The record of a file chunk built directly (no base64 on the way).
void record_of_file(const file_msg& m, std::string& out);

// A FILE line whose data exceeds `max_data` bytes as FILE lines of at most that much each (consecutive pieces of
// the chunk, for a path that shrank under a transfer's chunk size); any other line as it is.
std::vector<std::string> split_file_line(std::string line, std::size_t max_data);

// Parses a record. Errors: errc::malformed (unknown kind, short), errc::too_long, and the text parser's errors.
mk::result<message> parse_record(std::string_view record);

}  // namespace mk::wire
