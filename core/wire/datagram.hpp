#pragma once
// PROTOCOL §1, §13.1: one message per UDP datagram, `<line>\n`.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mk::wire {

// Rejects: empty, > limits::max_datagram, any NUL byte, an empty line. Strips exactly one trailing LF if present;
// a datagram without LF is taken whole (we never glue datagrams like the original). The view points into `bytes`.
mk::result<std::string_view> line_of_datagram(std::span<const std::uint8_t> bytes);

// line + '\n'
std::string to_datagram(std::string_view line);
// The same, reusing the line's buffer (no copy of a kilobyte-sized chunk line).
std::string into_datagram(std::string&& line);

}  // namespace mk::wire
