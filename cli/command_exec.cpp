// The handlers of the command table (command_table.cpp): one function per command, looked up by name.
// To add a command: a row in command_table.cpp and a handler here.

#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>

#include "cli/answers.hpp"
#include "cli/completion.hpp"
#include "cli/path_args.hpp"
#include "cli/terminal_state.hpp"

namespace mk::cli {

namespace {

using args_t = std::vector<std::string>;
using handler = void (*)(terminal_state&, const args_t&);

// Each handler knows its command's name for the --json "reply" answer.
void simple(terminal_state& st, std::string_view command, auto... xs) {
  st.ask_node<command_reply>([&st, command](command_reply& r) { st.out().print_answer(reply_answer(command, r)); },
                             xs...);
}

void connect_hostname(terminal_state& st, const args_t& a) {
  simple(st, "connect hostname", connect_host_atom::value, a[0]);
}

void connect_name(terminal_state& st, const args_t& a) {
  simple(st, "connect name", connect_name_atom::value, a[0], a.size() > 1 ? a[1] : std::string{});
}

void disconnect(terminal_state& st, const args_t& a) { simple(st, "disconnect", disconnect_atom::value, a[0]); }

void msg(terminal_state& st, const args_t& a) {
  // §8: the text is the rest of the line verbatim; the sender prints `<to> << <text>` itself.
  st.ask_node<command_reply>(
    [&st, to = a[0], text = a[1]](command_reply& r) {
      if (!r.ok)
        return st.out().print_answer(reply_answer("msg", r));
      if (st.out().json())
        return st.out().print_answer(reply_answer("msg", command_reply{true, to + " << " + text}));
      st.out().print_own_message(to, text);
    },
    msg_atom::value, a[0], a[1]);
}

void encrypt_start(terminal_state& st, const args_t& a) { simple(st, "encrypt start", encrypt_atom::value, a[0], true); }
void encrypt_stop(terminal_state& st, const args_t& a) { simple(st, "encrypt stop", encrypt_atom::value, a[0], false); }

// One offer per path: a file, or a folder (one question for all of it; file by file toward an original node).
void file_send(terminal_state& st, const args_t& a) {
  auto paths = split_paths(a[1], [](const std::string& p) {
    std::error_code ec;
    return std::filesystem::exists(p, ec);
  });
  if (paths.empty())
    return st.out().print_answer(reply_answer("file send", command_reply{false, "Unbalanced quotes in the paths"}));
  for (auto& p : paths)
    simple(st, "file send", file_send_atom::value, a[0], p);
}
void file_cancel(terminal_state& st, const args_t& a) { simple(st, "file cancel", file_cancel_atom::value, a[0]); }

void file_list(terminal_state& st, const args_t&) {
  st.ask_node<std::vector<transfer_info>>(
    [&st](std::vector<transfer_info>& list) { st.out().print_answer(file_list_answer(list)); }, file_list_atom::value);
}

void voice_start(terminal_state& st, const args_t& a) { simple(st, "voice start", voice_start_atom::value, a[0]); }
void voice_stop(terminal_state& st, const args_t&) { simple(st, "voice stop", voice_stop_atom::value); }
void voice_devices(terminal_state& st, const args_t&) {
  st.ask_node<audio_devices>([&st](audio_devices& d) { st.out().print_answer(voice_devices_answer(d)); },
                             voice_devices_atom::value);
}

void user_list(terminal_state& st, const args_t&) {
  st.ask_node<std::vector<peer_info>>(
    [&st](std::vector<peer_info>& peers) {
      std::vector<std::string> names;
      for (auto& p : peers)
        names.push_back(p.user);
      st.opts.users->set(std::move(names));
      st.out().print_answer(user_list_answer(peers));
    },
    user_list_atom::value);
}

void user_info(terminal_state& st, const args_t& a) {
  st.ask_node<peer_info>([&st, user = a[0]](peer_info& p) { st.out().print_answer(user_info_answer(user, p)); },
                         user_info_atom::value, a[0]);
}

void stats(terminal_state& st, const args_t&) {
  st.ask_node<node_stats>([&st](node_stats& s) { st.out().print_answer(stats_answer(s)); }, stats_atom::value);
}

void key_list(terminal_state& st, const args_t&) {
  st.ask_node<std::vector<key_entry>>(
    [&st](std::vector<key_entry>& keys) { st.out().print_answer(key_list_answer(keys)); }, key_list_atom::value);
}

// From the list of pinned keys, so that --json gets the key and its fingerprint as members (issue 16).
void key_show(terminal_state& st, const args_t& a) {
  st.ask_node<std::vector<key_entry>>(
    [&st, user = a[0]](std::vector<key_entry>& keys) { st.out().print_answer(key_show_answer(user, keys)); },
    key_list_atom::value);
}
void key_add(terminal_state& st, const args_t& a) {
  simple(st, "key add", key_cmd_atom::value, std::string{"add"}, a[0], a[1]);
}
void key_delete(terminal_state& st, const args_t& a) {
  simple(st, "key delete", key_cmd_atom::value, std::string{"delete"}, a[0], std::string{});
}

constexpr double max_sleep_seconds = 3600;  // a typo must not freeze the command queue for days

void sleep(terminal_state& st, const args_t& a) {
  double seconds = -1;
  auto& s = a[0];
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(seconds) || seconds < 0 ||
      seconds > max_sleep_seconds)
    return st.out().print(tag::error, "sleep: expected a number of seconds in 0.." +
                                        std::to_string(static_cast<int>(max_sleep_seconds)) + ", got \"" + s + "\"");
  // Delays the following commands, never the actor system (a timer, not a blocking sleep).
  st.busy = true;
  auto gen = ++st.sleep_generation;
  st.self->delayed_send(st.self, std::chrono::microseconds{static_cast<std::int64_t>(seconds * 1e6)},
                        wake_atom::value, gen);
}

void help(terminal_state& st, const args_t& a) {
  std::string wanted;
  for (auto& w : a)
    wanted += (wanted.empty() ? "" : " ") + w;
  st.out().print_answer(help_answer(wanted));
}

void exit_cmd(terminal_state& st, const args_t&) { st.shutdown(); }

const std::map<std::string_view, handler>& handlers() {
  static const std::map<std::string_view, handler> table{
    {"connect hostname", connect_hostname},
    {"connect name", connect_name},
    {"disconnect", disconnect},
    {"msg", msg},
    {"user list", user_list},
    {"user info", user_info},
    {"stats", stats},
    {"key list", key_list},
    {"key show", key_show},
    {"key add", key_add},
    {"key delete", key_delete},
    {"encrypt start", encrypt_start},
    {"encrypt stop", encrypt_stop},
    {"file send", file_send},
    {"file list", file_list},
    {"file cancel", file_cancel},
    {"voice start", voice_start},
    {"voice stop", voice_stop},
    {"voice devices", voice_devices},
    {"sleep", sleep},
    {"help", help},
    {"exit", exit_cmd},
  };
  return table;
}

}  // namespace

void run_command(terminal_state& st, const parsed_command& cmd) {
  auto it = handlers().find(cmd.spec->name);
  if (it == handlers().end())
    return st.out().print(tag::error, "Command \"" + std::string{cmd.spec->name} + "\" is not available yet");
  it->second(st, cmd.args);
}

}  // namespace mk::cli
