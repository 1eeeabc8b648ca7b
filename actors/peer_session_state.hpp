#pragma once
// The state of one peer session (actors/peer_session.hpp), shared by the files that implement it:
//   peer_session_output.cpp     sending: holding, sealing, batching, the path MTU probes and chunk pieces
//   peer_session_handshake.cpp  runs core/session/handshake (§5): pinning, prompts, registering; MKCAPS
//   peer_session_dispatch.cpp   receiving: open the datagram, then dispatch each message once
//   peer_session.cpp            the timer, `info`, and the actor's message handlers

#include "actors/peer_session.hpp"
#include <algorithm>
#include <optional>
#include <botan/auto_rng.h>
#include <caf/all.hpp>
#include "actors/call_media.hpp"
#include "actors/messages.hpp"
#include "actors/session_table.hpp"
#include "actors/udp_socket.hpp"
#include "actors/verify_budget.hpp"
#include "core/crypto/public_key.hpp"
#include "core/crypto/random.hpp"
#include "core/crypto/secure_channel.hpp"
#include "core/limits.hpp"
#include "core/session/crypt_negotiation.hpp"
#include "core/session/display_text.hpp"
#include "core/session/handshake.hpp"
#include "core/session/keepalive.hpp"
#include "core/session/path_mtu.hpp"
#include "core/session/signature.hpp"
#include "core/wire/datagram.hpp"
#include "core/wire/messages.hpp"
#include "core/wire/record.hpp"
#include "core/wire/signed_line.hpp"
#include "core/wire/tokens.hpp"

namespace mk::peer_session_detail {

namespace w = mk::wire;
using session::verify_signed;

constexpr auto tick_period = limits::keepalive_tick;  // one 500 ms tick drives every timer of a session
constexpr int ticks_per_resend = static_cast<int>(limits::crypt_resend / tick_period);

// The delay to the next multiple of tick_period on the clock: every session of the process ticks at the same
// instants, so a thousand idle sessions wake the scheduler twice a second in two bursts instead of two thousand
// times at scattered instants (issue 12: keep-alive CPU per 1000 idle peers).
inline caf::actor_clock::duration_type until_next_tick(caf::actor_clock::time_point now) {
  auto period = std::chrono::duration_cast<caf::actor_clock::duration_type>(tick_period);
  auto since = now.time_since_epoch();
  return period - since % period;
}
constexpr std::uint32_t caps_version = 1;
constexpr std::string_view envelope_feature = "env1";  // the sealed envelope (core/crypto/secure_channel.hpp)
constexpr std::string_view lazy_hash_feature = "lazyhash";  // FILEOFFER/FILEHASH: offer first, hash while sending
constexpr std::string_view resume_feature = "resume1";  // FILERESUME/FILEFROM: an interrupted transfer resumes
constexpr std::string_view folder_feature = "folder1";  // FOLDEROFFER/FOLDERACCEPT/FOLDERFILE: one offer per folder

// Whether an MKCAPS feature list names `feature`.
inline bool lists(const std::vector<std::string>& features, std::string_view feature) {
  return std::find(features.begin(), features.end(), feature) != features.end();
}
constexpr std::string_view pmtu_feature = "pmtu1";  // MKPROBE path MTU discovery; chunks sized to it, any piece taken
// What a file chunk costs beyond its data in the largest datagram that carries it (sealed 'F' record).
constexpr std::size_t file_datagram_overhead = crypto::secure_channel::overhead + w::file_record_header;

// The data bytes of a FILE line (0 for any other line), from its length alone: no parse, and no scan of the data,
// on the hot path. "FILE " + 64-character hash + " " + offset + " " + base64.
inline std::size_t file_line_data(std::string_view line) {
  constexpr std::size_t offset_at = 5 + 64 + 1;
  if (!line.starts_with("FILE ") || line.size() <= offset_at)
    return 0;
  auto space = line.find(' ', offset_at);
  if (space == std::string_view::npos)
    return 0;
  auto b64 = line.size() - (space + 1);
  std::size_t pad = line.ends_with("==") ? 2 : line.ends_with('=') ? 1 : 0;
  return b64 / 4 * 3 - std::min(pad, b64 / 4 * 3);
}

struct session_state {
  static inline const char* name = "mk.peer_session";

  caf::stateful_actor<session_state>* self = nullptr;
  std::shared_ptr<const node_context> ctx;
  session_options opts;
  Botan::AutoSeeded_RNG rng;

