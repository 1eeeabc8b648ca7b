#pragma once
// mokaccino public API: the value types a node exchanges with the application (replies, peers, transfers,
// counters, events) and the atoms that name its commands. These are plain structs with an ADL `inspect`, so
// CAF can copy, print and serialize them (register them with mokaccino::add_message_types to send them over
// caf::io). Stable: fields are only ever added at the end.
//
// CAF 0.17 atoms are at most 10 characters; each atom below notes the message it starts and the reply.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

namespace mokaccino {

// -- command atoms (application -> node); see node_actor in mokaccino/node.hpp for the full signatures -----------
using connect_host_atom = caf::atom_constant<caf::atom("conhost")>;    // connect to "host[:port]"
using connect_name_atom = caf::atom_constant<caf::atom("conname")>;    // ask peers to introduce a user
using disconnect_atom = caf::atom_constant<caf::atom("disconn")>;      // close the connection with a user
using msg_atom = caf::atom_constant<caf::atom("msg")>;                 // send a text message
using encrypt_atom = caf::atom_constant<caf::atom("encrypt")>;         // start/stop end-to-end encryption
using user_list_atom = caf::atom_constant<caf::atom("userlist")>;      // connected peers
using user_info_atom = caf::atom_constant<caf::atom("userinfo")>;      // one peer
using key_cmd_atom = caf::atom_constant<caf::atom("keycmd")>;          // pinned keys: show / add / delete
using key_list_atom = caf::atom_constant<caf::atom("keylist")>;        // every pinned key
using stats_atom = caf::atom_constant<caf::atom("stats")>;             // node counters
using answer_atom = caf::atom_constant<caf::atom("answer")>;           // answer a prompt event
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;     // deliver events to an actor
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;       // disconnect every peer, then stop
using file_send_atom = caf::atom_constant<caf::atom("filesend")>;      // offer a file to a user
using file_list_atom = caf::atom_constant<caf::atom("filelist")>;      // transfers in progress and finished
using file_cancel_atom = caf::atom_constant<caf::atom("filecancel")>;  // cancel a transfer
using voice_start_atom = caf::atom_constant<caf::atom("voicestart")>;  // call a user
using voice_stop_atom = caf::atom_constant<caf::atom("voicestop")>;    // hang up
using voice_devices_atom = caf::atom_constant<caf::atom("voicedevs")>; // list audio devices

using auth_atom = caf::atom_constant<caf::atom("mkauth")>;             // remote control: prove the token

// -- node -> subscribers ----------------------------------------------------------------------------------------
using event_atom = caf::atom_constant<caf::atom("event")>;  // (event_atom, event)

// The reply of most commands. `ok` false means the command was refused or failed; `message` says why. When ok,
// `message` is a human-readable result ("Connecting to 127.0.0.1:23232"), possibly empty.
struct command_reply {
  bool ok = true;
  std::string message;
};
template <class I>
typename I::result_type inspect(I& f, command_reply& x) {
  return f(caf::meta::type_name("mokaccino::command_reply"), x.ok, x.message);
}

// One pinned key (known_users.toml).
struct key_entry {
  std::string user;
  std::string key;  // base64 P-521 SubjectPublicKeyInfo; "" = the user is blacklisted
};
template <class I>
typename I::result_type inspect(I& f, key_entry& x) {
  return f(caf::meta::type_name("mokaccino::key_entry"), x.user, x.key);
}

// A connected peer (what `user info` shows).
struct peer_info {
  std::string user;
  std::string address;           // "ip:port"
  bool encrypted = false;        // end-to-end encryption is on
  bool connected = false;        // false: no such peer (user_info of an unknown user)
  bool mokaccino = false;        // the peer is a mokaccino node (not the original program)
  double ping_ms = 0;            // average round-trip time / 2, like the original's "Ping"
  double rtt_ms = 0;             // smoothed round-trip time
  std::uint64_t sent = 0, received = 0, dropped = 0;  // datagrams
  std::string fingerprint;       // of the peer's public key
};
template <class I>
typename I::result_type inspect(I& f, peer_info& x) {
  return f(caf::meta::type_name("mokaccino::peer_info"), x.user, x.address, x.encrypted, x.connected, x.mokaccino,
           x.ping_ms, x.rtt_ms, x.sent, x.received, x.dropped, x.fingerprint);
}

// Counters of the node.
struct node_stats {
  std::uint64_t datagrams_in = 0, datagrams_out = 0;
  std::uint64_t malformed = 0;         // did not parse (bad token count, bad number, bad base64, ...)
  std::uint64_t unknown_source = 0;    // non-handshake message from an unconnected endpoint
  std::uint64_t rejected = 0;          // parsed but refused by state or policy (bad signature, plaintext while encrypted, ...)
  std::uint64_t auth_failures = 0;     // AEAD tag mismatch
  std::uint64_t half_open_limit = 0;   // CONNECTs dropped because of the half-open limit
  std::uint64_t peers = 0, half_open = 0;
  std::uint64_t replayed = 0;          // sealed datagrams refused as replayed, reflected or older than the window,
                                       // and CONNECTs of an established peer that never proved a restart
  std::uint64_t unauthenticated = 0;   // control refused: plaintext while encrypted, badly signed CRYPT lines
  std::uint64_t verifies = 0;          // signature checks the node-wide budget allowed
  std::uint64_t verify_denied = 0;     // signature checks refused by the node-wide budget (flood guard)
  std::uint64_t prompts_refused = 0;   // questions refused: one pending per claimed name and per address
  std::uint64_t cookies_sent = 0;      // MKCOOKIEs sent to unproven CONNECTs while under load
  std::uint64_t cookies_proven = 0;    // addresses that echoed a valid cookie
};
template <class I>
typename I::result_type inspect(I& f, node_stats& x) {
  return f(caf::meta::type_name("mokaccino::node_stats"), x.datagrams_in, x.datagrams_out, x.malformed,
           x.unknown_source, x.rejected, x.auth_failures, x.half_open_limit, x.peers, x.half_open, x.replayed, x.unauthenticated,
           x.verifies, x.verify_denied, x.prompts_refused, x.cookies_sent, x.cookies_proven);
}

// One file transfer (what `file list` shows).
struct transfer_info {
  std::string hash;             // SHA-384 of the file, hex; identifies the transfer
  std::string name;
  std::string peer;
  bool outgoing = false;
  std::string state;            // pending, sending, receiving, verifying, done, failed, cancelled;
                                // resumable (a partial file kept to resume, issue 15)
  std::uint64_t size = 0;
  std::uint64_t done = 0;       // bytes acknowledged (sender) or received in order (receiver)
  double rate_bps = 0;          // recent goodput, bytes per second
  double eta_s = -1;            // seconds left, -1 = unknown
  std::uint64_t resumed_from = 0;  // a resumed transfer: the bytes that were already there (not sent again)
  // Folders (issue 15): a file of a folder offer carries the folder's name ("photos/"); the offer itself is listed
  // too, with that name as `name` and `folder`, its total bytes as size, and its files counted below.
  std::string folder{};
  std::uint64_t files = 0;       // a folder offer: files in it
  std::uint64_t files_done = 0;  // ... that arrived (or failed: files_failed)
  std::uint64_t files_failed = 0;
};
template <class I>
typename I::result_type inspect(I& f, transfer_info& x) {
  return f(caf::meta::type_name("mokaccino::transfer_info"), x.hash, x.name, x.peer, x.outgoing, x.state, x.size,
           x.done, x.rate_bps, x.eta_s, x.resumed_from, x.folder, x.files, x.files_done, x.files_failed);
}

// One audio device (what `voice devices` lists); pick it with network.audio.input/output = "device:<id>".
struct audio_device {
  std::uint32_t id = 0;
  std::string name;
  std::uint32_t inputs = 0;   // capture channels
  std::uint32_t outputs = 0;  // playback channels
  bool default_input = false;
  bool default_output = false;
};
template <class I>
typename I::result_type inspect(I& f, audio_device& x) {
  return f(caf::meta::type_name("mokaccino::audio_device"), x.id, x.name, x.inputs, x.outputs, x.default_input,
           x.default_output);
}

// The answer to voice_devices_atom: the audio API in use and its devices, or why there are none (`note`).
struct audio_devices {
  std::string api;                    // e.g. "ALSA", "PulseAudio"; "" when no API could be opened
  std::vector<audio_device> devices;
  std::string note;                   // set when `devices` is empty: why, and what to do instead
};
template <class I>
typename I::result_type inspect(I& f, audio_devices& x) {
  return f(caf::meta::type_name("mokaccino::audio_devices"), x.api, x.devices, x.note);
}

// What an event is about. The fields of `event` each kind fills are listed beside it.
enum class event_kind : std::uint8_t {
  info,               // something worth a line (text)
  error,              // something went wrong (text, maybe peer)
  debug,              // only when the node was started with debug = true (text)
  connected,          // a peer connected (peer, text)
  disconnected,       // a peer is gone (peer, text: the reason)
  message,            // a text message arrived (peer, text: verbatim)
  message_sent,       // a text message was sent (peer, text)
  encryption,         // encryption turned on/off (peer, text, fields: state)
  prompt,             // a question to answer (id, peer, text, fields: kind = connect | file | call):
                      //   send (answer_atom, id, bool yes) to the node within 10 s, else the answer is "no"
  prompt_closed,      // a question no longer needs an answer (id, text: "yes" / "no")
  key_changed,        // a peer presented another key than the pinned one (peer, text, fields: pinned, presented)
  transfer,           // file transfer progress or result (peer, text, fields: hash, name, state, done, size, ...)
  call,               // voice call state (peer, text, fields: state, ...)
};
const char* to_string(event_kind k) noexcept;  // "info", "connected", ... (the --json "type")

// One event. Subscribers receive (event_atom, event).
struct event {
  event_kind kind = event_kind::info;
  std::int64_t time_ms = 0;  // wall clock, ms since the epoch
  std::string peer;          // the user it is about, "" if none
  std::string text;          // a human-readable line
  std::uint64_t id = 0;      // prompt id (prompt, prompt_closed)
  std::vector<std::pair<std::string, std::string>> fields;  // extra named values, by kind (above)
};
template <class I>
typename I::result_type inspect(I& f, event& x) {
  return f(caf::meta::type_name("mokaccino::event"), x.kind, x.time_ms, x.peer, x.text, x.id, x.fields);
}

// The value of field `name` of `e`, or "" if it has none.
std::string field(const event& e, const std::string& name);

// Makes `e` safe to show on a terminal, in a log or as JSON (issue 13): removes control characters, escape
// sequences and bidi overrides from the peer, the text (line by line) and every field name and value; invalid UTF-8
// becomes U+FFFD. Idempotent. A node applies it to every event before any subscriber sees it; apply it again to the
// events of a node you do not run yourself (attach_node), as the `mokaccino` terminal does.
void sanitise_event(event& e);

}  // namespace mokaccino
