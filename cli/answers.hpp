#pragma once
// The answers of the terminal's commands, built once for both outputs: the text a person reads and the typed
// object --json prints (one "type" per kind of answer; docs/json.md is the schema). Pure: no actors, no I/O.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/vocabulary.hpp"
#include "cli/command_table.hpp"
#include "cli/json.hpp"
#include "cli/output.hpp"

namespace mk::cli {

struct answer {
  tag t = tag::message;
  std::string type;    // the --json "type"
  std::string text;    // the terminal and the log
  json_object fields;  // the --json members after "type" and "time"
};

// The reply of a command that only says whether it worked (connect, msg, key add, file send, ...).
answer reply_answer(std::string_view command, const command_reply& r);
answer syntax_error_answer(std::span<const command_spec* const> usage);
answer user_list_answer(const std::vector<peer_info>& peers);
answer user_info_answer(const std::string& user, const peer_info& p);
answer stats_answer(const node_stats& s);
answer key_list_answer(const std::vector<key_entry>& keys);
// `key show <user>` from the pinned keys: the key and its fingerprint, or that the user is blacklisted or unknown.
answer key_show_answer(const std::string& user, const std::vector<key_entry>& keys);
answer file_list_answer(const std::vector<transfer_info>& list);
answer voice_devices_answer(const audio_devices& d);
// `wanted`: "" for every command, else a command name or its first word. Unknown: an error answer.
answer help_answer(std::string_view wanted);
answer listening_answer(std::uint16_t port, const std::string& user, const std::string& fingerprint);

// A transfer's state that has ended: its rate is the average from acceptance to the end, not a current rate.
bool transfer_finished(std::string_view state);

}  // namespace mk::cli
