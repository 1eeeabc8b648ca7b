#include "cli/startup.hpp"

#include <cstdlib>
#include <iostream>
#include <system_error>

#include <botan/auto_rng.h>
#include <pwd.h>
#include <unistd.h>

#include "actors/node_files.hpp"
#include "cli/output.hpp"

namespace mk::cli {

namespace fs = std::filesystem;

fs::path home_directory(const cli_options& o) {
  if (o.home)
    return *o.home;
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0')
    return h;
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr)
    return pw->pw_dir;
  return {};
}

namespace {

mk::error fail(output& out, std::string text) {
  out.print(tag::error, text);
  return make_error(errc::config_error, std::move(text));
}

// §12: an empty username is asked for on the terminal and written back to the config file.
mk::result<void> ask_username(config::node_config& cfg, const fs::path& config_file, output& out) {
  for (;;) {
    std::cout << "Username: " << std::flush;
    std::string name;
    if (!std::getline(std::cin, name))
      return fail(out, "No username given (network.username is empty)");
    if (name.empty())
      continue;
    if (auto problem = config::username_problem(name)) {
      out.print(tag::error, "Invalid username: " + *problem);
      continue;
    }
    if (auto stored = config::store_username(config_file, name); !stored)
      out.print(tag::error, "Could not save the username: " + stored.error().message);
    else
      out.print(tag::message, "Username saved in " + config_file.string());
    cfg.username = name;
    return {};
  }
}

}  // namespace

mk::result<prepared> prepare(const cli_options& o, bool interactive, output& out) {
  auto home = home_directory(o);
  if (home.empty())
    return fail(out, "Cannot find the home directory: set $HOME or use --home");
  auto paths = config::default_paths(home);
  std::error_code ec;
  fs::create_directories(paths.root, ec);  // §3: created at startup
  if (ec)
    return fail(out, "Cannot create " + paths.root.string() + ": " + ec.message());

  auto config_file = o.config.value_or(paths.config);
  auto loaded = config::load_config(config_file);
  if (!loaded)
    return fail(out, loaded.error().message);  // names file:line: key
  for (auto& w : loaded->warnings)
    out.print(tag::error, w);
  if (loaded->file_missing)
    out.print(tag::message, "No configuration file at " + config_file.string() + ": using the defaults");
  auto cfg = std::move(loaded->config);
  config::apply(cfg, config::overrides{o.username, o.port});  // §12 FIX: the command line wins
  out.set_time_format(cfg.time_format);

  if (o.username)
    if (auto problem = config::username_problem(*o.username))
      return fail(out, "Invalid username given with -u: " + *problem);
  if (cfg.username.empty()) {
    if (!interactive)
      return fail(out, "network.username is empty in " + config_file.string() +
                         ": set it there or pass -u <name> (no terminal to ask on)");
    if (auto asked = ask_username(cfg, config_file, out); !asked)
      return asked.error();
  }

  Botan::AutoSeeded_RNG rng;
  auto files = load_node_files(paths.private_key, paths.known_users, rng);
  if (!files)
    return fail(out, files.error().message);
  if (files->created_key)
    out.print(tag::message, "Generated a new identity key in " + paths.private_key.string());
  for (auto& w : files->warnings)
    out.print(tag::error, w);  // §14: an unreadable pin store is kept, the pins live in memory

  prepared p{std::move(cfg), std::move(files->identity), std::move(files->known_users), files->known_users_file, {}};
  p.download_dir = config::download_dir(p.config, paths);
  return p;
}

}  // namespace mk::cli
