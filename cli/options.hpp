#pragma once
// The command line (PROTOCOL §12 options, plus --json and --home). CLI11 stays inside options.cpp: it is the
// most expensive header of the stack to compile (STACK-NOTES §1).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace mk::cli {

struct cli_options {
  std::optional<std::uint16_t> port;
  std::optional<std::string> username;
  std::optional<std::filesystem::path> config;  // default: <root>/mokaccino.cfg
  std::optional<std::filesystem::path> log;
  std::optional<std::filesystem::path> home;    // replaces $HOME for every default file
  bool debug = false;
  bool json = false;
  bool no_color = false;                        // --no-color (NO_COLOR in the environment does the same)
  std::optional<std::uint16_t> publish;         // --publish: remote control on 127.0.0.1:<port> (0 = any)
  std::optional<std::string> attach;            // `attach <host:port>`: the terminal of a published node
  std::optional<std::filesystem::path> token_file;  // --token-file: the remote-control secret (default below)
};

struct parse_outcome {
  std::optional<cli_options> options;  // nullopt: exit now with exit_code (help, version, bad option)
  int exit_code = 0;
};

// Prints help, version or errors itself.
parse_outcome parse_options(int argc, char** argv);

std::string version_text();

}  // namespace mk::cli
