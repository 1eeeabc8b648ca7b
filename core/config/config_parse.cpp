// PROTOCOL §12: the configuration keys, their types, ranges and defaults.

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "core/config/config.hpp"
#include "core/config/toml_parse.hpp"
#include "core/config/toml_text.hpp"

namespace mk::config {

std::string_view to_string(action a) {
  switch (a) {
    case action::accept: return "accept";
    case action::refuse: return "refuse";
    case action::prompt: return "prompt";
  }
  return "prompt";
}

std::optional<action> parse_action(std::string_view text) {
  for (auto a : {action::accept, action::refuse, action::prompt})
    if (text == to_string(a))
      return a;
  return std::nullopt;
}

bool policy::allows(std::string_view user) const {
  return std::find(whitelist.begin(), whitelist.end(), user) != whitelist.end();
}

std::optional<std::string> username_problem(std::string_view name) {
  // §4 FIX: usernames are bounded; control characters would corrupt the terminal and the logs.
  if (name.size() > limits::max_username)
    return fmt::format("longer than {} bytes", limits::max_username);
  if (!is_valid_utf8(name))
    return std::string{"not valid UTF-8"};
  if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }))
    return std::string{"contains a control character"};
  return std::nullopt;
}

namespace {

// One key being read: its value node, its dotted name for messages, and the line it is on.
struct entry {
  const toml::node& node;
  std::string key;
  std::uint32_t line;
};

struct reader {
  std::string_view source;
  std::vector<std::string>& warnings;

  mk::error fail(const entry& e, std::string_view what) const { return key_error(source, e.line, e.key, what); }
  mk::error wrong_type(const entry& e, std::string_view expected) const {
    return fail(e, fmt::format("expected {}, got {}", expected, describe_type(e.node)));
  }
};

using field_fn = std::function<std::optional<mk::error>(const reader&, const entry&)>;
struct field {
  std::string_view name;
  field_fn read;
};

std::uint32_t line_of(const toml::source_region& r) { return r.begin.line; }

// Reads a table with known fields; unknown keys become warnings (§12: accepted, reported).
std::optional<mk::error> read_table(const reader& r, const entry& e, const std::vector<field>& fields) {
  const auto* tbl = e.node.as_table();
  if (!tbl)
    return r.wrong_type(e, "a table");
  for (auto&& [k, v] : *tbl) {
    auto name = k.str();
    auto dotted = e.key.empty() ? toml_key(name) : e.key + "." + toml_key(name);
    auto line = line_of(k.source()) ? line_of(k.source()) : line_of(v.source());
    auto it = std::find_if(fields.begin(), fields.end(), [&](const field& f) { return f.name == name; });
    if (it == fields.end()) {
      r.warnings.push_back(line ? fmt::format("{}:{}: {}: unknown key, ignored", r.source, line, dotted)
                                : fmt::format("{}: {}: unknown key, ignored", r.source, dotted));
      continue;
    }
    if (auto err = it->read(r, entry{v, std::move(dotted), line}))
      return err;
  }
  return std::nullopt;
}

field table_field(std::string_view name, std::vector<field> fields) {
  return {name, [fields = std::move(fields)](const reader& r, const entry& e) { return read_table(r, e, fields); }};
}

using string_check = std::function<std::optional<std::string>(std::string_view)>;

std::optional<mk::error> read_string(const reader& r, const entry& e, std::string& out, const string_check& check) {
  const auto* s = e.node.as_string();
  if (!s)
    return r.wrong_type(e, "a string");
  if (check)
    if (auto problem = check(s->get()))
      return r.fail(e, *problem);
  out = s->get();
  return std::nullopt;
}

field string_field(std::string_view name, std::string& out, string_check check = {}) {
  return {name, [&out, check = std::move(check)](const reader& r, const entry& e) {
            return read_string(r, e, out, check);
          }};
}

field bool_field(std::string_view name, bool& out) {
  return {name, [&out](const reader& r, const entry& e) -> std::optional<mk::error> {
            const auto* b = e.node.as_boolean();
            if (!b)
              return r.wrong_type(e, "a boolean");
            out = b->get();
            return std::nullopt;
          }};
}

// An integer in [lo, hi]; `expected` describes the range for messages.
template <class T>
field int_field(std::string_view name, T& out, std::int64_t lo, std::int64_t hi, std::string expected) {
  return {name, [&out, lo, hi, expected = std::move(expected)](const reader& r,
                                                               const entry& e) -> std::optional<mk::error> {
            const auto* i = e.node.as_integer();
            if (!i)
              return r.wrong_type(e, expected);
            auto v = i->get();
            if (v < lo || v > hi)
              return r.fail(e, fmt::format("expected {}, got {}", expected, v));
            out = static_cast<T>(v);
            return std::nullopt;
          }};
}

field string_array_field(std::string_view name, std::vector<std::string>& out, string_check check = {}) {
  return {name, [&out, check = std::move(check)](const reader& r, const entry& e) -> std::optional<mk::error> {
            const auto* arr = e.node.as_array();
            if (!arr)
              return r.wrong_type(e, "an array of strings");
            std::vector<std::string> values;
            for (std::size_t i = 0; i < arr->size(); ++i) {
              const auto& item = *arr->get(i);
              auto line = line_of(item.source()) ? line_of(item.source()) : e.line;
              entry sub{item, fmt::format("{}[{}]", e.key, i), line};
              std::string value;
              if (auto err = read_string(r, sub, value, check))
                return err;
              values.push_back(std::move(value));
            }
            out = std::move(values);
            return std::nullopt;
          }};
}

field action_field(std::string_view name, action& out) {
  return {name, [&out](const reader& r, const entry& e) -> std::optional<mk::error> {
            const auto* s = e.node.as_string();
            if (!s)
              return r.wrong_type(e, "a string (accept, refuse, prompt)");
            auto a = parse_action(s->get());
            // §12 FIX: the original treats an unknown action as prompt; here it is an error the user must fix.
            if (!a)
              return r.fail(e, fmt::format("unknown action \"{}\" (accept, refuse, prompt)", s->get()));
            out = *a;
            return std::nullopt;
          }};
}

std::optional<std::string> check_host_port(std::string_view peer) {
  // §12: "host[:port]", IPv4 only (§1), so the last ':' separates the port.
  auto bad = [&] { return fmt::format("expected \"host[:port]\" with a port in 1..65535, got \"{}\"", peer); };
  auto colon = peer.rfind(':');
  auto host = peer.substr(0, colon);
  if (host.empty())
    return bad();
  if (colon == std::string_view::npos)
    return std::nullopt;
  auto port = peer.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value < 1 || value > 65535)
    return bad();
  return std::nullopt;
}

