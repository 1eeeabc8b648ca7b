// The handlers of the command table (command_table.cpp): one function per command, looked up by name.
// To add a command: a row in command_table.cpp and a handler here.

#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "core/transfer/human_bytes.hpp"
#include "cli/terminal_state.hpp"

namespace mk::cli {

namespace {

using args_t = std::vector<std::string>;
using handler = void (*)(terminal_state&, const args_t&);

void print_reply(terminal_state& st, const command_reply& r) {
  if (!r.ok)
    st.out().print(tag::error, r.message.empty() ? std::string{"Failed"} : r.message);
  else if (!r.message.empty())
    st.out().print(tag::message, r.message);
}

void simple(terminal_state& st, auto... xs) {
  st.ask_node<command_reply>([&st](command_reply& r) { print_reply(st, r); }, xs...);
}

void connect_hostname(terminal_state& st, const args_t& a) { simple(st, connect_host_atom::value, a[0]); }

void connect_name(terminal_state& st, const args_t& a) {
  simple(st, connect_name_atom::value, a[0], a.size() > 1 ? a[1] : std::string{});
}

void disconnect(terminal_state& st, const args_t& a) { simple(st, disconnect_atom::value, a[0]); }

void msg(terminal_state& st, const args_t& a) {
  // §8: the text is the rest of the line verbatim; the sender prints `<to> << <text>` itself.
  st.ask_node<command_reply>(
    [&st, to = a[0], text = a[1]](command_reply& r) {
      if (r.ok)
        st.out().print(tag::message, to + " << " + text);
      else
        print_reply(st, r);
    },
    msg_atom::value, a[0], a[1]);
}

void encrypt_start(terminal_state& st, const args_t& a) { simple(st, encrypt_atom::value, a[0], true); }
void encrypt_stop(terminal_state& st, const args_t& a) { simple(st, encrypt_atom::value, a[0], false); }

void file_send(terminal_state& st, const args_t& a) { simple(st, file_send_atom::value, a[0], a[1]); }
void file_cancel(terminal_state& st, const args_t& a) { simple(st, file_cancel_atom::value, a[0]); }

void file_list(terminal_state& st, const args_t&) {
  st.ask_node<std::vector<transfer_info>>(
    [&st](std::vector<transfer_info>& list) {
      if (list.empty())
        return st.out().print(tag::message, "No file transfer");
      std::string text = fmt::format("{:<10} {:<24} {:<13} {:>19} {:>5} {:>11} {:>7}  {}", "hash", "name", "direction",
                                     "bytes", "%", "rate", "ETA", "state");
      for (auto& t : list) {
        auto pct = t.size == 0 ? 100.0 : 100.0 * static_cast<double>(t.done) / static_cast<double>(t.size);
        auto eta = t.eta_s < 0 ? std::string{"-"} : fmt::format("{:.0f} s", t.eta_s);
        text += fmt::format("\n{:<10} {:<24} {:<13} {:>19} {:>4.0f}% {:>9}/s {:>7}  {}", t.hash.substr(0, 10),
                            t.name.size() > 24 ? t.name.substr(0, 23) + "~" : t.name,
                            (t.outgoing ? "to " : "from ") + t.peer, transfer::human_bytes(static_cast<double>(t.done)) + "/" +
                            transfer::human_bytes(static_cast<double>(t.size)), pct, transfer::human_bytes(t.rate_bps), eta, t.state);
      }
      st.out().print(tag::message, text);
    },
    file_list_atom::value);
}

void voice_start(terminal_state& st, const args_t& a) { simple(st, voice_start_atom::value, a[0]); }
void voice_stop(terminal_state& st, const args_t&) { simple(st, voice_stop_atom::value); }
void voice_devices(terminal_state& st, const args_t&) { simple(st, voice_devices_atom::value); }

void user_list(terminal_state& st, const args_t&) {
  st.ask_node<std::vector<peer_info>>(
    [&st](std::vector<peer_info>& peers) {
      if (peers.empty())
        return st.out().print(tag::message, "No user connected");
      std::string text = fmt::format("{} connected user{}:", peers.size(), peers.size() == 1 ? "" : "s");
      for (auto& p : peers)
        text += fmt::format("\n  {} ({}){}", p.user, p.address, p.encrypted ? ", encrypted" : "");
      st.out().print(tag::message, text);
    },
    user_list_atom::value);
}

void user_info(terminal_state& st, const args_t& a) {
  st.ask_node<peer_info>(
    [&st, user = a[0]](peer_info& p) {
      if (!p.connected)
        return st.out().print(tag::error, "User " + user + " is not connected");
      // §12: name, Encryption, Address and Ping as the original; then our extras.
      st.out().print(tag::message,
                     fmt::format("User: {}\nEncryption: {}\nAddress: {}\nPing: {:.2f} ms\nRound-trip time: {:.2f} ms\n"
                                 "Datagrams sent: {}, received: {}, dropped: {}\nKey fingerprint: {}\nSoftware: {}",
                                 p.user, p.encrypted ? "on" : "off", p.address, p.ping_ms, p.rtt_ms, p.sent,
                                 p.received, p.dropped, p.fingerprint,
                                 p.mokaccino ? "mokaccino" : "original Mokaccino (or not yet known)"));
    },
    user_info_atom::value, a[0]);
}

void stats(terminal_state& st, const args_t&) {
  st.ask_node<node_stats>(
    [&st](node_stats& s) {
      st.out().print(tag::message,
                     fmt::format("Peers: {}, half-open handshakes: {}\nDatagrams in: {}, out: {}\n"
                                 "Dropped: malformed {}, unknown source {}, rejected {}, authentication failures {}, "
                                 "over the half-open limit {}, replayed or reflected {}, unauthenticated control {}\n"
                                 "Signature checks: {}, refused by the budget {}, "
                                 "questions refused (one per name and address) {}\n"
                                 "Under load: cookies sent {}, addresses proven {}",
                                 s.peers, s.half_open, s.datagrams_in, s.datagrams_out, s.malformed, s.unknown_source,
                                 s.rejected, s.auth_failures, s.half_open_limit, s.replayed, s.unauthenticated,
                                 s.verifies, s.verify_denied, s.prompts_refused, s.cookies_sent,
                                 s.cookies_proven));
    },
    stats_atom::value);
}

void key_list(terminal_state& st, const args_t&) {
  st.ask_node<std::vector<key_entry>>(
    [&st](std::vector<key_entry>& keys) {
      if (keys.empty())
        return st.out().print(tag::message, "No key pinned");
      std::string text = "Pinned keys:";
      for (auto& k : keys)
        text += "\n  " + k.user + ": " + (k.key.empty() ? std::string{"(blacklisted)"} : k.key);
      st.out().print(tag::message, text);
    },
    key_list_atom::value);
}

void key_show(terminal_state& st, const args_t& a) {
  simple(st, key_cmd_atom::value, std::string{"show"}, a[0], std::string{});
}
void key_add(terminal_state& st, const args_t& a) { simple(st, key_cmd_atom::value, std::string{"add"}, a[0], a[1]); }
void key_delete(terminal_state& st, const args_t& a) {
  simple(st, key_cmd_atom::value, std::string{"delete"}, a[0], std::string{});
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
  std::string text;
  for (auto& spec : command_specs()) {
    auto name = std::string{spec.name};
    if (!wanted.empty() && name != wanted && name.substr(0, name.find(' ')) != wanted)
      continue;
    if (!text.empty())
      text += '\n';
    text += fmt::format("{:<34} {}", spec.usage(), spec.help);
  }
  if (text.empty())
    return st.out().print(tag::error, "No command \"" + wanted + "\" (type help for the list)");
  if (wanted.empty())
    text = "Commands:\n" + text;
  st.out().print(tag::message, text);
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
