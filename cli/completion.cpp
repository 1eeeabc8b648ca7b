#include "cli/completion.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "cli/command_table.hpp"

namespace mk::cli {

namespace {

std::vector<std::string> words_of(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ')
      ++i;
    auto start = i;
    while (i < s.size() && s[i] != ' ')
      ++i;
    if (i > start)
      out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

std::string common_prefix(const std::vector<std::string>& v) {
  if (v.empty())
    return {};
  std::string p = v.front();
  for (auto& s : v) {
    std::size_t n = 0;
    while (n < p.size() && n < s.size() && p[n] == s[n])
      ++n;
    p.resize(n);
  }
  // Never stop inside a UTF-8 sequence.
  while (!p.empty() && (static_cast<unsigned char>(p.back()) & 0xC0) == 0x80)
    p.pop_back();
  if (!p.empty() && (static_cast<unsigned char>(p.back()) & 0xC0) == 0xC0)
    p.pop_back();
  return p;
}

// Candidates for `prefix`; `finish` is appended when exactly one matches (a space after a word).
completion pick(std::string_view prefix, std::vector<std::string> all, std::string_view finish) {
  std::vector<std::string> hits;
  for (auto& c : all)
    if (c.compare(0, prefix.size(), prefix) == 0)
      hits.push_back(c);
  std::sort(hits.begin(), hits.end());
  hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
  completion out;
  if (hits.empty())
    return out;
  auto common = common_prefix(hits);
  out.insert = common.substr(std::min(prefix.size(), common.size()));
  if (hits.size() == 1) {
    if (!hits.front().empty() && hits.front().back() != '/')
      out.insert += finish;
  } else {
    out.candidates = std::move(hits);
  }
  return out;
}

completion complete_path(std::string_view word, const dir_lister& list) {
  auto slash = word.rfind('/');
  std::string dir = slash == std::string_view::npos ? std::string{} : std::string{word.substr(0, slash + 1)};
  auto base = slash == std::string_view::npos ? word : word.substr(slash + 1);
  std::vector<std::string> names;
  for (auto& e : list(dir)) {
    if (!e.name.empty() && e.name[0] == '.' && (base.empty() || base[0] != '.'))
      continue;  // hidden files only when asked for
    names.push_back(e.name + (e.directory ? "/" : ""));
  }
  return pick(base, std::move(names), "");
}

// What kind of value the usage placeholder asks for.
enum class arg_kind { none, user, path };
arg_kind kind_of(std::string_view placeholder) {
  if (placeholder.find("path") != std::string_view::npos)
    return arg_kind::path;
  if (placeholder.find("user") != std::string_view::npos || placeholder.find("via") != std::string_view::npos)
    return arg_kind::user;
  return arg_kind::none;
}

}  // namespace

std::vector<dir_entry> list_directory(const std::string& dir) {
  std::vector<dir_entry> out;
  std::error_code ec;
  std::filesystem::directory_iterator it{dir.empty() ? std::filesystem::path{"."} : std::filesystem::path{dir}, ec};
  for (; !ec && it != std::filesystem::directory_iterator{}; it.increment(ec)) {
    if (out.size() >= 4096)
      break;  // a huge directory: complete from the first entries rather than stall the input
    std::error_code e2;
    out.push_back({it->path().filename().string(), it->is_directory(e2)});
  }
  return out;
}

completion complete(std::string_view line, const std::vector<std::string>& users, const dir_lister& list) {
  auto words = words_of(line);
  bool fresh = line.empty() || line.back() == ' ';  // the cursor starts a new word
  std::string current = fresh || words.empty() ? std::string{} : words.back();
  if (!fresh && !words.empty())
    words.pop_back();

  auto specs = command_specs();
  if (words.empty()) {
    std::vector<std::string> first;
    for (auto& s : specs)
      first.emplace_back(s.name.substr(0, s.name.find(' ')));
    return pick(current, std::move(first), " ");
  }
  if (words.size() == 1) {
    std::vector<std::string> second;
    for (auto& s : specs)
      if (auto sp = s.name.find(' '); sp != std::string_view::npos && s.name.substr(0, sp) == words[0])
        second.emplace_back(s.name.substr(sp + 1));
    if (!second.empty())
      return pick(current, std::move(second), " ");
  }
  // The command the typed words select: the longest name they spell.
  const command_spec* spec = nullptr;
  std::size_t name_words = 0;
  for (auto& s : specs) {
    auto parts = words_of(s.name);
    if (parts.size() <= words.size() && std::equal(parts.begin(), parts.end(), words.begin()) &&
        parts.size() > name_words) {
      spec = &s;
      name_words = parts.size();
    }
  }
  if (spec == nullptr)
    return {};
  auto placeholders = words_of(spec->args);
  auto index = words.size() - name_words;
  if (spec->rest_is_text && spec->max_args > 0 && index >= spec->max_args - 1) {
    // The last argument is the rest of the line, spaces included (a path with spaces).
    index = spec->max_args - 1;
    current = std::string{rest_after_tokens(line, name_words + index)};
  }
  if (index >= placeholders.size())
    return {};
  switch (kind_of(placeholders[index])) {
    case arg_kind::user: return pick(current, users, " ");
    case arg_kind::path: return complete_path(current, list);
    case arg_kind::none: break;
  }
  return {};
}

void user_names::add(const std::string& user) {
  std::lock_guard lock{mutex_};
  if (std::find(users_.begin(), users_.end(), user) == users_.end())
    users_.push_back(user);
}

void user_names::remove(const std::string& user) {
  std::lock_guard lock{mutex_};
  std::erase(users_, user);
}

void user_names::set(std::vector<std::string> users) {
  std::lock_guard lock{mutex_};
  users_ = std::move(users);
}

std::vector<std::string> user_names::snapshot() const {
  std::lock_guard lock{mutex_};
  return users_;
}

}  // namespace mk::cli
