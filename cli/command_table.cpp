#include "cli/command_table.hpp"

#include <array>

#include "core/wire/tokens.hpp"

namespace mk::cli {

namespace {

// The order here is the order of `help`.
constexpr std::array specs{
    command_spec{"connect hostname", "<host[:port]>", 1, 1, false,
                 "Connect directly to a node (default port 23232)."},
    command_spec{"connect name", "<user> [via]", 1, 2, false,
                 "Ask connected peers (or only <via>) to introduce <user>, then connect to it."},
    command_spec{"disconnect", "<user>", 1, 1, false, "Close the connection with <user>."},
    command_spec{"msg", "<user> <text...>", 2, 2, true,
                 "Send the rest of the line to <user>, verbatim (spaces and backslashes included)."},
    command_spec{"user list", "", 0, 0, false, "List the connected users."},
    command_spec{"user info", "<user>", 1, 1, false,
                 "Show a connected user: encryption, address, ping, round-trip time, counters, key fingerprint."},
    command_spec{"stats", "", 0, 0, false, "Show the node's datagram counters."},
    command_spec{"key list", "", 0, 0, false, "List the pinned keys (known_users.toml); \"loopback\" is our own."},
    command_spec{"key show", "<user>", 1, 1, false, "Show the key pinned for <user> and its fingerprint."},
    command_spec{"key add", "<user> <pubkey>", 2, 2, false,
                 "Pin <pubkey> (base64 P-521 SubjectPublicKeyInfo) for <user>; refused if a key is pinned."},
    command_spec{"key delete", "<user>", 1, 1, false, "Forget the key pinned for <user>."},
    command_spec{"encrypt start", "<user>", 1, 1, false, "Start end-to-end encryption with <user>."},
    command_spec{"encrypt stop", "<user>", 1, 1, false, "Stop end-to-end encryption with <user>."},
    command_spec{"file send", "<user> <path...>", 2, 2, true,
                 "Offer files or folders to <user> (a folder is one offer: one question, its tree kept); each is "
                 "sent once accepted. Quote paths with blanks when giving several."},
    command_spec{"file list", "", 0, 0, false,
                 "List transfers: name, direction, bytes, percent, rate and time left (and the last ones that ended)."},
    command_spec{"file cancel", "<hash-prefix|name...>", 1, 1, true,
                 "Cancel the transfer whose hash starts with, or whose name is, the rest of the line."},
    command_spec{"voice start", "<user>", 1, 1, false,
                 "Call <user> (one call at a time; audio from network.audio.input, to network.audio.output)."},
    command_spec{"voice stop", "", 0, 0, false, "End the call, or withdraw a call request."},
    command_spec{"voice devices", "", 0, 0, false,
                 "List the audio devices; pick one with network.audio.input/output = \"device:<id>\"."},
    command_spec{"sleep", "<seconds>", 1, 1, false,
                 "Wait before running the following commands (decimals allowed; at most 3600)."},
    command_spec{"help", "[command]", 0, 2, false, "Show every command, or the usage of one."},
    command_spec{"exit", "", 0, 0, false, "Disconnect from every peer and quit."},
};

std::size_t word_count(std::string_view name) {
  std::size_t n = 1;
  for (char c : name)
    n += c == ' ';
  return n;
}

// True if the first words of `tokens` spell `name`.
bool matches(std::string_view name, const std::vector<std::string>& tokens) {
  std::size_t i = 0;
  while (!name.empty()) {
    auto sp = name.find(' ');
    auto word = name.substr(0, sp);
    if (i >= tokens.size() || tokens[i] != word)
      return false;
    ++i;
    name = sp == std::string_view::npos ? std::string_view{} : name.substr(sp + 1);
  }
  return true;
}

std::string_view first_word(std::string_view name) { return name.substr(0, name.find(' ')); }

}  // namespace

std::string command_spec::usage() const {
  std::string u{name};
  if (!args.empty()) {
    u += ' ';
    u += args;
  }
  return u;
}

std::span<const command_spec> command_specs() { return specs; }

const command_spec* find_command(std::string_view name) {
  for (auto& s : specs)
    if (s.name == name)
      return &s;
  return nullptr;
}

std::string_view rest_after_tokens(std::string_view line, std::size_t n) {
  std::size_t i = 0;
  auto skip_spaces = [&] {
    while (i < line.size() && line[i] == ' ')
      ++i;
  };
  skip_spaces();
  for (std::size_t t = 0; t < n; ++t) {
    if (i >= line.size())
      return {};
    while (i < line.size() && line[i] != ' ')
      i += line[i] == '\\' ? 2 : 1;  // §1.1: a backslash makes the next byte part of the token
    i = std::min(i, line.size());
    skip_spaces();
  }
  return line.substr(i);
}

parsed_command parse_command(std::string_view line) {
  parsed_command out;
  auto tokens = wire::split_tokens(line);
  if (tokens.empty())
    return out;
  const command_spec* best = nullptr;
  for (auto& s : specs)
    if (matches(s.name, tokens) && (best == nullptr || word_count(s.name) > word_count(best->name)))
      best = &s;
  if (best != nullptr) {
    auto words = word_count(best->name);
    auto given = tokens.size() - words;
    bool ok = given >= best->min_args && (best->rest_is_text || given <= best->max_args);
    if (ok) {
      out.spec = best;
      if (best->rest_is_text) {
        out.args.assign(tokens.begin() + static_cast<std::ptrdiff_t>(words),
                        tokens.begin() + static_cast<std::ptrdiff_t>(words + best->max_args - 1));
        out.args.emplace_back(rest_after_tokens(line, words + best->max_args - 1));
      } else {
        out.args.assign(tokens.begin() + static_cast<std::ptrdiff_t>(words), tokens.end());
      }
      return out;
    }
  }
  for (auto& s : specs)
    if (first_word(s.name) == tokens[0])
      out.usage.push_back(&s);
  if (out.usage.empty())
    for (auto& s : specs)
      out.usage.push_back(&s);
  return out;
}

}  // namespace mk::cli
