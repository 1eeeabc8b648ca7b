#pragma once
// Everything before the actor system starts (PROTOCOL §3, §12): default files, config (command line wins),
// identity, known users, and the username question.

#include <filesystem>
#include <string>

#include "cli/options.hpp"
#include "core/config/config.hpp"
#include "core/config/known_users.hpp"
#include "core/crypto/identity.hpp"
#include "core/result.hpp"

namespace mk::cli {

class output;

struct prepared {
  config::node_config config;
  crypto::identity identity;
  config::known_users known_users;
  std::filesystem::path known_users_file;  // "" = pins in memory only (the file did not parse)
  std::filesystem::path download_dir;
};

// $HOME for the default files: --home, else $HOME, else the password database; "" if none.
std::filesystem::path home_directory(const cli_options& o);

// Prints what it does (missing config, new key, warnings) through `out`. An error result means: print nothing
// more, exit 1 (the error has been printed).
mk::result<prepared> prepare(const cli_options& o, bool interactive, output& out);

}  // namespace mk::cli
