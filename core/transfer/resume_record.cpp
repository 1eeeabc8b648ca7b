#include "core/transfer/resume_record.hpp"

#include <charconv>
#include <optional>

namespace mk::transfer {

namespace {

constexpr std::string_view header = "# mokaccino: an interrupted transfer, resumable (issue 15). Deleting it and the "
                                    ".part file cancels it.\n";

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::optional<std::string> unquote(std::string_view v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"')
    return std::nullopt;
  std::string out;
  for (std::size_t i = 1; i + 1 < v.size(); ++i) {
    char c = v[i];
    if (c == '\\') {
      if (i + 2 >= v.size() || (v[i + 1] != '"' && v[i + 1] != '\\'))
        return std::nullopt;
      c = v[++i];
    } else if (c == '"' || static_cast<unsigned char>(c) < 0x20) {
      return std::nullopt;
    }
    out.push_back(c);
  }
  return out;
}

template <class T>
std::optional<T> number(std::string_view v) {
  T x{};
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || p != v.data() + v.size() || v.empty() || (v.size() > 1 && v[0] == '0'))
    return std::nullopt;
  return x;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string serialize(const resume_record& r) {
  std::string out{header};
  out += "version = 1\n";
  out += "peer = " + quoted(r.peer) + "\n";
  out += "name = " + quoted(r.name) + "\n";
  out += "size = " + std::to_string(r.size) + "\n";
  out += "verified = " + std::to_string(r.verified) + "\n";
  out += "started = " + std::to_string(r.started) + "\n";
  out += "updated = " + std::to_string(r.updated) + "\n";
  if (r.files > 0)
    out += "files = " + std::to_string(r.files) + "\n";
  return out;
}

mk::result<resume_record> parse_resume_record(std::string_view text) {
  resume_record r;
  unsigned seen = 0;  // one bit per key
  int line_no = 0;
  auto fail = [&](std::string what) { return make_error(errc::malformed, "line " + std::to_string(line_no) + ": " + what); };
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#')
      continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      return fail("expected key = value");
    auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    static constexpr std::string_view keys[] = {"version", "peer",    "name",    "size",
                                                "verified", "started", "updated", "files"};
    unsigned bit = 0;
    while (bit < std::size(keys) && keys[bit] != key)
      ++bit;
    if (bit == std::size(keys))
      return fail(std::string{"unknown key "}.append(key));
    if (seen & (1u << bit))
      return fail(std::string{key}.append(" given twice"));
    seen |= 1u << bit;
    bool ok = true;
    switch (bit) {
      case 0: ok = number<int>(value) == 1; break;
      case 1: { auto s = unquote(value); ok = s && !s->empty(); if (ok) r.peer = *s; break; }
      case 2: { auto s = unquote(value); ok = s && !s->empty(); if (ok) r.name = *s; break; }
      case 3: { auto n = number<std::uint64_t>(value); ok = n.has_value(); if (ok) r.size = *n; break; }
      case 4: { auto n = number<std::uint64_t>(value); ok = n.has_value(); if (ok) r.verified = *n; break; }
      case 5: { auto n = number<std::int64_t>(value); ok = n.has_value(); if (ok) r.started = *n; break; }
      case 6: { auto n = number<std::int64_t>(value); ok = n.has_value(); if (ok) r.updated = *n; break; }
      default: { auto n = number<std::uint64_t>(value); ok = n && *n > 0; if (ok) r.files = *n; break; }
    }
    if (!ok)
      return fail(std::string{"bad value for "}.append(key));
  }
  if ((seen & ((1u << 7) - 1)) != (1u << 7) - 1)  // every key but `files`
    return make_error(errc::malformed, "a key is missing");
  if (r.verified > r.size)
    return make_error(errc::malformed, "verified is larger than size");
  return r;
}

}  // namespace mk::transfer
