#pragma once
// The whole message vocabulary of the actor system, in one place (STYLE: Zeek Broker).
// Atoms are CAF 0.17 atom constants (<= 10 chars); structs carry an ADL `inspect` so CAF can copy, print and
// (for the remote-control interface) serialize them.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/endpoint.hpp"
#include "core/wire/messages.hpp"

// Parsed protocol messages travel between a session and a service in-process only (never over caf::io).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::wire::message)

namespace mk {

// -- udp socket <-> node / sessions ------------------------------------------------------------------------
using datagram_atom = caf::atom_constant<caf::atom("dgram")>;     // (datagram_atom, datagram_batch) socket -> node
using send_atom = caf::atom_constant<caf::atom("send")>;          // (send_atom, endpoint, std::string bytes) -> socket
using send_batch_atom = caf::atom_constant<caf::atom("sendb")>;   // (send_batch_atom, endpoint, std::vector<std::string>)
using route_atom = caf::atom_constant<caf::atom("route")>;        // node -> session: (route_atom, std::string line)

// -- node <-> sessions ---------------------------------------------------------------------------------------
using established_atom = caf::atom_constant<caf::atom("estab")>;  // session -> node: (estab, user, endpoint) -> bool
using closed_atom = caf::atom_constant<caf::atom("closed")>;      // session -> node: (closed, endpoint)
using tick_atom = caf::atom_constant<caf::atom("tick")>;          // timers: (tick_atom, uint64 generation)
using start_atom = caf::atom_constant<caf::atom("start")>;        // node -> session: initiate a handshake
using intro_atom = caf::atom_constant<caf::atom("intro")>;        // session -> node: introduction traffic
using peer_addr_atom = caf::atom_constant<caf::atom("peeraddr")>; // node -> session: who is user X (for REQUEST)

// -- known users ---------------------------------------------------------------------------------------------
using key_get_atom = caf::atom_constant<caf::atom("keyget")>;     // (key_get, user) -> std::string (key or "") + bool known
using key_pin_atom = caf::atom_constant<caf::atom("keypin")>;     // (key_pin, user, key) -> std::string effective pin
using key_set_atom = caf::atom_constant<caf::atom("keyset")>;     // (key_set, user, key) -> bool
using key_del_atom = caf::atom_constant<caf::atom("keydel")>;     // (key_del, user) -> bool
using key_list_atom = caf::atom_constant<caf::atom("keylist")>;   // (key_list) -> std::vector<key_entry>

// -- front end -> node (commands; each replies with command_reply unless noted) -----------------------------
using connect_host_atom = caf::atom_constant<caf::atom("conhost")>; // (conhost, "host[:port]")
using connect_name_atom = caf::atom_constant<caf::atom("conname")>; // (conname, user, via ("" = all peers))
using disconnect_atom = caf::atom_constant<caf::atom("disconn")>;   // (disconn, user)
using msg_atom = caf::atom_constant<caf::atom("msg")>;              // (msg, user, text)
using encrypt_atom = caf::atom_constant<caf::atom("encrypt")>;      // (encrypt, user, bool on)
using user_list_atom = caf::atom_constant<caf::atom("userlist")>;   // (userlist) -> std::vector<peer_info>
using user_info_atom = caf::atom_constant<caf::atom("userinfo")>;   // (userinfo, user) -> peer_info_reply
using key_cmd_atom = caf::atom_constant<caf::atom("keycmd")>;       // (keycmd, op, user, key) -> command_reply
using stats_atom = caf::atom_constant<caf::atom("stats")>;          // (stats) -> node_stats
using answer_atom = caf::atom_constant<caf::atom("answer")>;        // (answer, prompt id, bool yes)
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;  // (subscribe, caf::actor sink)
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;    // (shutdown): DISCONNECT every peer, then quit
using info_atom = caf::atom_constant<caf::atom("info")>;            // (info) session -> peer_info
using prompt_atom = caf::atom_constant<caf::atom("prompt")>;        // session -> node: (prompt, kind, user, text) -> bool

// -- sessions <-> services (file transfers, audio) ------------------------------------------------------------
// A session forwards every FILE*, AUDIO* and VOICE message of an established peer to the service that owns it:
//   (peer_msg_atom, std::string user, caf::actor session, bool peer_is_mokaccino, mk::wire::message msg)
// A service sends protocol lines back with (send_atom, std::string line) to the session (which encrypts them).
// When a session ends it tells every service: (peer_gone_atom, std::string user).
using peer_msg_atom = caf::atom_constant<caf::atom("peermsg")>;
using peer_gone_atom = caf::atom_constant<caf::atom("peergone")>;
using session_of_atom = caf::atom_constant<caf::atom("sessionof")>; // (sessionof, user) -> caf::actor (invalid if none), bool mokaccino

// -- front end -> node -> services (replies command_reply unless noted) -------------------------------------
using file_send_atom = caf::atom_constant<caf::atom("filesend")>;    // (filesend, user, path)
using file_list_atom = caf::atom_constant<caf::atom("filelist")>;    // (filelist) -> std::vector<transfer_info>
using file_cancel_atom = caf::atom_constant<caf::atom("filecancel")>; // (filecancel, hash prefix or name)
using voice_start_atom = caf::atom_constant<caf::atom("voicestart")>; // (voicestart, user)
using voice_stop_atom = caf::atom_constant<caf::atom("voicestop")>;   // (voicestop)
using voice_devices_atom = caf::atom_constant<caf::atom("voicedevs")>; // (voicedevs) -> command_reply listing devices

// -- node -> front ends --------------------------------------------------------------------------------------
using event_atom = caf::atom_constant<caf::atom("event")>;          // (event_atom, event)

// A batch of received datagrams, drained from the socket in one wake-up.
struct datagram {
  endpoint from;
  std::string bytes;
};
template <class I>
typename I::result_type inspect(I& f, datagram& x) {
  return f(caf::meta::type_name("mk::datagram"), x.from, x.bytes);
}
using datagram_batch = std::vector<datagram>;

struct command_reply {
  bool ok = true;
  std::string message;  // a human-readable result or error
};
template <class I>
typename I::result_type inspect(I& f, command_reply& x) {
  return f(caf::meta::type_name("mk::command_reply"), x.ok, x.message);
}
inline command_reply reply_ok(std::string m = {}) { return {true, std::move(m)}; }
inline command_reply reply_error(std::string m) { return {false, std::move(m)}; }

struct key_entry {
  std::string user;
  std::string key;  // "" = blacklisted
};
template <class I>
typename I::result_type inspect(I& f, key_entry& x) {
  return f(caf::meta::type_name("mk::key_entry"), x.user, x.key);
}

// What `user info` shows (PROTOCOL §12) plus our counters.
struct peer_info {
  std::string user;
  std::string address;
  bool encrypted = false;
  bool connected = false;
  bool mokaccino = false;        // the peer answered MKCAPS
  double ping_ms = 0;            // avg RTT / 2 like the original's "Ping"
  double rtt_ms = 0;
  std::uint64_t sent = 0, received = 0, dropped = 0;
  std::string fingerprint;
};
template <class I>
typename I::result_type inspect(I& f, peer_info& x) {
  return f(caf::meta::type_name("mk::peer_info"), x.user, x.address, x.encrypted, x.connected, x.mokaccino,
           x.ping_ms, x.rtt_ms, x.sent, x.received, x.dropped, x.fingerprint);
}

// Counters of the node: visible through `stats` and `user info`.
struct node_stats {
  std::uint64_t datagrams_in = 0, datagrams_out = 0;
  std::uint64_t malformed = 0;         // did not parse (bad token count, bad number, bad base64, ...)
  std::uint64_t unknown_source = 0;    // non-handshake message from an unconnected endpoint
  std::uint64_t rejected = 0;          // parsed but refused by state or policy (bad signature, plaintext while encrypted, ...)
  std::uint64_t auth_failures = 0;     // GCM tag mismatch
  std::uint64_t half_open_limit = 0;   // CONNECTs dropped because of the half-open limit
  std::uint64_t peers = 0, half_open = 0;
};
template <class I>
typename I::result_type inspect(I& f, node_stats& x) {
  return f(caf::meta::type_name("mk::node_stats"), x.datagrams_in, x.datagrams_out, x.malformed, x.unknown_source,
           x.rejected, x.auth_failures, x.half_open_limit, x.peers, x.half_open);
}

// One file transfer as `file list` shows it (issue "File transfers").
struct transfer_info {
  std::string hash;
  std::string name;
  std::string peer;
  bool outgoing = false;
  std::string state;            // pending, sending, receiving, verifying, done, failed, cancelled
  std::uint64_t size = 0;
  std::uint64_t done = 0;       // bytes acknowledged (sender) or received in order (receiver)
  double rate_bps = 0;          // recent goodput, bytes per second
  double eta_s = -1;            // seconds left, -1 = unknown
};
template <class I>
typename I::result_type inspect(I& f, transfer_info& x) {
  return f(caf::meta::type_name("mk::transfer_info"), x.hash, x.name, x.peer, x.outgoing, x.state, x.size, x.done,
           x.rate_bps, x.eta_s);
}

// What the node tells its front ends. One struct for every kind, so a terminal prints it and --json dumps it.
enum class event_kind : std::uint8_t {
  info,               // something worth a line (text)
  error,              // something went wrong (text)
  debug,              // --debug only
  connected,          // peer connected (peer, address)
  disconnected,       // peer gone (peer, reason)
  message,            // text received (peer, text)
  message_sent,       // text sent (peer, text)
  encryption,         // encryption on/off (peer, fields: state)
  prompt,             // a question (id, text, fields: kind); answer with answer_atom
  prompt_closed,      // a question no longer needs an answer (id)
  key_changed,        // a peer presented another key than the pinned one (peer, fields: pinned, presented)
  transfer,           // file transfer progress/result (fields)
  call,               // voice call state (fields)
};
const char* to_string(event_kind k) noexcept;

struct event {
  event_kind kind = event_kind::info;
  std::int64_t time_ms = 0;  // wall clock, ms since epoch
  std::string peer;
  std::string text;
  std::uint64_t id = 0;      // prompt id
  std::vector<std::pair<std::string, std::string>> fields;
};
template <class I>
typename I::result_type inspect(I& f, event& x) {
  return f(caf::meta::type_name("mk::event"), x.kind, x.time_ms, x.peer, x.text, x.id, x.fields);
}
event make_event(event_kind kind, std::string peer, std::string text,
                 std::vector<std::pair<std::string, std::string>> fields = {});

}  // namespace mk
