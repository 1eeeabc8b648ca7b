#pragma once
// The whole message vocabulary of the node's actors, in one place (STYLE: Zeek Broker). The public part (the
// front-end commands, events and replies) is include/mokaccino/types.hpp, used here by name; the `mokaccino`
// executable's own atoms are cli/vocabulary.hpp (docs/design.md says why).
// Atoms are CAF 0.17 atom constants (<= 10 chars); structs carry an ADL `inspect` so CAF can copy, print and
// (for the remote-control interface) serialize them.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/endpoint.hpp"
#include "core/crypto/public_key.hpp"
#include "mokaccino/types.hpp"
#include "core/wire/messages.hpp"

// Parsed protocol messages travel between a session and a service in-process only (never over caf::io).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::wire::message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mk::wire::message>)

namespace mk {

// Each atom has one meaning: one sender side, one receiver side, one argument list. Atom values are global in a
// CAF 0.17 process (a handler matches the value, not the C++ name), which is another reason they are all here.

// -- udp socket <-> node / sessions ------------------------------------------------------------------------
// socket -> node: (datagram_atom, datagram_batch) strangers and malformed datagrams.
using datagram_atom = caf::atom_constant<caf::atom("dgram")>;
// socket (or the node, for lines that came before the session's table entry) -> session: (peer_lines_atom,
// std::vector<std::string> lines) all lines of one socket wake-up from that
// peer in one message (a fast transfer would otherwise cost a message per chunk), see session_table.
using peer_lines_atom = caf::atom_constant<caf::atom("peerlines")>;
// anyone -> socket: (send_to_atom, endpoint, std::string bytes); (send_batch_to_atom, endpoint,
// std::vector<std::string>). Sessions do not use these: they hand datagrams to the udp_sender directly.
using send_to_atom = caf::atom_constant<caf::atom("sendto")>;
using send_batch_to_atom = caf::atom_constant<caf::atom("sendbto")>;
// node -> session: (route_atom, std::string line), the first line of a responder's session (its CONNECT).
using route_atom = caf::atom_constant<caf::atom("route")>;

// -- node <-> sessions ---------------------------------------------------------------------------------------
// spawn_node -> node: (bound_atom, uint16 port) the socket is bound and the node's context complete.
using bound_atom = caf::atom_constant<caf::atom("bound")>;
// session -> node: (established_atom, user, endpoint, std::string pubkey) -> bool (false: the name is taken).
using established_atom = caf::atom_constant<caf::atom("estab")>;
// node -> session: (initiate_atom) send CONNECT (retransmitted until answered).
using initiate_atom = caf::atom_constant<caf::atom("initiate")>;
// node -> session: (close_atom, std::string reason) send DISCONNECT <reason> and end.
using close_atom = caf::atom_constant<caf::atom("close")>;
// node -> itself: (quit_now_atom) the sessions did not all end within 2 s of a shutdown: quit without them.
using quit_now_atom = caf::atom_constant<caf::atom("quitnow")>;
// node -> itself: (prompt_due_atom) a question's deadline has come (limits::handshake_timeout after it was
// asked): the unanswered ones due are answered no (prompt_registry::expire).
using prompt_due_atom = caf::atom_constant<caf::atom("promptdue")>;
// Periodic timers, each actor to itself. (tick_atom) bare: node, session, transfer service (nothing to tell
// apart, the timer is never cancelled); (tick_atom, uint64 generation): the file sender and receiver, whose
// timer is re-armed and must ignore the ticks of an older arming.
using tick_atom = caf::atom_constant<caf::atom("tick")>;
// session -> node: (intro_atom, std::string from, one of the intro_* structs below) introduction traffic (§7).
using intro_atom = caf::atom_constant<caf::atom("intro")>;
// session -> node: (mokaccino_peer_atom, std::string user) its MKCAPS arrived: the peer speaks the extensions.
using mokaccino_peer_atom = caf::atom_constant<caf::atom("mkpeer")>;

// -- known users ---------------------------------------------------------------------------------------------
using key_get_atom = caf::atom_constant<caf::atom("keyget")>;     // (key_get, user) -> std::string (key or "") + bool known
using key_pin_atom = caf::atom_constant<caf::atom("keypin")>;     // (key_pin, user, key) -> std::string effective pin
using key_info_atom = caf::atom_constant<caf::atom("keyinfo")>;   // (key_info, user) -> (bool known, std::string key, bool envelope)
using key_envelope_atom = caf::atom_constant<caf::atom("keyenv")>; // (key_envelope, user, key): that pin speaks env1 (no reply)
using key_set_atom = caf::atom_constant<caf::atom("keyset")>;     // (key_set, user, key) -> bool
using key_del_atom = caf::atom_constant<caf::atom("keydel")>;     // (key_del, user) -> bool
using mokaccino::key_list_atom;      // (key_list) -> std::vector<key_entry>

// -- front end -> node (commands; each replies with command_reply unless noted) -----------------------------
// The front-end atoms are public (include/mokaccino/types.hpp, typed as mokaccino::node_actor).
using mokaccino::connect_host_atom;  // (conhost, "host[:port]")
using mokaccino::connect_name_atom;  // (conname, user, via ("" = all peers))
using mokaccino::disconnect_atom;    // (disconn, user)
using mokaccino::msg_atom;           // (msg, user, text)
using mokaccino::encrypt_atom;       // (encrypt, user, bool on)
using mokaccino::user_list_atom;     // (userlist) -> std::vector<peer_info>
using mokaccino::user_info_atom;     // (userinfo, user) -> peer_info_reply
using mokaccino::key_cmd_atom;       // (keycmd, op, user, key) -> command_reply
using mokaccino::stats_atom;         // (stats) -> node_stats
using mokaccino::answer_atom;        // (answer, prompt id, bool yes)
using mokaccino::subscribe_atom;     // (subscribe, caf::actor sink)
using mokaccino::shutdown_atom;      // (shutdown): DISCONNECT every peer, then quit
using mokaccino::auth_atom;         // (mkauth, token) remote control (embed_remote.cpp): prove the token first
using info_atom = caf::atom_constant<caf::atom("info")>;            // (info) session -> peer_info
// session or service -> node: (prompt_atom, prompt_kind, user, text) -> bool, the user's answer (false when
// refused unasked: too many questions pending). The transfer service still sends the kind as its name
// (std::string "file"); the node takes both until that file is converted.
using prompt_atom = caf::atom_constant<caf::atom("prompt")>;

// -- sessions <-> services (file transfers, audio) ------------------------------------------------------------
// A session forwards every FILE*, AUDIO* and VOICE message of an established peer to the service that owns it:
//   (peer_msg_atom, std::string user, caf::actor session, bool mokaccino_peer, mk::wire::message msg)
// or, for the FILE* messages of one routed batch, (..., wire_batch msgs); the transfer service hands each transfer
// actor its share as (peer_msg_atom, mk::wire::message) or (peer_msg_atom, wire_batch).
// A service or transfer actor sends protocol lines back to the session (which encrypts them) with
// (send_line_atom, std::string line) or (send_lines_atom, std::vector<std::string> lines).
// When a session ends it tells every service: (peer_gone_atom, std::string user).
using send_line_atom = caf::atom_constant<caf::atom("sendline")>;
using send_lines_atom = caf::atom_constant<caf::atom("sendlines")>;
using peer_msg_atom = caf::atom_constant<caf::atom("peermsg")>;
using peer_gone_atom = caf::atom_constant<caf::atom("peergone")>;
// When a mokaccino peer's capabilities arrive, the session tells the transfer service whether it can resume:
//   (peer_ready_atom, std::string user, bool resume1); the service then re-offers transfers interrupted to it.
using peer_ready_atom = caf::atom_constant<caf::atom("peerready")>;
using wire_batch = std::vector<mk::wire::message>;
using session_of_atom = caf::atom_constant<caf::atom("sessionof")>; // (sessionof, user) -> caf::actor (invalid if none), bool mokaccino_peer
using peer_caps_atom = caf::atom_constant<caf::atom("peercaps")>;  // (peercaps) session -> std::vector<std::string>: the peer's MKCAPS features
using path_budget_atom = caf::atom_constant<caf::atom("pathbudg")>; // (pathbudg) session -> std::uint64_t: file data per datagram on its path
using path_suspect_atom = caf::atom_constant<caf::atom("pathsusp")>; // (pathsusp) file sender -> session: a timeout, confirm the path MTU

// -- transfer service <-> transfer actors (actors/transfer_service.hpp, file_sender.hpp, file_receiver.hpp) --------
// transfer actor -> service: (xfer_report_atom, transfer_info) now and then; (xfer_final_atom, transfer_info)
// once at the end (state done/failed/cancelled), after which the actor quits.
using xfer_report_atom = caf::atom_constant<caf::atom("xreport")>;
using xfer_final_atom = caf::atom_constant<caf::atom("xfinal")>;
// service -> sender: (xfer_prepare_atom) -> (bool ok, std::string error, std::string name, uint64 size) once the
// file is open; sender -> service: (xfer_hashed_atom, bool ok, std::string hash or error) when hashing ends.
using xfer_prepare_atom = caf::atom_constant<caf::atom("xprepare")>;
using xfer_hashed_atom = caf::atom_constant<caf::atom("xhashed")>;
using xfer_hash_atom = caf::atom_constant<caf::atom("xhash")>;  // hash thread -> sender: (bool ok, hash or error)
// Resume (issue 15), hash thread -> sender: (xfer_prefix_atom, uint64 offset, std::string sha384 of [0, offset)) on
// the way, then (xfer_content_atom, bool ok, std::string sha384 of the whole file or an error).
using xfer_prefix_atom = caf::atom_constant<caf::atom("xprefix")>;
using xfer_content_atom = caf::atom_constant<caf::atom("xcontent")>;
// receiver -> service: (xfer_partial_atom, std::string path) an interrupted transfer (of a file of its own, not
// of a folder) kept its partial file there.
using xfer_partial_atom = caf::atom_constant<caf::atom("xpartial")>;
// receiver -> itself: (xfer_rehash_atom) hash the next slice of a resumed partial file's prefix.
using xfer_rehash_atom = caf::atom_constant<caf::atom("xrehash")>;
// receiver -> service: (xfer_verified_atom, std::string id, std::string sha384) a lazy-hash transfer was verified
// and saved; the service answers a late FILEHASH for it from memory.
using xfer_verified_atom = caf::atom_constant<caf::atom("xverified")>;
// Folders (issue 15), folder sender -> service: (folder_file_atom, user, path, folder name, folder id, path in the
// folder) -> command_reply: send one file of the folder (folder id "" = as a file of its own, toward an original);
// its end comes back as (xfer_final_atom, transfer_info). The folder sender's own end goes to the service the same
// way, with transfer_info::files set.
using folder_file_atom = caf::atom_constant<caf::atom("folderfile")>;
// service -> transfer actor: (file_cancel_atom, std::string reason) the user cancelled;
// (peer_gone_atom, std::string user) the session ended; (peer_msg_atom, wire message) routed traffic.
// service -> file sender: (xfer_offer_atom) offer the file to the peer now (FILEINIT / FILEOFFER / FOLDERFILE).
using xfer_offer_atom = caf::atom_constant<caf::atom("xoffer")>;
// file receiver -> itself: (xfer_open_atom) open the .part (or the partial file to resume) once it runs.
using xfer_open_atom = caf::atom_constant<caf::atom("xopen")>;

// -- audio service ------------------------------------------------------------------------------------------
using audio_probe_atom = caf::atom_constant<caf::atom("audioprobe")>;  // self: the startup device check

// -- front end -> node -> services (replies command_reply unless noted) -------------------------------------
using mokaccino::file_send_atom;     // (filesend, user, path)
using mokaccino::file_list_atom;     // (filelist) -> std::vector<transfer_info>
using mokaccino::file_cancel_atom;   // (filecancel, hash prefix or name)
using mokaccino::voice_start_atom;   // (voicestart, user)
using mokaccino::voice_stop_atom;    // (voicestop)
using mokaccino::voice_devices_atom; // (voicedevs) -> audio_devices

// -- node -> front ends --------------------------------------------------------------------------------------
using mokaccino::event_atom;         // (event_atom, event)

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

// What a question to the user is about (prompt_atom; the "kind" field of a prompt event, by name).
enum class prompt_kind { connect, file, call };
const char* to_string(prompt_kind k) noexcept;
std::optional<prompt_kind> prompt_kind_of(std::string_view name) noexcept;

// The operations of key_cmd_atom. The public interface names them ("show", "add", "delete": a remote front end
// speaks strings); the node reads the name once, here, and works with the value.
enum class key_op { show, add, remove };
std::optional<key_op> key_op_of(std::string_view name) noexcept;

// Introductions (§7), session -> node as (intro_atom, std::string from, T). The session has checked what it can
// (signatures with the sender's key, the key and endpoint parse); the node decides what to do with them.
struct intro_request {  // REQUEST: `from` asks us to introduce it to `target`
  std::string target;
};
struct intro_fail {  // FAIL: `from` could not introduce us to `target`
  std::string target;
};
struct intro_key {  // KEY, its signature checked: `from` vouches for `target`'s key
  std::string target;
  bool signature_ok = false;
  std::optional<crypto::public_key> key;  // none: not a usable P-521 key
};
struct intro_requested {  // REQUESTED, its signature verified: `user` at `ep` wants to connect to us
  std::string user;
  std::optional<endpoint> ep;              // none: not an "ip:port"
  std::optional<crypto::public_key> key;   // none: not a usable P-521 key
};

}  // namespace mk

// The introductions never leave the process (caf::io carries only the public front-end types).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::intro_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::intro_fail)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::intro_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::intro_requested)

namespace mk {

// The value types front ends see are public (include/mokaccino/types.hpp): one definition, used here by name.
using mokaccino::command_reply;
using mokaccino::event;
using mokaccino::event_kind;
using mokaccino::key_entry;
using mokaccino::node_stats;
using mokaccino::peer_info;
using mokaccino::to_string;
using mokaccino::sanitise_event;  // issue 13: the node passes every event through it before publishing
using mokaccino::transfer_info;
using mokaccino::audio_device;
using mokaccino::audio_devices;

inline command_reply reply_ok(std::string m = {}) { return {true, std::move(m)}; }
inline command_reply reply_error(std::string m) { return {false, std::move(m)}; }

event make_event(event_kind kind, std::string peer, std::string text,
                 std::vector<std::pair<std::string, std::string>> fields = {});

}  // namespace mk
