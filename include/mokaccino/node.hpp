#pragma once
// mokaccino public API: run a mokaccino node inside your own CAF 0.17 actor system.
//
//   caf::actor_system_config cfg;
//   mokaccino::add_message_types(cfg);              // before the system exists
//   mokaccino::configure_scheduler(cfg);            // recommended: see below
//   caf::actor_system sys{cfg};
//   mokaccino::node_config nc;
//   nc.username = "alice";
//   nc.private_key = "/path/private.pem";            // created on first start
//   auto n = mokaccino::spawn_node(sys, nc);         // caf::expected<mokaccino::node>
//   caf::anon_send(n->handle, mokaccino::subscribe_atom::value, my_event_actor);
//   self->request(n->handle, 10s, mokaccino::connect_host_atom::value, std::string{"bob.example:23232"})
//     .then([](const mokaccino::command_reply& r) { ... });
//
// Events (mokaccino/types.hpp: event, event_kind) arrive at every subscribed actor as (event_atom, event).
// A prompt event (someone wants to connect, send a file, call) waits for (answer_atom, id, yes) at most 10 s.
// Stop a node with (shutdown_atom) (it says goodbye to its peers first) or an exit message.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "mokaccino/types.hpp"

namespace mokaccino {

// The commands a node answers. Each reply arrives within a few seconds (at most 30 s for a name lookup of
// connect_host); a refused or failed command answers command_reply{false, reason}, never an error.
using node_actor = caf::typed_actor<
  // connect directly to "host[:port]" (default port 23232); the result arrives as a `connected` event
  caf::replies_to<connect_host_atom, std::string>::with<command_reply>,
  // (user, via): ask connected peers (via = "" for all, else only that peer) to introduce `user`
  caf::replies_to<connect_name_atom, std::string, std::string>::with<command_reply>,
  // (user): close the connection
  caf::replies_to<disconnect_atom, std::string>::with<command_reply>,
  // (user, text): send `text` verbatim
  caf::replies_to<msg_atom, std::string, std::string>::with<command_reply>,
  // (user, on): start (true) or stop (false) end-to-end encryption
  caf::replies_to<encrypt_atom, std::string, bool>::with<command_reply>,
  // connected peers, sorted by name
  caf::replies_to<user_list_atom>::with<std::vector<peer_info>>,
  // (user): one peer; peer_info::connected is false if there is no such peer
  caf::replies_to<user_info_atom, std::string>::with<peer_info>,
  // (op, user, key): op = "show" | "add" (key "" = blacklist) | "delete"; key is ignored except for "add"
  caf::replies_to<key_cmd_atom, std::string, std::string, std::string>::with<command_reply>,
  // every pinned key; the node's own key is "loopback"
  caf::replies_to<key_list_atom>::with<std::vector<key_entry>>,
  caf::replies_to<stats_atom>::with<node_stats>,
  // (user, path): offer a file; progress and result arrive as `transfer` events
  caf::replies_to<file_send_atom, std::string, std::string>::with<command_reply>,
  caf::replies_to<file_list_atom>::with<std::vector<transfer_info>>,
  // (hash prefix or file name)
  caf::replies_to<file_cancel_atom, std::string>::with<command_reply>,
  // (user): call; the call state arrives as `call` events
  caf::replies_to<voice_start_atom, std::string>::with<command_reply>,
  caf::replies_to<voice_stop_atom>::with<command_reply>,
  caf::replies_to<voice_devices_atom>::with<audio_devices>,
  // (prompt id, yes): answer a prompt event; unknown or expired ids are ignored
  caf::reacts_to<answer_atom, std::uint64_t, bool>,
  // (sink): deliver every event to `sink` as (event_atom, event) until it terminates; may be a remote actor
  caf::reacts_to<subscribe_atom, caf::actor>,
  // disconnect every peer (DISCONNECT), then the node terminates (within about 2 s)
  caf::reacts_to<shutdown_atom>>;

// What the node does with a request (a connection, a call, a file) from a user who is not whitelisted.
enum class policy_action : std::uint8_t {
  accept,
  refuse,  // silently
  prompt,  // a prompt event; no answer within 10 s means no
};

struct policy {
  std::vector<std::string> whitelist;             // always accepted (exact names)
  policy_action default_action = policy_action::prompt;
};

// How to start a node. The defaults are those of the original program (PROTOCOL §12), except the files:
// an embedded node touches no file unless told to.
struct node_config {
  std::string username;                           // required: at most 255 bytes of UTF-8, no control characters
  std::uint16_t port = 23232;                     // UDP port; 0 = any free port (see node::port)
  bool ipv6 = true;                               // dual-stack socket where the OS allows it
  policy connection;                              // incoming CONNECTs
  bool encrypt_by_default = true;                 // start encryption with every new peer
  bool require_encryption = true;                 // never send text, files or voice in plaintext; close what cannot be encrypted
  policy audio;                                   // incoming calls
  int threshold = 40;                             // voice activation threshold (0..32767)
  std::string audio_input;                        // "" = default device; "wav:<path>", "tone:<hz>", "silence"
  std::string audio_output;                       // "" = default device; "wav:<path>", "null"
  policy file;                                    // incoming files
  std::uint64_t max_file_size = 4ull << 30;       // larger offers are refused
  int keep_partial_days = 7;                      // an interrupted transfer's partial file is kept to resume
  std::filesystem::path download_dir;             // where received files go; "" = the current directory
  // Identity: private_key names a PKCS#8 PEM file (loaded, or generated and written if missing; the original's
  // ~/.config/Mokaccino/private.pem works). Without a path, private_key_pem is used; if both are empty a new
  // identity is generated in memory.
  std::filesystem::path private_key;
  std::string private_key_pem;
  // Pinned keys: known_users names the TOML store (the original's known_users.toml works); "" = in memory only.
  // A store that does not parse is left untouched and the node runs with pins in memory (node::warnings says so).
  std::filesystem::path known_users;
  bool debug = false;                             // also publish debug events
  int complexity = 1;                             // Opus effort (0..10) of calls between mokaccino nodes: 1 encodes a
                                                  // 20 ms frame in ~120 us, 5 in ~200-280 us (the CLI's
                                                  // network.audio.complexity)
};

// A running node.
struct node {
  node_actor handle;
  std::uint16_t port = 0;              // the bound UDP port
  std::string public_key;              // base64 SubjectPublicKeyInfo, as peers pin it
  std::string fingerprint;             // of public_key, as `user info` shows it
  bool created_key = false;            // private_key did not exist and was written
  std::vector<std::string> warnings;   // problems that did not stop the node (unreadable pin store, ...)
};

// Loads or creates the identity and the pins, binds the UDP port and starts the node. Errors
// (caf::sec::invalid_argument for the configuration and key files, caf::sec::cannot_open_port for the port)
// carry a readable message: sys.render(err).
caf::expected<node> spawn_node(caf::actor_system& sys, const node_config& cfg);

// -- starting in two steps ---------------------------------------------------------------------------------------
//
// spawn_node(sys, cfg) is load_node_files(cfg) then spawn_node(sys, cfg, files). An application that reports on the
// node's files before it binds the port calls the two itself: the `mokaccino` executable says "Generated a new
// identity key" and warns about an unreadable pin store even when the port then turns out to be taken.

namespace detail {
struct loaded_files;  // the identity (private key included) and the pins; defined in the library
}

// The identity and the pins a node starts from, as load_node_files found them. The private key stays inside.
struct node_files {
  std::string public_key;              // base64 SubjectPublicKeyInfo, as peers pin it
  std::string fingerprint;             // of public_key
  bool created_key = false;            // cfg.private_key did not exist and was written
  std::vector<std::string> warnings;   // problems that will not stop the node (unreadable pin store, ...)
  std::shared_ptr<const detail::loaded_files> loaded;  // for spawn_node; empty in a default-constructed value
};

// Loads (or creates) the identity from cfg.private_key / cfg.private_key_pem and the pins from cfg.known_users, as
// node_config describes. Errors: caf::sec::invalid_argument, the message naming the file.
caf::expected<node_files> load_node_files(const node_config& cfg);

// Starts a node from `files`; cfg's private_key, private_key_pem and known_users are not read again.
// node::created_key and node::warnings repeat those of `files`. Errors: as spawn_node(sys, cfg).
caf::expected<node> spawn_node(caf::actor_system& sys, const node_config& cfg, const node_files& files);

// Registers every type above (and node_actor) with CAF, so they can cross caf::io. Call it on the config of
// every actor system that talks to a node remotely; it is harmless in-process.
void add_message_types(caf::actor_system_config& cfg);

// The scheduler settings a node runs best with: CAF's work-sharing policy (one queue that wakes an idle worker
// at once) and at least two workers. Under the default work-stealing policy an actor made ready by the UDP
// thread waits in a busy worker's queue while the other worker sleeps up to its 10 ms relaxed poll; a file
// transfer then ran at about 70% of the rate it reaches with work sharing (see README, benchmarks).
// Optional: a node works under any policy.
void configure_scheduler(caf::actor_system_config& cfg);

// -- remote control over CAF's middleman (the system must have loaded caf::io::middleman) ----------------------
//
// CAF 0.17 has no authentication of its own, so the node itself is never published: publish_node publishes a
// gate that answers (auth_atom, token) with a fresh per-client proxy of the node, and only for the right token
// (compared in constant time; after a wrong one the gate refuses every attempt for a second). The proxy serves
// only the client process that proved the token, ends when that client is gone, and relays events itself, so
// the node never sends to a remote actor (which would make it addressable over the connection). See
// docs/security.md, "Remote control".

// The published gate.
using remote_gate = caf::typed_actor<caf::replies_to<auth_atom, std::string>::with<node_actor>>;

// A fresh secret for publish_node: 32 random bytes, hex-encoded (64 characters).
std::string make_remote_token();

// Writes a fresh token to `file` (created 0600, replaced atomically, never through a symlink) and returns it.
caf::expected<std::string> write_token_file(const std::filesystem::path& file);

// Reads a token written by write_token_file. Refuses a file that is not a regular file owned by this user or
// that others may read or write (the token would not be a secret).
caf::expected<std::string> read_token_file(const std::filesystem::path& file);

// Publishes a gate for `node` on 127.0.0.1:`port` (0 = any free port); returns the TCP port. Without a token of
// at least 32 characters nothing is published (caf::sec::invalid_argument).
caf::expected<std::uint16_t> publish_node(caf::actor_system& sys, const node_actor& node, std::uint16_t port,
                                          const std::string& token);

// Connects to a node published with publish_node and proves `token`; returns the node's proxy. A wrong token
// gives an error whose text says "authentication failed". Subscribe a local actor to receive its events.
caf::expected<node_actor> attach_node(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                                      const std::string& token);

}  // namespace mokaccino
