#include "core/wire/record.hpp"

#include <algorithm>
#include <array>

#include "core/limits.hpp"
#include "core/wire/base64.hpp"
#include "core/wire/datagram.hpp"

namespace mk::wire {

void record_of_file(const file_msg& m, std::string& out) {
  out.clear();
  out.reserve(file_record_header + m.data.size());
  out.push_back(record_file);
  std::array<std::uint8_t, limits::hash_bytes> raw{};  // per chunk: no allocation
  base64_decode_exact(m.hash, raw);  // a hash we send was produced by us: 64 canonical chars -> 48 bytes
  out.append(reinterpret_cast<const char*>(raw.data()), raw.size());
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((m.offset >> shift) & 0xff));
  out.append(reinterpret_cast<const char*>(m.data.data()), m.data.size());
}

void record_of_line(std::string_view line, std::string& out) {
  if (line.starts_with("FILE ")) {
    if (auto m = parse_line(line); m.ok())
      if (auto* f = std::get_if<file_msg>(&*m); f && f->hash.size() == 64)
        return record_of_file(*f, out);
  }
  out.clear();
  out.reserve(1 + line.size());
  out.push_back(record_line);
  out.append(line);
}

std::vector<std::string> split_file_line(std::string line, std::size_t max_data) {
  std::vector<std::string> out;
  if (max_data > 0 && line.starts_with("FILE ") && line.size() > max_data) {
    if (auto m = parse_line(line); m.ok()) {
      if (auto* f = std::get_if<file_msg>(&*m); f && f->data.size() > max_data) {
        for (std::size_t at = 0; at < f->data.size(); at += max_data) {
          auto n = std::min(max_data, f->data.size() - at);
          file_msg piece{f->hash, f->offset + at, {f->data.begin() + static_cast<std::ptrdiff_t>(at),
                                                   f->data.begin() + static_cast<std::ptrdiff_t>(at + n)}};
          out.push_back(serialize(piece));
        }
        return out;
      }
    }
  }
  out.push_back(std::move(line));
  return out;
}

mk::result<message> parse_record(std::string_view r) {
  if (r.empty())
    return make_error(errc::malformed, "empty record");
  if (r[0] == record_line) {
    auto body = r.substr(1);
    auto line = line_of_datagram({reinterpret_cast<const std::uint8_t*>(body.data()), body.size()});
    if (!line)
      return std::move(line).error();
    return parse_line(*line);
  }
  if (r[0] != record_file)
    return make_error(errc::malformed, "unknown record kind");
  if (r.size() <= file_record_header)
    return make_error(errc::malformed, "FILE record without data");
  if (r.size() - file_record_header > limits::max_file_piece)
    return make_error(errc::too_long, "FILE record over one chunk");
  file_msg m;
  m.hash = base64_encode(std::string_view{r.data() + 1, limits::hash_bytes});
  for (std::size_t i = 1 + limits::hash_bytes; i < file_record_header; ++i)
    m.offset = (m.offset << 8) | static_cast<std::uint8_t>(r[i]);
  m.data.assign(r.begin() + file_record_header, r.end());
  return message{std::move(m)};
}

}  // namespace mk::wire
