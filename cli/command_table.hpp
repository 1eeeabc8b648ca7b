#pragma once
// PROTOCOL §12: the terminal's commands, as data. Parsing is pure (no actors), so the table is easy to extend
// (file and voice commands add rows here and a handler in command_exec.cpp) and easy to test.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mk::cli {

struct command_spec {
  std::string_view name;     // the words that select it: "connect hostname"
  std::string_view args;     // argument usage: "<host[:port]>"
  std::size_t min_args = 0;
  std::size_t max_args = 0;
  bool rest_is_text = false;  // the last argument is the rest of the line, verbatim (§8: msg)
  std::string_view help;

  std::string usage() const;  // name + args
};

std::span<const command_spec> command_specs();
const command_spec* find_command(std::string_view name);

struct parsed_command {
  const command_spec* spec = nullptr;  // nullptr: empty line or syntax error
  std::vector<std::string> args;
  std::vector<const command_spec*> usage;  // on a syntax error: the commands whose usage to show
  bool empty() const { return spec == nullptr && usage.empty(); }
  bool syntax_error() const { return spec == nullptr && !usage.empty(); }
};

// Tokenizes like the wire (§1.1: mk::wire::split_tokens) and matches the longest command name. Unknown command:
// usage = every command; known first word but wrong sub-command or arity: usage = the commands of that word.
parsed_command parse_command(std::string_view line);

// The raw bytes of `line` after its first `n` tokens and the spaces that follow them ("" if there are fewer).
std::string_view rest_after_tokens(std::string_view line, std::size_t n);

}  // namespace mk::cli
