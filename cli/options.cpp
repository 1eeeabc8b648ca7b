#include "cli/options.hpp"

#include <CLI/CLI.hpp>

#ifndef MK_VERSION
#define MK_VERSION "unknown"
#endif

namespace mk::cli {

std::string version_text() {
  return std::string{"Mokaccino "} + MK_VERSION +
         "\n\nCopyright (c) 2022 Ettore Ricci\n"
         "This is mokaccino, a re-implementation of Mokaccino (C++20, CAF), compatible with the original's "
         "protocol and files.";
}

parse_outcome parse_options(int argc, char** argv) {
  CLI::App app{"mokaccino: peer-to-peer chat, voice and files over UDP, end-to-end encrypted.\n"
               "Reads commands from the terminal (type `help`), or line by line from stdin when stdin is not a "
               "terminal; then events are written one per line to stdout.",
               "mokaccino"};
  cli_options o;
  std::uint16_t port = 0;
  std::string username, config, log, home, attach;
  std::uint16_t publish = 0;
  app.add_option("-p,--port", port, "UDP port to listen on (default: network.port of the config, else 23232)")
    ->check(CLI::Range(1, 65535));
  app.add_option("-u,--username", username, "Username to use (overrides network.username of the config)");
  app.add_option("-c,--config", config, "Configuration file (default: ~/.config/Mokaccino/mokaccino.cfg)");
  app.add_option("-l,--log", log, "Append a plain-text copy of every output line to this file");
  app.add_flag("--debug", o.debug, "Print debug events");
  app.add_flag("--json", o.json,
               "Write every output line as one JSON object (type, time, peer, text, id, fields) instead of text");
  app.add_flag("--no-color", o.no_color,
               "No colours on the terminal (also when NO_COLOR is set; never any when the output is not a terminal)");
  app.add_option("--home", home,
                 "Use this directory instead of $HOME for the default files (~/.config/Mokaccino/{mokaccino.cfg, "
                 "private.pem, known_users.toml}, ~/Downloads)");
  app.add_option("--publish", publish,
                 "Publish this node's command interface on 127.0.0.1:<port> (0 = any free port) for "
                 "`mokaccino attach`. Only a client that proves the secret token, written (mode 0600) to "
                 "~/.config/Mokaccino/remote.token or --token-file at start, can use it")
    ->check(CLI::Range(0, 65535));
  std::string token_file;
  app.add_option("--token-file", token_file,
                 "The remote-control token file that --publish writes and attach reads "
                 "(default: ~/.config/Mokaccino/remote.token)");
  auto* attach_cmd = app.add_subcommand(
    "attach", "Open the terminal of a node running elsewhere (started with --publish); `exit` leaves it running");
  attach_cmd->add_option("address", attach, "host:port of the published node")->required();
  attach_cmd->fallthrough();  // --json, -l and --debug still apply
  app.set_version_flag("-v,--version", version_text(), "Print the version and exit");
  app.footer(
    "Command-line values win over the configuration file. A missing configuration means defaults; a private key "
    "is generated on first start.\nWithout a terminal, the node keeps running at the end of input until `exit`, "
    "SIGINT or SIGTERM, and disconnects from its peers cleanly.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return {std::nullopt, app.exit(e)};
  }
  if (app.count("--port") != 0)
    o.port = port;
  if (app.count("--username") != 0)
    o.username = username;
  if (app.count("--config") != 0)
    o.config = config;
  if (app.count("--log") != 0)
    o.log = log;
  if (app.count("--home") != 0)
    o.home = home;
  if (app.count("--publish") != 0)
    o.publish = publish;
  if (app.count("--token-file") != 0)
    o.token_file = token_file;
  if (attach_cmd->parsed())
    o.attach = attach;
  return {std::move(o), 0};
}

}  // namespace mk::cli
