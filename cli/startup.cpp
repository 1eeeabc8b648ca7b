#include "cli/startup.hpp"

#include <cstdlib>
#include <iostream>
#include <system_error>

#include <caf/error.hpp>
#include <caf/message.hpp>
#include <pwd.h>
#include <unistd.h>

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

mokaccino::policy_action public_action(config::action a) {
  switch (a) {
    case config::action::accept: return mokaccino::policy_action::accept;
    case config::action::refuse: return mokaccino::policy_action::refuse;
    case config::action::prompt: break;
  }
  return mokaccino::policy_action::prompt;
}

mokaccino::policy public_policy(const config::policy& p) { return {p.whitelist, public_action(p.default_action)}; }

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

mokaccino::node_config node_config_of(const config::node_config& cfg, const config::paths& paths, bool debug) {
  mokaccino::node_config n;
  n.username = cfg.username;
  n.port = cfg.port;
  n.connection = public_policy(cfg.connection);
  n.encrypt_by_default = cfg.encrypt_by_default;
  n.require_encryption = cfg.require_encryption;
  n.audio = public_policy(cfg.audio);
  n.threshold = cfg.threshold;
  n.complexity = cfg.complexity;
  n.audio_input = cfg.audio_input;
  n.audio_output = cfg.audio_output;
  n.file = public_policy(cfg.file);
  n.max_file_size = cfg.max_size;
  n.keep_partial_days = cfg.keep_partial_days;
  n.download_dir = config::download_dir(cfg, paths);
  n.private_key = paths.private_key;  // §3: created on the first start
  n.known_users = paths.known_users;
  n.debug = debug;
  return n;
}

std::string error_text(const caf::error& e) {
  const auto& context = e.context();
  if (context.match_elements<std::string>())
    return context.get_as<std::string>(0);
  return caf::to_string(e);
}

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

  auto node = node_config_of(cfg, paths, o.debug);
  auto files = mokaccino::load_node_files(node);
  if (!files)
    return fail(out, error_text(files.error()));  // names the key file
  if (files->created_key)
    out.print(tag::message, "Generated a new identity key in " + paths.private_key.string());
  for (auto& w : files->warnings)
    out.print(tag::error, w);  // §14: an unreadable pin store is kept, the pins live in memory
  return prepared{std::move(cfg), std::move(node), std::move(*files)};
}

}  // namespace mk::cli
