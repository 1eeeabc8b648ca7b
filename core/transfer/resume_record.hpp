#pragma once
// The small record kept beside a partial file (`<name>.part.resume`) so that an interrupted transfer can resume
// (issue 15): who sent it, what it is, and how many of its first bytes are on disk. Text, one `key = value` per
// line (a TOML subset), written to a temporary file and renamed over the old one, so a crash leaves the old record
// or the new one, never half of one. The record never makes a partial file look complete: the file only gets its
// final name after the whole of it matched the sender's SHA-384, and a resumed prefix is checked against the
// sender's file before any new byte is written (FILERESUME).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mk::transfer {

struct resume_record {
  std::string peer;           // the sending user
  std::string name;           // the file's name (already sanitised), as offered
  std::uint64_t size = 0;     // the whole file
  std::uint64_t verified = 0; // [0, verified) is in the partial file (written and flushed before the record)
  std::int64_t started = 0;   // unix seconds: the first attempt
  std::int64_t updated = 0;   // unix seconds: the last checkpoint (expiry counts from here)
  // A folder's record (`<dir>.folder.resume`): the number of files its offer announced; name and size are the
  // folder's name and total bytes, verified the bytes of its files saved so far. 0 in a file's record.
  std::uint64_t files = 0;
  bool operator==(const resume_record&) const = default;
};

std::string serialize(const resume_record& r);

// Strict: every key once, known keys only (`files` may be left out), numbers in range, verified <= size. Errors
// name the line.
mk::result<resume_record> parse_resume_record(std::string_view text);

// The record's partial file: older than `max_age_s` since its last checkpoint.
constexpr bool expired(const resume_record& r, std::int64_t now_s, std::int64_t max_age_s) {
  return now_s - r.updated > max_age_s;
}

}  // namespace mk::transfer
