#pragma once
// The node configuration (PROTOCOL §12) and the default file locations (§3).
// Parsing validates every key and reports errors as mk::errc::config_error with "file:line: dotted.key: what".

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "core/result.hpp"

namespace mk::config {

// PROTOCOL §5, §12: what to do with an incoming CONNECT / AUDIOSTART / FILEINIT that is not whitelisted.
enum class action { accept, refuse, prompt };

std::string_view to_string(action a);
// Exact, lower-case names only ("accept", "refuse", "prompt"); nullopt otherwise.
std::optional<action> parse_action(std::string_view text);

struct policy {
  std::vector<std::string> whitelist;
  action default_action = action::prompt;

  // True if `user` is on the whitelist (exact, byte-wise match). The caller applies default_action otherwise.
  bool allows(std::string_view user) const;

  bool operator==(const policy&) const = default;
};

struct node_config {                          // PROTOCOL §12 keys, with the original's defaults
  std::string username;                       // network.username ("" = ask)
  std::uint16_t port = limits::default_port;  // network.port
  std::vector<std::string> autoconnect;       // network.autoconnect ("host[:port]")
  policy connection;                          // network.connection.whitelist / default_action
  bool encrypt_by_default = true;             // network.connection.encrypt_by_default
  bool require_encryption = true;             // network.connection.require_encryption: no user content in plaintext
  std::chrono::seconds rekey_after = limits::rekey_after;  // envelope epochs (not config keys: tests shorten them)
  std::uint64_t rekey_after_datagrams = limits::rekey_after_datagrams;
  double verifies_per_second = limits::global_verifies_per_second;  // node-wide signature budget's refill (not a
                                                                    // config key: tests starve it)
  policy audio;                               // network.audio.whitelist / default_action
  int threshold = 40;                         // network.audio.threshold (0..32767)
  int complexity = limits::modern_complexity; // network.audio.complexity (0..10): Opus effort between mokaccino nodes
  std::string audio_input;                    // network.audio.input ("" = default device; "wav:<path>", "tone:<hz>", "silence")
  std::string audio_output;                   // network.audio.output ("" = default device; "wav:<path>", "null")
  policy file;                                // network.file.whitelist / default_action (default prompt)
  std::string download_dir;                   // network.file.download_dir ("" = default: $HOME/Downloads)
  std::uint64_t max_size = 4ull << 30;        // network.file.max_size in bytes (default 4 GiB)
  int keep_partial_days = 7;                  // network.file.keep_partial_days: an interrupted transfer's partial
                                              // file is kept this long to resume (0: not kept)
  std::vector<std::string> startup_commands;  // terminal.startup_commands
  std::string time_format = "[%H:%M:%S] ";    // terminal.time_format

  bool operator==(const node_config&) const = default;
};

// Why `name` cannot be a configured username (§4 FIX: at most limits::max_username bytes, valid UTF-8, no control
// characters), or nullopt if it can.
std::optional<std::string> username_problem(std::string_view name);

// Parse TOML text; `source` names the file in messages. Errors (errc::config_error) look like
//   mokaccino.cfg:3: network.port: expected an integer in 1..65535, got a string
//   mokaccino.cfg:2:7: <toml++ description>            (syntax errors: line and column)
// Unknown keys are accepted; each one adds a message to `warnings` ("mokaccino.cfg:9: network.colour: unknown key,
// ignored"). The two-argument form drops the warnings.
mk::result<node_config> parse_config(std::string_view toml_text, std::string_view source,
                                     std::vector<std::string>& warnings);
mk::result<node_config> parse_config(std::string_view toml_text, std::string_view source);

struct loaded_config {
  node_config config;
  bool file_missing = false;          // §12: a missing file means defaults (the caller logs it)
  std::vector<std::string> warnings;  // unknown keys, as from parse_config
};

// Missing file -> defaults + file_missing. Unreadable -> errc::io_error. Invalid -> errc::config_error, where the
// file name in the message is `file` as given.
mk::result<loaded_config> load_config(const std::filesystem::path& file);

// Command-line values WIN over the file (§12 FIX: the original gets this backwards).
struct overrides {
  std::optional<std::string> username;
  std::optional<std::uint16_t> port;
};
void apply(node_config& cfg, const overrides& o);

// §12: write the username back when it was asked for. Updates or inserts network.username, keeping every other key
// (and, where possible, the comments and layout); atomic (temp file + rename); creates the file if missing.
// An existing file that does not parse is left untouched and gives errc::config_error.
mk::result<void> store_username(const std::filesystem::path& file, std::string_view username);

// Default locations (§3): root = $HOME/.config/Mokaccino. Pure: HOME is passed in.
struct paths {
  std::filesystem::path root, config, private_key, known_users, downloads;
};
paths default_paths(const std::filesystem::path& home);

// The directory downloads go to: network.file.download_dir if set, else paths.downloads.
std::filesystem::path download_dir(const node_config& cfg, const paths& p);

}  // namespace mk::config