std::vector<field> policy_fields(policy& p) {
  return {string_array_field("whitelist", p.whitelist), action_field("default_action", p.default_action)};
}

std::vector<field> with(std::vector<field> a, std::vector<field> b) {
  for (auto& f : b)
    a.push_back(std::move(f));
  return a;
}

}  // namespace

mk::result<node_config> parse_config(std::string_view toml_text, std::string_view source,
                                     std::vector<std::string>& warnings) {
  auto doc = parse_toml(toml_text, source);
  if (!doc)
    return std::move(doc).error();

  node_config cfg;
  constexpr auto max_i64 = std::numeric_limits<std::int64_t>::max();
  std::vector<field> root{
      table_field("network",
                  {string_field("username", cfg.username, username_problem),
                   int_field("port", cfg.port, 1, 65535, "an integer in 1..65535"),
                   string_array_field("autoconnect", cfg.autoconnect, check_host_port),
                   table_field("connection", with(policy_fields(cfg.connection),
                                                  {bool_field("encrypt_by_default", cfg.encrypt_by_default),
                                                   bool_field("require_encryption", cfg.require_encryption)})),
                   table_field("audio", with(policy_fields(cfg.audio),
                                             {int_field("threshold", cfg.threshold, 0, 32767, "an integer in 0..32767"),
                                              int_field("complexity", cfg.complexity, 0, 10, "an integer in 0..10"),
                                              string_field("input", cfg.audio_input),
                                              string_field("output", cfg.audio_output)})),
                   table_field("file", with(policy_fields(cfg.file),
                                            {string_field("download_dir", cfg.download_dir),
                                             int_field("max_size", cfg.max_size, 0, max_i64,
                                                       "a non-negative integer (bytes)"),
                                             int_field("keep_partial_days", cfg.keep_partial_days, 0, 3650,
                                                       "an integer in 0..3650 (days)")}))}),
      table_field("terminal", {string_array_field("startup_commands", cfg.startup_commands),
                               string_field("time_format", cfg.time_format)}),
  };

  try {
    reader r{source, warnings};
    if (auto err = read_table(r, entry{*doc, "", 0}, root))
      return std::move(*err);
  } catch (const std::exception& e) {  // allocation failure: nothing else here throws
    return make_error(errc::config_error, fmt::format("{}: {}", source, e.what()));
  }
  return cfg;
}

mk::result<node_config> parse_config(std::string_view toml_text, std::string_view source) {
  std::vector<std::string> ignored;
  return parse_config(toml_text, source, ignored);
}

}  // namespace mk::config
