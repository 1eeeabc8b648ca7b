// PROTOCOL §3: known_users.toml, the TOFU pinning store.

#include "core/config/known_users.hpp"

#include <fmt/format.h>

#include "core/config/file_io.hpp"
#include "core/config/toml_parse.hpp"
#include "core/config/toml_text.hpp"
#include "core/limits.hpp"

namespace mk::config {

mk::result<known_users> known_users::parse(std::string_view toml_text, std::string_view source) {
  auto doc = parse_toml(toml_text, source);
  if (!doc)
    return std::move(doc).error();
  try {
    known_users out;
    for (auto&& [k, v] : *doc) {
      auto name = toml_key(k.str());
      auto line = k.source().begin.line;
      const auto* tbl = v.as_table();
      if (!tbl)
        return key_error(source, line, name, fmt::format("expected a table, got {}", describe_type(v)));
      const auto* key = tbl->get("key");
      if (!key)
        return key_error(source, line, name + ".key", "missing");
      const auto* str = key->as_string();
      if (!str)
        return key_error(source, key->source().begin.line, name + ".key",
                         fmt::format("expected a string, got {}", describe_type(*key)));
      bool envelope = false;
      if (const auto* env = tbl->get("envelope")) {
        const auto* flag = env->as_boolean();
        if (!flag)
          return key_error(source, env->source().begin.line, name + ".envelope",
                           fmt::format("expected a boolean, got {}", describe_type(*env)));
        envelope = flag->get();
      }
      out.keys_.emplace(std::string{k.str()}, pin_entry{str->get(), envelope && !str->get().empty()});
    }
    return out;
  } catch (const std::exception& e) {  // allocation failure
    return make_error(errc::config_error, fmt::format("{}: {}", source, e.what()));
  }
}

mk::result<known_users> known_users::load(const std::filesystem::path& file) {
  auto text = read_text_file(file);
  if (!text)
    return std::move(text).error();
  if (!text->has_value())
    return known_users{};
  return parse(**text, file.string());
}

std::optional<std::string> known_users::key_of(std::string_view user) const {
  auto it = keys_.find(user);
  if (it == keys_.end())
    return std::nullopt;
  return it->second.key;
}

bool known_users::contains(std::string_view user) const { return keys_.find(user) != keys_.end(); }

bool known_users::is_blacklisted(std::string_view user) const {
  auto it = keys_.find(user);
  return it != keys_.end() && it->second.key.empty();
}

bool known_users::storable(std::string_view user, std::string_view key) {
  return is_valid_utf8(user) && is_valid_utf8(key);
}

bool known_users::pin(std::string_view user, std::string_view key) {
  // §3: trust on first use; a pin is never overwritten here.
  if (contains(user) || !storable(user, key) || keys_.size() >= limits::max_pinned_keys)
    return false;
  keys_.emplace(std::string{user}, pin_entry{std::string{key}});
  return true;
}

bool known_users::set(std::string_view user, std::string_view key) {
  if (!storable(user, key))
    return false;
  auto it = keys_.find(user);
  if (it != keys_.end() && it->second.key == key)
    return true;  // unchanged: the envelope mark stays
  keys_.insert_or_assign(std::string{user}, pin_entry{std::string{key}});
  return true;
}

bool known_users::mark_envelope(std::string_view user, std::string_view key) {
  auto it = keys_.find(user);
  if (it == keys_.end() || it->second.key.empty() || it->second.key != key || it->second.envelope)
    return false;
  it->second.envelope = true;
  return true;
}

bool known_users::speaks_envelope(std::string_view user) const {
  auto it = keys_.find(user);
  return it != keys_.end() && it->second.envelope;
}

bool known_users::erase(std::string_view user) {
  auto it = keys_.find(user);
  if (it == keys_.end())
    return false;
  keys_.erase(it);
  return true;
}

std::vector<std::pair<std::string, std::string>> known_users::entries() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(keys_.size());
  for (const auto& [user, pin] : keys_)
    out.emplace_back(user, pin.key);
  return out;
}

std::string known_users::serialize() const {
  // The original's layout (toml++'s writer): `[name]` then `key = '...'`, a blank line between tables.
  std::string out;
  for (const auto& [user, pin] : keys_) {
    if (!out.empty())
      out += '\n';
    out += '[' + toml_key(user) + "]\nkey = " + toml_string(pin.key) + '\n';
    if (pin.envelope)
      out += "envelope = true\n";
  }
  return out;
}

mk::result<void> known_users::save(const std::filesystem::path& file) const {
  try {
    return write_file_atomic(file, serialize());
  } catch (const std::exception& e) {  // allocation failure
    return make_error(errc::io_error, fmt::format("{}: {}", file.string(), e.what()));
  }
}

}  // namespace mk::config