  // handshake (core/session/handshake.hpp): emplaced when the actor starts
  std::optional<session::handshake> hs;
  const std::string& user() const { return hs->user(); }  // the peer's username (claimed until established)

  std::size_t verify_tokens = limits::max_verify_burst;
  int tick_count = 0;

  // established
  std::optional<session::keepalive> alive;
  std::optional<session::crypt_negotiation> crypt;
  bool mokaccino_peer = false;  // its MKCAPS arrived: it speaks the extensions (peer_info::mokaccino)
  bool caps_answer_due = false;  // a restarted peer: answer its next MKCAPS with ours
  bool peer_envelope = false;  // its MKCAPS listed env1
  bool pinned_envelope = false;  // its pin says it spoke the envelope before: held to it (no downgrade by a dropped MKCAPS)
  std::vector<std::string> peer_features;  // its MKCAPS features (the transfer service asks: peer_caps_atom)
  std::optional<session::path_mtu> pmtu;   // its MKCAPS listed pmtu1: the datagram budget of the path, probed
  std::uint64_t sent = 0, received = 0, dropped = 0;
  std::vector<std::string> held;  // lines waiting for the CRYPT handshake to finish
  bool closing = false;           // close() ran: the actor quits after this message
  bool in_batch = false;          // routing a batch of lines: FILE* messages collect in to_transfers
  wire_batch to_transfers;
  std::string opened_buf;  // the plaintext of the sealed datagram being dispatched (reused)
  caf::actor_clock::time_point held_since{};
  caf::actor_clock::time_point unencrypted_since{};  // require_encryption: how long content has had to wait
  caf::actor_clock::time_point epoch_started{};      // envelope: when the current keys came in (rekey by time)
  static constexpr std::size_t max_held = 1024;  // per-peer queue bound

  // -- output ----------------------------------------------------------------------------------------------
  void send_raw(std::string line);
  void send_datagram(std::string bytes);
  static bool control_line(std::string_view line);
  bool must_hold(std::string_view line);
  void hold(std::string line);
  void send_line(std::string line);
  std::string plain_datagram(std::string line);
  void send_lines(std::vector<std::string>& lines);

  // -- path MTU (core/session/path_mtu.hpp) ------------------------------------------------------------------
  std::size_t chunk_budget() const;
  void fit_to_path(std::vector<std::string>& lines);
  std::string datagram_of(std::string line);
  void run_probes();
  void on_probe_ack(std::uint32_t id);
  void flush_held();

  // -- events and closing -------------------------------------------------------------------------------------
  void emit(event_kind kind, std::string text, std::vector<std::pair<std::string, std::string>> fields = {});
  void drop(const char* why);
  void count_unproven_restart();
  void close(std::string reason_to_peer, std::string event_text, bool as_error);

  // -- handshake (§5): run what the machine decided, feed the answers back in ----------------------------
  void apply_handshake(session::handshake::output out);
  void check_pin(session::handshake::candidate c);
  void ask_user(session::handshake::candidate c, std::string question);
  void pin_key(session::handshake::candidate c);
  void on_restarted();

  // -- established ------------------------------------------------------------------------------------------
  void register_established();
  crypto::channel_transcript transcript() const;
  std::uint32_t random_u32();
  void send_caps();
  void on_caps(const w::caps_msg& m);

  // -- receiving: the CRYPT exchange, then each message once (peer_session_dispatch.cpp) ------------------------
  void apply_crypt(session::crypt_negotiation::output out);
  void on_encryption_changed(bool on);
  void refuse_unauthenticated(const char* why);
  void on_established_message(w::message& m, std::string_view raw, bool sealed);
  bool on_control(const w::message& m, std::string_view raw, bool sealed);  // each family: false = not its message
  bool on_introduction(const w::message& m, std::string_view raw);
  bool to_service(w::message& m);
  void forward_service(const caf::actor& service, w::message& m);
  void on_lines(std::vector<std::string>& lines);
  template <class Intro>
  void forward_intro(Intro intro) {
    self->send(ctx->node, intro_atom::value, user(), std::move(intro));
  }

  void on_line(std::string_view bytes);
  bool count_refusal(session::crypt_negotiation::refusal why);
  void on_switched_on();
  static bool is_signed(const w::message& m);
  bool take_verify_token();

  // -- the 500 ms timer and `user info` (peer_session.cpp) ------------------------------------------------------
  void on_tick();
  peer_info info() const;
  command_reply send_text(const std::string& text);  // the front end's `msg`
  command_reply set_encryption(bool on);             // the front end's `encrypt start|stop`
};

}  // namespace mk::peer_session_detail
