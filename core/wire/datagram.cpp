#include <cstring>
#include "core/wire/datagram.hpp"

#include <algorithm>

#include "core/limits.hpp"

namespace mk::wire {

mk::result<std::string_view> line_of_datagram(std::span<const std::uint8_t> bytes) {
  // PROTOCOL §14.1: an empty datagram made the original deaf; we just drop it.
  if (bytes.empty())
    return make_error(errc::malformed, "empty datagram");
  if (bytes.size() > limits::max_datagram)
    return make_error(errc::too_long, "datagram over 64 KiB");
  // §1: the original truncates at NUL; we refuse such datagrams outright (§13.1: never NULs).
  if (std::memchr(bytes.data(), 0, bytes.size()) != nullptr)
    return make_error(errc::malformed, "NUL byte in datagram");
  std::string_view line{reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  if (line.back() == '\n')
    line.remove_suffix(1);
  if (line.empty())
    return make_error(errc::malformed, "empty line");
  return line;
}

std::string to_datagram(std::string_view line) {
  std::string out;
  out.reserve(line.size() + 1);
  out.append(line);
  out.push_back('\n');
  return out;
}

std::string into_datagram(std::string&& line) {
  line.push_back('\n');
  return std::move(line);
}

}  // namespace mk::wire
