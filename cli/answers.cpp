#include "cli/answers.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/crypto/public_key.hpp"

#include "core/transfer/human_bytes.hpp"

namespace mk::cli {

namespace {

std::string bytes(double n) { return transfer::human_bytes(n); }

}  // namespace

bool transfer_finished(std::string_view state) {
  return state == "done" || state == "failed" || state == "cancelled" || state == "refused" || state == "resumable";
}

answer reply_answer(std::string_view command, const command_reply& r) {
  answer a;
  a.type = "reply";
  a.t = r.ok ? tag::message : tag::error;
  a.text = !r.ok && r.message.empty() ? std::string{"Failed"} : r.message;
  a.fields.add("command", command).add("ok", r.ok).add("text", a.text);
  return a;
}

answer syntax_error_answer(std::span<const command_spec* const> usage) {
  answer a;
  a.type = "syntax_error";
  a.t = tag::error;
  a.text = "Syntax error";
  json_array list;
  for (std::size_t i = 0; i < usage.size(); ++i) {
    a.text += (i == 0 ? "\nUsage: " : "\n       ") + usage[i]->usage();
    list.add(usage[i]->usage());
  }
  a.fields.add("text", std::string_view{"Syntax error"}).add_raw("usage", list.str());
  return a;
}

answer user_list_answer(const std::vector<peer_info>& peers) {
  answer a;
  a.type = "user_list";
  a.text = peers.empty() ? std::string{"No user connected"}
                         : fmt::format("{} connected user{}:", peers.size(), peers.size() == 1 ? "" : "s");
  json_array users;
  for (auto& p : peers) {
    a.text += fmt::format("\n  {} ({}){}", p.user, p.address, p.encrypted ? ", encrypted" : "");
    users.add_raw(json_object{}
                    .add("user", p.user)
                    .add("address", p.address)
                    .add("encrypted", p.encrypted)
                    .add("mokaccino", p.mokaccino)
                    .str());
  }
  a.fields.add_raw("users", users.str());
  return a;
}

answer user_info_answer(const std::string& user, const peer_info& p) {
  answer a;
  a.type = "user_info";
  if (!p.connected) {
    a.t = tag::error;
    a.text = "User " + user + " is not connected";
    a.fields.add("user", user).add("connected", false);
    return a;
  }
  // §12: name, Encryption, Address and Ping as the original; then our extras.
  a.text = fmt::format("User: {}\nEncryption: {}\nAddress: {}\nPing: {:.2f} ms\nRound-trip time: {:.2f} ms\n"
                       "Datagrams sent: {}, received: {}, dropped: {}\nKey fingerprint: {}\nSoftware: {}",
                       p.user, p.encrypted ? "on" : "off", p.address, p.ping_ms, p.rtt_ms, p.sent, p.received,
                       p.dropped, p.fingerprint, p.mokaccino ? "mokaccino" : "original Mokaccino (or not yet known)");
  a.fields.add("user", p.user)
    .add("connected", true)
    .add("encrypted", p.encrypted)
    .add("address", p.address)
    .add("ping_ms", p.ping_ms)
    .add("rtt_ms", p.rtt_ms)
    .add("sent", p.sent)
    .add("received", p.received)
    .add("dropped", p.dropped)
    .add("fingerprint", p.fingerprint)
    .add("mokaccino", p.mokaccino);
  return a;
}

answer stats_answer(const node_stats& s) {
  answer a;
  a.type = "stats";
  a.text = fmt::format("Peers: {}, half-open handshakes: {}\nDatagrams in: {}, out: {}\n"
                       "Dropped: malformed {}, unknown source {}, rejected {}, authentication failures {}, "
                       "over the half-open limit {}, replayed or reflected {}, unauthenticated control {}\n"
                       "Signature checks: {}, refused by the budget {}, "
                       "questions refused (one per name and address) {}\n"
                       "Under load: cookies sent {}, addresses proven {}",
                       s.peers, s.half_open, s.datagrams_in, s.datagrams_out, s.malformed, s.unknown_source,
                       s.rejected, s.auth_failures, s.half_open_limit, s.replayed, s.unauthenticated, s.verifies,
                       s.verify_denied, s.prompts_refused, s.cookies_sent, s.cookies_proven);
  a.fields.add("peers", s.peers)
    .add("half_open", s.half_open)
    .add("datagrams_in", s.datagrams_in)
    .add("datagrams_out", s.datagrams_out)
    .add("malformed", s.malformed)
    .add("unknown_source", s.unknown_source)
    .add("rejected", s.rejected)
    .add("auth_failures", s.auth_failures)
    .add("half_open_limit", s.half_open_limit)
    .add("replayed", s.replayed)
    .add("unauthenticated", s.unauthenticated)
    .add("verifies", s.verifies)
    .add("verify_denied", s.verify_denied)
    .add("prompts_refused", s.prompts_refused)
    .add("cookies_sent", s.cookies_sent)
    .add("cookies_proven", s.cookies_proven);
  return a;
}

answer key_list_answer(const std::vector<key_entry>& keys) {
  answer a;
  a.type = "key_list";
  a.text = keys.empty() ? "No key pinned" : "Pinned keys:";
  json_array list;
  for (auto& k : keys) {
    a.text += "\n  " + k.user + ": " + (k.key.empty() ? std::string{"(blacklisted)"} : k.key);
    list.add_raw(json_object{}.add("user", k.user).add("key", k.key).add("blacklisted", k.key.empty()).str());
  }
  a.fields.add_raw("keys", list.str());
  return a;
}

answer key_show_answer(const std::string& user, const std::vector<key_entry>& keys) {
  answer a;
  a.type = "key";
  auto it = std::find_if(keys.begin(), keys.end(), [&](const key_entry& k) { return k.user == user; });
  const bool known = it != keys.end();
  const std::string key = known ? it->key : std::string{};
  std::string fingerprint;
  if (!key.empty())
    if (auto pk = crypto::public_key::from_base64(key))
      fingerprint = pk->fingerprint();
  if (!known) {
    a.t = tag::error;
    a.text = "No key pinned for " + user;
  } else if (key.empty()) {
    a.text = user + " is blacklisted";
  } else {
    a.text = user + ": " + key + (fingerprint.empty() ? std::string{} : "\nfingerprint: " + fingerprint);
  }
  a.fields.add("user", user)
    .add("known", known)
    .add("blacklisted", known && key.empty())
    .add("key", key)
    .add("fingerprint", fingerprint);
  return a;
}

namespace {

bool same_offer(const transfer_info& file, const transfer_info& folder) {
  return file.files == 0 && file.folder == folder.folder && file.peer == folder.peer && file.outgoing == folder.outgoing;
}

// Issue 15: files of a folder offer follow their folder's row; the rest keep their order.
std::vector<const transfer_info*> grouped(const std::vector<transfer_info>& list) {
  std::vector<const transfer_info*> out;
  for (auto& t : list)
    if (t.folder.empty())
      out.push_back(&t);
  for (auto& f : list) {
    if (f.files == 0)
      continue;
    out.push_back(&f);
    for (auto& t : list)
      if (!t.folder.empty() && same_offer(t, f))
        out.push_back(&t);
  }
  for (auto& t : list)  // files whose folder row is gone already
    if (!t.folder.empty() && t.files == 0 &&
        std::none_of(list.begin(), list.end(), [&](auto& f) { return f.files > 0 && same_offer(t, f); }))
      out.push_back(&t);
  return out;
}

}  // namespace

answer file_list_answer(const std::vector<transfer_info>& list) {
  answer a;
  a.type = "file_list";
  json_array items;
  if (list.empty())
    a.text = "No file transfer";
  else
    a.text = fmt::format("{:<10} {:<24} {:<13} {:>19} {:>5} {:>15} {:>7}  {}", "hash", "name", "direction", "bytes",
                         "%", "rate", "ETA", "state");
  std::size_t hidden = 0;  // a folder's files that are done: counted on its row, not listed one by one
  auto flush_hidden = [&] {
    if (hidden > 0)
      a.text += fmt::format("\n{:<10}   ... and {} more file(s) of that folder, done", "", hidden);
    hidden = 0;
  };
  for (const auto* tp : grouped(list)) {
    const auto& t = *tp;
    auto pct = t.size == 0 ? 100.0 : 100.0 * static_cast<double>(t.done) / static_cast<double>(t.size);
    // Issue 16: a finished transfer shows its average (acceptance to verified end), a running one its current rate.
    bool finished = transfer_finished(t.state);
    bool member = !t.folder.empty() && t.files == 0;
    if (!member)
      flush_hidden();
    if (member && t.state == "done") {
      ++hidden;
    } else {
      auto eta = t.eta_s < 0 || finished ? std::string{"-"} : fmt::format("{:.0f} s", t.eta_s);
      auto name = (member ? "  " : "") + t.name;
      // A kept folder (resumable) counts no files of its own: what it holds shows in its bytes.
      auto state = t.files == 0            ? t.state
                   : t.state == "resumable" ? fmt::format("resumable ({} files)", t.files)
                                            : fmt::format("{} ({}/{} files{})", t.state, t.files_done, t.files,
                                                          t.files_failed > 0 ? fmt::format(", {} failed", t.files_failed) : "");
      a.text += fmt::format("\n{:<10} {:<24} {:<13} {:>19} {:>4.0f}% {:>9}/s{} {:>7}  {}", t.hash.substr(0, 10),
                            name.size() > 24 ? name.substr(0, 23) + "~" : name, (t.outgoing ? "to " : "from ") + t.peer,
                            bytes(static_cast<double>(t.done)) + "/" + bytes(static_cast<double>(t.size)), pct,
                            bytes(t.rate_bps), finished ? " avg" : "    ", eta, state);
    }
    items.add_raw(json_object{}
                    .add("hash", t.hash)
                    .add("name", t.name)
                    .add("peer", t.peer)
                    .add("direction", t.outgoing ? "send" : "receive")
                    .add("state", t.state)
                    .add("size", t.size)
                    .add("bytes", t.done)
                    .add("percent", pct)
                    .add("rate", t.rate_bps)
                    .add("rate_kind", finished ? "average" : "current")
                    .add("eta_s", finished ? -1.0 : t.eta_s)
                    .add("resumed_from", t.resumed_from)
                    .add("folder", t.folder)
                    .add("files", t.files)
                    .add("files_done", t.files_done)
                    .add("files_failed", t.files_failed)
                    .str());
  }
  flush_hidden();
  a.fields.add_raw("transfers", items.str());
  return a;
}

answer voice_devices_answer(const audio_devices& d) {
  answer a;
  a.type = "voice_devices";
  json_array list;
  if (d.devices.empty()) {
    a.text = d.note;
  } else {
    a.text = "Audio devices (" + d.api + "; pick one with network.audio.input/output = \"device:<id>\"):";
    for (auto& dev : d.devices) {
      a.text += "\n  " + std::to_string(dev.id) + ": " + dev.name + " (in " + std::to_string(dev.inputs) + ", out " +
                std::to_string(dev.outputs) + ")" + (dev.default_input ? " default-input" : "") +
                (dev.default_output ? " default-output" : "");
      list.add_raw(json_object{}
                     .add("id", std::uint64_t{dev.id})
                     .add("name", dev.name)
                     .add("inputs", std::uint64_t{dev.inputs})
                     .add("outputs", std::uint64_t{dev.outputs})
                     .add("default_input", dev.default_input)
                     .add("default_output", dev.default_output)
                     .str());
    }
  }
  a.fields.add("api", d.api).add_raw("devices", list.str()).add("note", d.note);
  return a;
}

answer help_answer(std::string_view wanted) {
  answer a;
  a.type = "help";
  json_array list;
  for (auto& spec : command_specs()) {
    if (!wanted.empty() && spec.name != wanted && spec.name.substr(0, spec.name.find(' ')) != wanted)
      continue;
    if (!a.text.empty())
      a.text += '\n';
    a.text += fmt::format("{:<34} {}", spec.usage(), spec.help);
    list.add_raw(json_object{}.add("name", spec.name).add("usage", spec.usage()).add("help", spec.help).str());
  }
  if (a.text.empty()) {
    a.t = tag::error;
    a.type = "error";
    a.text = "No command \"" + std::string{wanted} + "\" (type help for the list)";
    return a;  // output::print_answer gives it the shape of an error event
  }
  if (wanted.empty())
    a.text = "Commands:\n" + a.text;
  a.fields.add_raw("commands", list.str());
  return a;
}

answer listening_answer(std::uint16_t port, const std::string& user, const std::string& fingerprint) {
  answer a;
  a.type = "listening";
  a.text = "Listening on UDP port " + std::to_string(port) + " as \"" + user + "\" (key " + fingerprint + ")";
  a.fields.add("port", static_cast<std::int64_t>(port)).add("user", user).add("fingerprint", fingerprint)
    .add("text", a.text);
  return a;
}

}  // namespace mk::cli
