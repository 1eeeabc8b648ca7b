#include "core/wire/signed_line.hpp"

namespace mk::wire {

namespace {

// A space at `pos` is escaped when an odd number of backslashes directly precede it: the run of backslashes
// starts after a non-backslash byte, so it pairs up from its first byte (PROTOCOL §1.1).
bool escaped_at(std::string_view s, std::size_t pos) {
  std::size_t run = 0;
  while (run < pos && s[pos - 1 - run] == '\\')
    ++run;
  return run % 2 == 1;
}

}  // namespace

std::optional<signed_parts> split_signed(std::string_view raw_line) {
  auto last = raw_line.rfind(' ');
  if (last == std::string_view::npos)
    return std::nullopt;
  auto signature = raw_line.substr(last + 1);
  auto text = raw_line.substr(0, last);
  // §2 step 2: trim trailing unescaped spaces. Each step removes one byte or stops, so this terminates (the
  // original looped forever on a prefix ending in "\ ").
  while (!text.empty() && text.back() == ' ' && !escaped_at(text, text.size() - 1))
    text.remove_suffix(1);
  if (signature.empty() || text.empty())
    return std::nullopt;
  return signed_parts{text, signature};
}

}  // namespace mk::wire
