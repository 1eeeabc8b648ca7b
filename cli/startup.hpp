#pragma once
// Everything before the node starts (PROTOCOL §3, §12): default files, config (command line wins), the username
// question, then identity and known users loaded through the public API (mokaccino::load_node_files), so that what
// they report is printed even if the port then cannot be bound.

#include <filesystem>
#include <string>

#include <caf/fwd.hpp>

#include "cli/options.hpp"
#include "core/config/config.hpp"
#include "core/result.hpp"
#include "mokaccino/node.hpp"

namespace mk::cli {

class output;

struct prepared {
  config::node_config config;  // the configuration file with the command line applied (autoconnect, startup_commands)
  mokaccino::node_config node; // the same, as the node is started with it
  mokaccino::node_files files; // its identity and pins, loaded
};

// The node's part of the configuration file, on the public node_config: identity and pins in the default files,
// downloads where network.file.download_dir (or the default) says.
mokaccino::node_config node_config_of(const config::node_config& cfg, const config::paths& paths, bool debug);

// The message of an error from the public API, as it was made (sys.render would add its category and code).
std::string error_text(const caf::error& e);

// $HOME for the default files: --home, else $HOME, else the password database; "" if none.
std::filesystem::path home_directory(const cli_options& o);

// Prints what it does (missing config, new key, warnings) through `out`. An error result means: print nothing
// more, exit 1 (the error has been printed).
mk::result<prepared> prepare(const cli_options& o, bool interactive, output& out);

}  // namespace mk::cli
