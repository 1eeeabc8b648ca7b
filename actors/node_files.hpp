#pragma once
// The files a node starts from (PROTOCOL §3): its identity (private.pem) and its pins (known_users.toml).
// Shared by the CLI (cli/startup.cpp) and the embedding API (actors/embed.cpp), so both treat a missing or broken
// file the same way.

#include <filesystem>
#include <string>
#include <vector>

#include <botan/rng.h>

#include "core/config/known_users.hpp"
#include "core/crypto/identity.hpp"
#include "core/result.hpp"

namespace mk {

struct node_files {
  crypto::identity identity;
  bool created_key = false;                 // the key file did not exist: a new identity was generated and saved
  config::known_users known_users;
  std::filesystem::path known_users_file;   // "" = pins in memory only (none given, or the file did not parse)
  std::vector<std::string> warnings;        // problems the caller must show; the node still starts
};

// Loads the identity from `private_key` (generated and saved if missing; a file that exists but is not a P-521
// key is an error, never replaced) and the pins from `known_users` ("" = none, in memory). §14: an unreadable pin
// store is never wiped: the node runs with pins in memory and `warnings` explains it.
mk::result<node_files> load_node_files(const std::filesystem::path& private_key,
                                       const std::filesystem::path& known_users,
                                       Botan::RandomNumberGenerator& rng);

// The pins alone, into `f` (for an identity that does not come from a file): the same rules as above.
void load_pins(node_files& f, const std::filesystem::path& known_users);

}  // namespace mk
