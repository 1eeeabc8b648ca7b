#pragma once
// The pinning store, in the original's format (PROTOCOL §3): one TOML table per username holding a string `key`
// (the <pubkey> text); "" means blacklisted; the node's own key is stored as `loopback`.
// mokaccino adds an optional `envelope = true` to a pin whose owner has spoken the sealed envelope (env1) with us:
// from then on that peer is held to it, so an attacker who drops its MKCAPS cannot push us back to the weaker
// §11 format (issue 13). The original reads only `key` and ignores the rest.
// Pinning is trust-on-first-use by username: pin() never overwrites, only set()/erase() change a pin.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace mk::config {

class known_users {
 public:
  // Every top-level key must be a table with a string `key` (other keys inside it are ignored). Anything else is
  // errc::config_error naming `source`, the line and the user.
  // An optional `envelope` must be a boolean.
  static mk::result<known_users> parse(std::string_view toml_text, std::string_view source);

  // Missing file -> empty store (ok). Unparsable -> errc::config_error naming file and line; the caller reports it
  // and KEEPS the file (never wipe it, §14). Unreadable -> errc::io_error.
  static mk::result<known_users> load(const std::filesystem::path& file);

  std::optional<std::string> key_of(std::string_view user) const;  // nullopt = unknown; "" = blacklisted
  bool contains(std::string_view user) const;
  bool is_blacklisted(std::string_view user) const;
  // TOML holds only UTF-8: a name or key that is not valid UTF-8 is never stored (pin/set return false).
  static bool storable(std::string_view user, std::string_view key);
  // TOFU: false (no change) if a pin exists, or the store holds limits::max_pinned_keys entries (issue 13: a
  // stranger flood cannot grow the file without bound).
  bool pin(std::string_view user, std::string_view key);
  // Explicit (e.g. blacklisting with "", own key as `loopback`); overwrites. False only if not storable().
  bool set(std::string_view user, std::string_view key);
  bool erase(std::string_view user);
  // The peer pinned with `key` proved it speaks the envelope: remember it with the pin. False (no change) if
  // `user` is not pinned with exactly `key`, or is already marked. A new key for the user (set()) clears the mark.
  bool mark_envelope(std::string_view user, std::string_view key);
  bool speaks_envelope(std::string_view user) const;
  std::size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

  std::vector<std::pair<std::string, std::string>> entries() const;  // sorted by name (byte-wise)

  // The original's layout: `[name]\nkey = '...'\n`, entries separated by a blank line, names sorted. Names that are
  // not bare keys are quoted (basic strings with escapes); keys that cannot be literal strings use basic strings.
  std::string serialize() const;

  // Atomic: temp file in the same directory, fsync, rename. Creates the parent directory if missing.
  mk::result<void> save(const std::filesystem::path& file) const;

  bool operator==(const known_users&) const = default;

 private:
  struct pin_entry {
    std::string key;
    bool envelope = false;
    bool operator==(const pin_entry&) const = default;
  };
  std::map<std::string, pin_entry, std::less<>> keys_;
};

}  // namespace mk::config
