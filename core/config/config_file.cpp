// Loading the config file, command-line overrides, writing the username back (§12) and default paths (§3).

#include <sstream>

#include <fmt/format.h>

#include "core/config/config.hpp"
#include "core/config/file_io.hpp"
#include "core/config/toml_parse.hpp"
#include "core/config/toml_text.hpp"

namespace mk::config {

mk::result<loaded_config> load_config(const std::filesystem::path& file) {
  auto text = read_text_file(file);
  if (!text)
    return std::move(text).error();
  loaded_config out;
  if (!text->has_value()) {  // §12: a missing file means defaults; the caller logs it
    out.file_missing = true;
    return out;
  }
  auto cfg = parse_config(**text, file.string(), out.warnings);
  if (!cfg)
    return std::move(cfg).error();
  out.config = std::move(*cfg);
  return out;
}

void apply(node_config& cfg, const overrides& o) {
  // §12 FIX: the command line wins over the file.
  if (o.username)
    cfg.username = *o.username;
  if (o.port)
    cfg.port = *o.port;
}

namespace {

struct text_lines {
  std::vector<std::string> lines;  // without '\n' (a '\r' stays, so CRLF files keep their endings)
  std::string join() const {
    std::string out;
    for (const auto& l : lines) {
      out += l;
      out += '\n';
    }
    return out;
  }
};

text_lines split_lines(std::string_view text) {
  text_lines out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    out.lines.emplace_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return out;
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  return s;
}

std::string line_end(const std::string& line) { return !line.empty() && line.back() == '\r' ? "\r" : ""; }

// Edits the text in place, keeping comments and layout: replaces an existing `username = ...` (all its lines) or
// inserts one after the `[network]` header, or appends a `[network]` table. Returns nullopt when the document is
// shaped in a way this does not handle (dotted keys, inline tables); the caller verifies the result anyway.
std::optional<std::string> edit_text(std::string_view text, const toml::table& doc, const std::string& line) {
  auto lines = split_lines(text);
  const auto* net = doc.get_as<toml::table>("network");
  if (net) {
    if (auto it = net->find("username"); it != net->end()) {
      auto first = it->first.source().begin.line, last = it->second.source().end.line;
      if (first == 0 || last < first || last > lines.lines.size())
        return std::nullopt;
      if (!trim_left(lines.lines[first - 1]).starts_with("username"))
        return std::nullopt;  // e.g. `network.username = ...` or an inline table
      auto eol = line_end(lines.lines[last - 1]);
      lines.lines.erase(lines.lines.begin() + (first - 1), lines.lines.begin() + last);
      lines.lines.insert(lines.lines.begin() + (first - 1), line + eol);
      return lines.join();
    }
    auto header = net->source().begin.line;
    if (header == 0 || header > lines.lines.size() || !trim_left(lines.lines[header - 1]).starts_with("["))
      return std::nullopt;
    lines.lines.insert(lines.lines.begin() + header, line + line_end(lines.lines[header - 1]));
    return lines.join();
  }
  std::string out{text};
  if (!out.empty() && out.back() != '\n')
    out += '\n';
  if (!out.empty())
    out += '\n';
  out += "[network]\n" + line + "\n";
  return out;
}

}  // namespace

mk::result<void> store_username(const std::filesystem::path& file, std::string_view username) {
  auto source = file.string();
  if (auto problem = username_problem(username))
    return key_error(source, 0, "network.username", *problem);
  auto text = read_text_file(file);
  if (!text)
    return std::move(text).error();
  auto line = "username = " + toml_basic_string(username);
  if (!text->has_value())
    return write_file_atomic(file, "[network]\n" + line + "\n");

  // Never touch a file we cannot parse: the user's settings are in it.
  auto doc = parse_toml(**text, source);
  if (!doc)
    return std::move(doc).error();
  try {
    toml::table expected = *doc;
    auto* net = expected.get("network");
    if (!net) {
      expected.insert("network", toml::table{});
      net = expected.get("network");
    }
    if (!net->is_table()) {  // copies carry no source position: take the line from the parsed document
      auto it = doc->find("network");
      return key_error(source, it->first.source().begin.line, "network",
                       fmt::format("expected a table, got {}", describe_type(*net)));
    }
    net->as_table()->insert_or_assign("username", std::string{username});

    // Prefer the in-place edit; accept it only if it parses to exactly the expected document.
    if (auto edited = edit_text(**text, *doc, line)) {
      auto check = parse_toml(*edited, source);
      if (check && *check == expected)
        return write_file_atomic(file, *edited);
    }
    std::ostringstream os;
    os << expected << '\n';
    return write_file_atomic(file, os.str());
  } catch (const std::exception& e) {
    return make_error(errc::config_error, fmt::format("{}: {}", source, e.what()));
  }
}

paths default_paths(const std::filesystem::path& home) {
  // §3: the original's locations, so a user can switch without losing identity or pins.
  paths p;
  p.root = home / ".config" / "Mokaccino";
  p.config = p.root / "mokaccino.cfg";
  p.private_key = p.root / "private.pem";
  p.known_users = p.root / "known_users.toml";
  p.downloads = home / "Downloads";
  return p;
}

std::filesystem::path download_dir(const node_config& cfg, const paths& p) {
  return cfg.download_dir.empty() ? p.downloads : std::filesystem::path{cfg.download_dir};
}

}  // namespace mk::config
