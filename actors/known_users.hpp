#pragma once
// The known-users actor: the one owner and writer of known_users.toml (PROTOCOL §3). Every change is saved
// atomically (temp file + rename). Messages (see messages.hpp):
//   (key_get_atom, user)       -> (bool known, std::string key)        "" key = blacklisted
//   (key_info_atom, user)      -> (bool known, std::string key, bool envelope)   envelope: that pin speaks env1
//   (key_envelope_atom, user, key)                                   marks the pin (if it is `key`), no reply
//   (key_pin_atom, user, key)  -> std::string                           the pin in force after the call (TOFU)
//   (key_set_atom, user, key)  -> bool                                  explicit set ("" = blacklist)
//   (key_del_atom, user)       -> bool
//   (key_list_atom)            -> std::vector<key_entry>

#include <filesystem>

#include <caf/fwd.hpp>

#include "core/config/known_users.hpp"

namespace mk {

// `file` empty = keep pins in memory only (tests, embedding without persistence).
caf::actor spawn_known_users(caf::actor_system& sys, config::known_users initial, std::filesystem::path file);

}  // namespace mk
