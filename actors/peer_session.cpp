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
#include "core/session/keepalive.hpp"
#include "core/session/path_mtu.hpp"
#include "core/wire/datagram.hpp"
#include "core/wire/messages.hpp"
#include "core/wire/record.hpp"
#include "core/wire/signed_line.hpp"
#include "core/wire/tokens.hpp"

namespace mk {

namespace {

using namespace std::chrono_literals;
namespace w = mk::wire;

constexpr auto tick_period = limits::keepalive_tick;  // one 500 ms tick drives every timer of a session
constexpr int ticks_per_resend = static_cast<int>(limits::crypt_resend / tick_period);

// The delay to the next multiple of tick_period on the clock: every session of the process ticks at the same
// instants, so a thousand idle sessions wake the scheduler twice a second in two bursts instead of two thousand
// times at scattered instants (issue 12: keep-alive CPU per 1000 idle peers).
caf::actor_clock::duration_type until_next_tick(caf::actor_clock::time_point now) {
  auto period = std::chrono::duration_cast<caf::actor_clock::duration_type>(tick_period);
  auto since = now.time_since_epoch();
  return period - since % period;
}
constexpr std::uint32_t caps_version = 1;
constexpr std::string_view envelope_feature = "env1";  // the sealed envelope (core/crypto/secure_channel.hpp)
constexpr std::string_view lazy_hash_feature = "lazyhash";  // FILEOFFER/FILEHASH: offer first, hash while sending
constexpr std::string_view pmtu_feature = "pmtu1";  // MKPROBE path MTU discovery; chunks sized to it, any piece taken
// What a file chunk costs beyond its data in the largest datagram that carries it (sealed 'F' record).
constexpr std::size_t file_datagram_overhead = crypto::secure_channel::overhead + w::file_record_header;

// The data bytes of a FILE line (0 for any other line), from its length alone: no parse on the hot path.
std::size_t file_line_data(std::string_view line) {
  if (!line.starts_with("FILE "))
    return 0;
  auto b64 = line.size() - (line.rfind(' ') + 1);
  std::size_t pad = line.ends_with("==") ? 2 : line.ends_with('=') ? 1 : 0;
  return b64 / 4 * 3 - std::min(pad, b64 / 4 * 3);
}

enum class phase {
  connecting,          // initiator: CONNECT sent, waiting for HANDSHAKE
  deciding,            // responder: checking keys / asking the user
  awaiting_connected,  // responder: HANDSHAKE sent, waiting for CONNECTED
  established,
};

bool verify_signed(const crypto::public_key& key, std::string_view raw) {
  auto parts = w::split_signed(raw);
  return parts && key.verify(parts->text, parts->signature);
}

struct session_state {
  static inline const char* name = "mk.peer_session";

  caf::stateful_actor<session_state>* self = nullptr;
  std::shared_ptr<const node_context> ctx;
  session_options opts;
  Botan::AutoSeeded_RNG rng;
  phase ph = phase::connecting;
  caf::actor_clock::time_point started{};

  // handshake
  std::string our_nonce;        // nonceA as initiator, nonceB as responder
  std::string initiator_nonce;  // nonceA kept while switching roles (simultaneous connect)
  std::string their_nonce;
  std::string user;             // the peer's username (claimed until established)
  std::optional<crypto::public_key> peer_key;
  std::string last_handshake_line;  // resent on a repeated CONNECT / timer
  std::vector<std::string> seen_connects;  // nonces of the CONNECTs this peer sent (bounded)
  std::string last_connect_line;
  int handshake_sends = 0;
  int cookie_echoes = 0;        // MKCOOKIEs answered during this connect attempt (bounded)
  bool we_initiated = false;    // whose CONNECT made this session: the envelope's keys are bound to the roles
  bool completing = false;      // the handshake verified and is being registered: repeats of its last line wait
  std::string restart_nonce;    // our HANDSHAKE to an established peer's new CONNECT; only its CONNECTED restarts
  std::string restart_their_nonce;
  std::size_t verify_tokens = limits::max_verify_burst;
  int tick_count = 0;

  // established
  std::optional<session::keepalive> alive;
  std::optional<session::crypt_negotiation> crypt;
  bool peer_is_mokaccino = false;
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

  void send_raw(std::string line) {
    if (ctx->debug)
      emit(event_kind::debug, "sent: " + line.substr(0, 40));
    send_datagram(w::into_datagram(std::move(line)));
  }

  void send_datagram(std::string bytes) {
    ++sent;
    ctx->counters->datagrams_out.fetch_add(1, std::memory_order_relaxed);
    ctx->sender->send(opts.peer, std::move(bytes));
  }

  // The lines that may travel in plaintext even when encryption is required: they carry no user content and
  // either set encryption up or keep the connection alive until it is.
  static bool control_line(std::string_view line) {
    auto kw = w::keyword_of(line);
    return kw == w::ping_msg::keyword || kw == w::pong_msg::keyword || kw == w::caps_msg::keyword ||
           kw == w::probe_msg::keyword || kw == w::probe_ack_msg::keyword ||
           kw == w::crypt_start_msg::keyword || kw == w::crypt_accept_msg::keyword ||
           kw == w::crypt_ack_msg::keyword || kw == w::crypt_stop_msg::keyword || kw == w::disconnect_msg::keyword;
  }

  // While the CRYPT handshake runs, lines wait: sent in plaintext they would be refused by a peer that switched
  // on first. With require_encryption, content also waits (and encryption starts) whenever the session is not
  // encrypted: it is sent sealed or not at all.
  bool must_hold(std::string_view line) {
    // Control lines never wait: a keep-alive held behind a CRYPT exchange that never completes would time the
    // peer out before require_encryption could close the session with its reason.
    if (!crypt || control_line(line))
      return false;
    if (crypt->negotiating())
      return true;
    if (crypt->encrypting() || !ctx->config.require_encryption)
      return false;
    apply_crypt(crypt->start(rng));
    return true;
  }

  void hold(std::string line) {
    if (held.empty())
      held_since = self->clock().now();
    if (held.size() >= max_held) {
      held.erase(held.begin());
      ++dropped;
    }
    held.push_back(std::move(line));
  }

  // Every line except the few that are always plaintext (§11) is sealed while encrypting.
  void send_line(std::string line) {
    if (pmtu && file_line_data(line) > chunk_budget()) {
      std::vector<std::string> one{std::move(line)};
      return send_lines(one);  // split to fit the path
    }
    if (must_hold(line))
      return hold(std::move(line));
    if (crypt && crypt->encrypting())
      send_datagram(crypt->seal(line, rng));
    else if (peer_envelope && line.starts_with("FILE "))
      send_datagram(plain_datagram(std::move(line)));
    else
      send_raw(std::move(line));
  }

  // Unencrypted: a text line, except a FILE chunk to a mokaccino peer, which goes as a binary record (1082 bytes
  // instead of ~1.45 KB, so it needs no IP fragmentation on any IPv6 path).
  std::string plain_datagram(std::string line) {
    if (!peer_envelope || !line.starts_with("FILE "))
      return w::into_datagram(std::move(line));
    std::string record;
    w::record_of_line(line, record);
    record.insert(record.begin(), w::plain_record_marker);
    return record;
  }

  // Many lines at once (file chunks): sealed here, handed to the socket as one sendmmsg batch.
  void send_lines(std::vector<std::string>& lines) {
    if (pmtu)
      fit_to_path(lines);
    if (!lines.empty() && must_hold(lines.front())) {
      for (auto& l : lines)
        send_line(std::move(l));
      return;
    }
    bool seal = crypt && crypt->encrypting();
    std::vector<std::string> out;
    out.reserve(lines.size());
    for (auto& l : lines)
      out.push_back(seal ? crypt->seal(l, rng) : plain_datagram(std::move(l)));
    sent += out.size();
    ctx->counters->datagrams_out.fetch_add(out.size(), std::memory_order_relaxed);
    ctx->sender->send(opts.peer, out);
  }

  // -- path MTU (core/session/path_mtu.hpp) ------------------------------------------------------------------

  // The file data one datagram carries on this path: what a new transfer's chunks hold.
  std::size_t chunk_budget() const {
    if (!pmtu)
      return 1024;
    return std::min<std::size_t>(pmtu->budget() - file_datagram_overhead, limits::max_file_piece);
  }

  // Chunks sized for a larger budget than the path has now (it shrank under a transfer) go out in pieces.
  void fit_to_path(std::vector<std::string>& lines) {
    std::size_t max = chunk_budget();
    bool data = false, split = false;
    for (auto& l : lines) {
      auto n = file_line_data(l);
      data = data || n > 0;
      split = split || n > max;
    }
    if (data && pmtu->budget() > session::path_mtu::base_size)
      pmtu->note_traffic(self->clock().now());  // data above the base flows: keep confirming the budget
    if (!split)
      return;
    std::vector<std::string> out;
    out.reserve(lines.size() * 2);
    for (auto& l : lines)
      for (auto& piece : w::split_file_line(std::move(l), max))
        out.push_back(std::move(piece));
    lines = std::move(out);
  }

  // The datagram that carries `line` now, as send_line would send it (for a probe of an exact size).
  std::string datagram_of(std::string line) {
    if (crypt && crypt->encrypting())
      return crypt->seal(line, rng);
    return w::into_datagram(std::move(line));
  }

  void run_probes() {
    if (!pmtu || (crypt && crypt->negotiating()))
      return;
    auto now = self->clock().now();
    auto p = pmtu->due(now);
    if (!p)
      return;
    // Padded to the exact size under test: envelope and plain text grow one byte per byte of padding.
    auto d = datagram_of(w::serialize(w::probe_msg{p->id, 1}));
    if (d.size() < p->size)
      d = datagram_of(w::serialize(w::probe_msg{p->id, 1 + p->size - d.size()}));
    ++sent;
    ctx->counters->datagrams_out.fetch_add(1, std::memory_order_relaxed);
    if (!ctx->sender->send_probe(opts.peer, d))
      pmtu->on_refused(p->id, now);
  }

  void on_probe_ack(std::uint32_t id) {
    if (!pmtu)
      return;
    if (pmtu->on_ack(id, self->clock().now()) && ctx->debug)
      emit(event_kind::debug, "The path to " + user + " carries " + std::to_string(pmtu->budget()) + "-byte datagrams");
    run_probes();  // the search goes on at once
  }

  void flush_held() {
    if (crypt && crypt->negotiating())
      return;
    auto lines = std::move(held);
    held.clear();
    for (auto& l : lines)
      send_line(std::move(l));
  }

  void emit(event_kind kind, std::string text, std::vector<std::pair<std::string, std::string>> fields = {}) {
    self->send(ctx->node, event_atom::value,
               make_event(kind, user.empty() ? opts.peer.to_string() : user, std::move(text), std::move(fields)));
  }

  void drop(const char* why) {
    ++dropped;
    ctx->counters->rejected.fetch_add(1, std::memory_order_relaxed);
    if (ctx->debug)
      emit(event_kind::debug, std::string{"dropped: "} + why);
  }

  void close(std::string reason_to_peer, std::string event_text, bool as_error) {
    closing = true;
    if (!reason_to_peer.empty()) {
      // Cannot wait for a CRYPT handshake to finish: sealed while encrypting, plaintext otherwise (a key held
      // mid-negotiation may not be the one the peer ends with, so it could not read it).
      auto line = w::serialize(w::disconnect_msg{std::move(reason_to_peer)});
      send_datagram(crypt && crypt->encrypting() ? crypt->seal(line, rng) : w::into_datagram(std::move(line)));
    }
    if (!event_text.empty()) {
      if (ph == phase::established)
        emit(event_kind::disconnected, event_text);
      else
        emit(as_error ? event_kind::error : event_kind::info, event_text);
    }
    if (ph == phase::established)
      for (auto* service : {&ctx->transfers, &ctx->audio})
        if (*service)
          self->send(*service, peer_gone_atom::value, user);
    self->quit();
  }

  // -- handshake: initiator (§5 steps 1 and 3) -------------------------------------------------------------

  void start_initiator() {
    ph = phase::connecting;
    our_nonce = crypto::make_nonce(rng);
    initiator_nonce = our_nonce;
    w::connect_msg m{ctx->username, our_nonce, ctx->identity.public_key().base64(), {}};
    m.signature = ctx->identity.sign(w::signed_text(m), rng);
    last_connect_line = w::serialize(m);
    handshake_sends = 1;
    send_raw(last_connect_line);
  }

  // The node we connect to is under load and asks us to prove our address (core/crypto/connect_cookie.hpp): echo
  // its cookie, then our CONNECT again. Unauthenticated, so bounded: a forger can make us resend our CONNECT to
  // the node we are connecting to a few times, nothing more.
  void on_cookie(const w::cookie_msg& m, bool sealed) {
    if (sealed || ph != phase::connecting || last_connect_line.empty() || cookie_echoes >= limits::max_cookie_echoes)
      return drop("MKCOOKIE out of place");
    ++cookie_echoes;
    send_raw(w::serialize(m));
    send_raw(last_connect_line);
  }

  void on_handshake(const w::handshake_msg& m, std::string_view raw) {
    if (initiator_nonce.empty() || m.peer_nonce != initiator_nonce)
      return drop("HANDSHAKE for a nonce we did not send");
    if (ph == phase::established) {
      if (m.username == user && m.nonce == their_nonce)
        send_connected();  // our CONNECTED was lost: answer the repeat
      return;
    }
    if (completing)
      return;  // a repeated HANDSHAKE while its pin and registration are in flight
    // §14 FIX: verify the signature BEFORE pinning, and check the name we expected.
    auto key = crypto::public_key::from_base64(m.pubkey);
    if (!key)
      return drop("HANDSHAKE with an unusable key");
    if (!verify_signed(*key, raw))
      return drop("HANDSHAKE with a bad signature");
    if (!opts.expected_user.empty() && m.username != opts.expected_user) {
      return close("authentication error",
                   "Refused " + opts.peer.to_string() + ": it answered as \"" + m.username + "\", expected \"" +
                     opts.expected_user + "\"",
                   true);
    }
    user = m.username;
    their_nonce = m.nonce;
    we_initiated = true;
    completing = true;
    // We asked for this connection ourselves: accepting it is ours to do, so an unknown key is pinned now.
    check_pin(*key, [this, key = *key](bool known) {
      pin_then(key, known, [this, key] {
        peer_key = key;
        send_connected();
        register_established();
      });
    });
  }

  void send_connected() {
    w::connected_msg c{their_nonce, {}};
    c.signature = ctx->identity.sign(w::signed_text(c), rng);
    send_raw(w::serialize(c));
  }

  // -- handshake: responder (§5 steps 2 and 4) -------------------------------------------------------------

  void on_connect(const w::connect_msg& m, std::string_view raw) {
    // A CONNECT we have seen before is a retransmission (ours are repeated while pending): never a restart.
    if (std::find(seen_connects.begin(), seen_connects.end(), m.nonce) != seen_connects.end()) {
      if (ph == phase::awaiting_connected && m.nonce == their_nonce && m.username == user)
        send_raw(last_handshake_line);  // our HANDSHAKE may have been lost: answer again, no new prompt
      return;
    }
    if (seen_connects.size() >= 8)
      seen_connects.erase(seen_connects.begin());
    seen_connects.push_back(m.nonce);
    if (ph == phase::connecting && !initiator_nonce.empty()) {
      // Simultaneous connect: both sides sent CONNECT. The larger nonce stays initiator; the other answers.
      // (We keep our nonce so a HANDSHAKE to our own CONNECT still completes; the first to finish wins.)
      if (our_nonce > m.nonce)
        return;
    }
    if (ph == phase::deciding)
      return;  // already checking this peer
    if (!opts.expected_user.empty() && m.username != opts.expected_user)
      return drop("CONNECT from another user than the one we are connecting to");
    if (ph == phase::established) {
      // The peer may have restarted (same endpoint, same name, its pinned key) — or someone replays its CONNECT
      // of an earlier session. Answer, but change nothing: only a CONNECTED to this HANDSHAKE's fresh nonce, which
      // a replayer cannot sign, proves a restart (see on_connected).
      if (m.username != user || !peer_key || m.pubkey != peer_key->base64() || !verify_signed(*peer_key, raw))
        return drop("CONNECT from an established peer");
      restart_nonce = crypto::make_nonce(rng);
      restart_their_nonce = m.nonce;
      w::handshake_msg h{ctx->username, restart_nonce, m.nonce, ctx->identity.public_key().base64(), {}};
      h.signature = ctx->identity.sign(w::signed_text(h), rng);
      send_raw(w::serialize(h));
      return;
    }
    auto key = crypto::public_key::from_base64(m.pubkey);
    if (!key)
      return close("authentication error", "Refused " + opts.peer.to_string() + ": unusable key", true);
    if (!verify_signed(*key, raw))  // §14 FIX: before anything is pinned or asked
      return close("authentication error",
                   "Refused " + opts.peer.to_string() + " claiming \"" + m.username + "\": bad signature", true);
    user = m.username;
    their_nonce = m.nonce;
    ph = phase::deciding;
    check_pin(*key, [this, key = *key](bool known) { decide(key, known); });
  }

  void decide(const crypto::public_key& key, bool known) {
    const auto& policy = ctx->config.connection;
    // Pinned only once accepted (policy, whitelist or the user's "y"): a refused or unanswered stranger leaves
    // no trace in known_users.toml, so nobody can squat a name by being refused.
    auto proceed = [this, key, known] {
      pin_then(key, known, [this, key] {
        peer_key = key;
        send_handshake(key);
      });
    };
    // We asked for this peer ourselves (simultaneous connect, or an introduction we requested): no question.
    bool we_asked = opts.preapproved || !initiator_nonce.empty();
    if (we_asked || policy.allows(user) || policy.default_action == config::action::accept)
      return proceed();
    if (policy.default_action == config::action::refuse)
      return close("connection refused", "Refused connection from \"" + user + "\" (" + opts.peer.to_string() + ")",
                   false);
    auto question = "User \"" + user + "\" (" + opts.peer.to_string() + ") requested to connect, accept? (y/n)";
    self->request(ctx->node, limits::handshake_timeout, prompt_atom::value, std::string{"connect"}, user, question)
      .then(
        [this, proceed](bool yes) {
          if (yes)
            proceed();
          else
            close("connection refused", "Refused connection from \"" + user + "\"", false);
        },
        [this](caf::error&) { close("connection refused", "No answer: refused \"" + user + "\"", false); });
  }

  void send_handshake(const crypto::public_key& key) {
    our_nonce = crypto::make_nonce(rng);
    (void)key;
    w::handshake_msg h{ctx->username, our_nonce, their_nonce, ctx->identity.public_key().base64(), {}};
    h.signature = ctx->identity.sign(w::signed_text(h), rng);
    last_handshake_line = w::serialize(h);
    handshake_sends = 1;
    ph = phase::awaiting_connected;
    started = self->clock().now();
    send_raw(last_handshake_line);
  }

  void on_connected(const w::connected_msg& m, std::string_view raw) {
    if (ph == phase::established && !restart_nonce.empty() && m.nonce == restart_nonce) {
      if (!verify_signed(*peer_key, raw))
        return drop("CONNECTED with a wrong signature");
      // The peer really restarted: a new session with it on the same address, as responder this time.
      our_nonce = std::exchange(restart_nonce, {});
      their_nonce = std::exchange(restart_their_nonce, {});
      initiator_nonce.clear();
      we_initiated = false;
      held.clear();
      return register_established();
    }
    if (ph != phase::awaiting_connected)
      return drop("CONNECTED without our HANDSHAKE");
    if (completing)
      return;  // a repeated CONNECTED (it answers our repeated HANDSHAKE) while the first one registers
    if (m.nonce != our_nonce || !verify_signed(*peer_key, raw))
      return drop("CONNECTED with a wrong nonce or signature");  // §5: dropped silently
    completing = true;
    register_established();
  }

  // -- pinning (TOFU by username, §3), with the §14 fixes ---------------------------------------------------

  // A blacklisted name or a key other than the pinned one is refused; otherwise `next(known)` runs, where `known`
  // says whether a pin exists (an unknown key is pinned by pin_then, once the connection is accepted).
  template <class Continue>
  void check_pin(const crypto::public_key& presented, Continue next) {
    self->request(ctx->known_users, 5s, key_info_atom::value, user)
      .await(
        [this, presented, next](bool known, const std::string& pinned, bool envelope) {
          pinned_envelope = known && envelope && pinned == presented.base64();
          if (known && pinned.empty())
            return close("authentication error", "Refused \"" + user + "\": the user is blacklisted", true);
          if (known && pinned != presented.base64()) {
            auto old = crypto::public_key::from_base64(pinned);
            emit(event_kind::key_changed,
                 "WARNING: \"" + user + "\" at " + opts.peer.to_string() +
                   " presented a DIFFERENT key than the one pinned. Refused. If the change is expected, run "
                   "`key delete " + user + "` and connect again.",
                 {{"pinned", old ? old->fingerprint() : std::string{"(unreadable)"}},
                  {"presented", presented.fingerprint()}});
            return close("authentication error", {}, true);
          }
          next(known);
        },
        [this](caf::error&) { close({}, "Known-users store unavailable", true); });
  }

  // Trust on first use (§3), after the signature verified and the connection was accepted.
  template <class Continue>
  void pin_then(const crypto::public_key& presented, bool known, Continue next) {
    if (known)
      return next();
    self->request(ctx->known_users, 5s, key_pin_atom::value, user, presented.base64())
      .await(
        [this, presented, next](const std::string& now_pinned) {
          if (now_pinned != presented.base64())
            return close("authentication error", "Refused \"" + user + "\": key pinned concurrently", true);
          emit(event_kind::info, "Pinned the key of \"" + user + "\" (" + presented.fingerprint() + ")");
          next();
        },
        [this](caf::error&) { close({}, "Known-users store unavailable", true); });
  }

  // -- established ------------------------------------------------------------------------------------------

  void register_established() {
    self->request(ctx->node, 5s, established_atom::value, user, opts.peer, peer_key->base64())
      .await(
        [this](bool ok) {
          if (!ok)
            return close("connection refused", "\"" + user + "\" is already connected from another address", true);
          ph = phase::established;
          completing = false;
          alive.emplace(rng.next_byte() | (std::uint64_t{rng.next_byte()} << 8) | (std::uint64_t{rng.next_byte()} << 16),
                        self->clock().now());
          crypt.emplace(ctx->identity, *peer_key);
          crypt->bind_transcript(we_initiated, transcript());
          if ((peer_is_mokaccino && peer_envelope) || pinned_envelope)
            crypt->peer_speaks_envelope();
          unencrypted_since = self->clock().now();
          emit(event_kind::connected, "Connected to \"" + user + "\" at " + opts.peer.to_string(),
               {{"address", opts.peer.to_string()}, {"fingerprint", peer_key->fingerprint()}});
          send_caps();
          if (ctx->config.encrypt_by_default || ctx->config.require_encryption)
            apply_crypt(crypt->start(rng));
        },
        [this](caf::error&) { close({}, "Node unavailable", true); });
  }

  // What the envelope's keys are bound to: both names, both identity keys, both handshake nonces, by role.
  crypto::channel_transcript transcript() const {
    crypto::channel_transcript t;
    auto mine = ctx->identity.public_key().base64();
    if (we_initiated) {
      t = {ctx->username, user, mine, peer_key->base64(), initiator_nonce, their_nonce};
    } else {
      t = {user, ctx->username, peer_key->base64(), mine, their_nonce, our_nonce};
    }
    return t;
  }

  // MKCAPS: what we speak beyond the original (selective ACKs, 20 ms voice frames, the sealed envelope); an
  // original ignores it.
  void send_caps() {
    send_line(w::serialize(w::caps_msg{
      caps_version, {"sack", "voice20", std::string{envelope_feature}, std::string{lazy_hash_feature},
                     std::string{pmtu_feature}}}));
  }

  void on_caps(const w::caps_msg& m) {
    bool first = !peer_is_mokaccino;
    peer_is_mokaccino = true;
    peer_features = m.features;
    if (std::find(m.features.begin(), m.features.end(), envelope_feature) != m.features.end()) {
      peer_envelope = true;
      crypt->peer_speaks_envelope();
    }
    if (!pmtu && std::find(m.features.begin(), m.features.end(), pmtu_feature) != m.features.end())
      pmtu.emplace(self->clock().now(), static_cast<std::uint32_t>(rng.next_byte()) << 24 |
                                            static_cast<std::uint32_t>(rng.next_byte()) << 16 |
                                            static_cast<std::uint32_t>(rng.next_byte()) << 8 | rng.next_byte());
    if (first) {
      forward_intro("CAPS", user, {}, {});
      // Ours went out once, right after the handshake, and may have been lost or dropped by a peer not yet
      // established: answer the first one with ours again so both ends agree on the extended formats.
      send_caps();
    }
  }

  void apply_crypt(session::crypt_negotiation::output out) {
    for (auto& d : out.datagrams)
      send_datagram(std::move(d));
    for (auto& line : out.plaintext_lines)
      send_raw(std::move(line));
    for (auto& line : out.sealed_lines)
      send_line(std::move(line));
    if (out.refused) {
      ++dropped;
      ctx->counters->unauthenticated.fetch_add(1, std::memory_order_relaxed);
      if (ctx->debug)
        emit(event_kind::debug, "Encryption with \"" + user + "\": " + out.problem);
    } else if (!out.problem.empty()) {
      emit(event_kind::error, "Encryption with \"" + user + "\": " + out.problem);
    }
    if (out.encryption_changed)
      on_encryption_changed(*out.encryption_changed);
    flush_held();
  }

  void on_encryption_changed(bool on) {
    auto now = self->clock().now();
    emit(event_kind::encryption,
         on ? "Connection with " + user + " is now encrypted" : "Connection with " + user + " is no longer encrypted",
         {{"state", on ? "on" : "off"}});
    if (on) {
      epoch_started = now;
      // MKCAPS went out in plaintext, where an on-path attacker could drop it to keep us off the envelope; say it
      // again sealed, where it cannot be told from other traffic.
      if (!peer_envelope)
        send_caps();
    } else {
      unencrypted_since = now;
    }
  }

  void refuse_unauthenticated(const char* why) {
    ctx->counters->unauthenticated.fetch_add(1, std::memory_order_relaxed);
    drop(why);
  }

  void on_established_message(w::message& m, std::string_view raw, bool sealed) {
    // §14 FIX: once encrypted, only the CRYPT lines may come in plaintext (the state machine decides which of them
    // count); a peer that seals in envelopes sends nothing in plaintext at all. The original seals DISCONNECT too,
    // so a plaintext one can only be forged.
    if (!sealed && crypt->envelope_active())
      return refuse_unauthenticated("plaintext from a peer that seals everything");
    if (crypt->encrypting() && !sealed &&
        !(std::holds_alternative<w::crypt_start_msg>(m) || std::holds_alternative<w::crypt_accept_msg>(m) ||
          std::holds_alternative<w::crypt_ack_msg>(m) || std::holds_alternative<w::crypt_stop_msg>(m)))
      return refuse_unauthenticated("plaintext from an encrypted peer");
    std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, w::ping_msg>) {
          send_line(w::serialize(w::pong_msg{msg.id}));
        } else if constexpr (std::is_same_v<T, w::pong_msg>) {
          alive->on_pong(msg.id, self->clock().now());
        } else if constexpr (std::is_same_v<T, w::text_msg>) {
          emit(event_kind::message, session::display_text(msg.text));
        } else if constexpr (std::is_same_v<T, w::disconnect_msg>) {
          close({}, "\"" + user + "\" disconnected" + (msg.reason.empty() ? "" : ", reason: " + session::display_text(msg.reason)),
                false);
        } else if constexpr (std::is_same_v<T, w::crypt_start_msg>) {
          apply_crypt(crypt->on_crypt_start(msg, raw, sealed, rng));
        } else if constexpr (std::is_same_v<T, w::crypt_accept_msg>) {
          apply_crypt(crypt->on_crypt_accept(msg, raw, sealed));
        } else if constexpr (std::is_same_v<T, w::crypt_ack_msg>) {
          apply_crypt(crypt->on_crypt_ack(sealed));
        } else if constexpr (std::is_same_v<T, w::crypt_stop_msg>) {
          bool was = crypt->encrypting();
          apply_crypt(crypt->on_crypt_stop(sealed));
          // An original stops with a plaintext CRYPTSTOP; when our content must not travel in plaintext, start
          // again at once (what waits meanwhile is held, bounded).
          if (was && !crypt->encrypting() && ctx->config.require_encryption)
            apply_crypt(crypt->start(rng));
        } else if constexpr (std::is_same_v<T, w::caps_msg>) {
          on_caps(msg);
        } else if constexpr (std::is_same_v<T, w::probe_msg>) {
          send_line(w::serialize(w::probe_ack_msg{msg.id}));
        } else if constexpr (std::is_same_v<T, w::probe_ack_msg>) {
          on_probe_ack(msg.id);
        } else if constexpr (std::is_same_v<T, w::request_msg>) {
          forward_intro("REQUEST", msg.username, {}, {});
        } else if constexpr (std::is_same_v<T, w::fail_msg>) {
          forward_intro("FAIL", msg.username, {}, {});
        } else if constexpr (std::is_same_v<T, w::key_msg>) {
          if (!verify_signed(*peer_key, raw))  // KEY is signed by the middle peer (§7)
            return forward_intro("KEYBAD", msg.username, {}, msg.pubkey);
          forward_intro("KEY", msg.username, {}, msg.pubkey);
        } else if constexpr (std::is_same_v<T, w::requested_msg>) {
          if (!verify_signed(*peer_key, raw))
            return drop("REQUESTED with a bad signature");
          forward_intro("REQUESTED", msg.username, msg.endpoint, msg.pubkey);
        } else if constexpr (std::is_same_v<T, w::file_init_msg> || std::is_same_v<T, w::file_ack_msg> ||
                             std::is_same_v<T, w::file_msg> || std::is_same_v<T, w::file_stop_msg> ||
                             std::is_same_v<T, w::file_sack_msg> || std::is_same_v<T, w::file_offer_msg> ||
                             std::is_same_v<T, w::file_hash_msg> || std::is_same_v<T, w::file_dup_msg>) {
          forward_service(ctx->transfers, m);
        } else if constexpr (std::is_same_v<T, w::audio_start_msg> || std::is_same_v<T, w::audio_accept_msg> ||
                             std::is_same_v<T, w::audio_stop_msg> || std::is_same_v<T, w::audio_msg> ||
                             std::is_same_v<T, w::voice_msg>) {
          // The partner's media goes straight to the call's media thread; the rest to the audio service.
          if (!ctx->calls || !ctx->calls->deliver(user, m))
            forward_service(ctx->audio, m);
        } else if constexpr (std::is_same_v<T, w::connect_msg> || std::is_same_v<T, w::handshake_msg> ||
                             std::is_same_v<T, w::connected_msg>) {
          // handled before dispatch
        } else {
          drop("message type not handled yet");
        }
      },
      m);
  }

  void forward_service(const caf::actor& service, w::message& m) {
    if (!service)
      return drop("no service for this message");
    if (in_batch && service == ctx->transfers) {
      to_transfers.push_back(std::move(m));
      return;
    }
    self->send(service, peer_msg_atom::value, user, caf::actor_cast<caf::actor>(self), peer_is_mokaccino,
               std::move(m));
  }

  // All lines of one socket wake-up: their FILE* messages reach the transfer service as one message.
  void on_lines(std::vector<std::string>& lines) {
    in_batch = true;
    for (auto& l : lines) {
      on_line(l);
      if (closing)
        break;  // a DISCONNECT in the batch closed the session
    }
    in_batch = false;
    if (to_transfers.empty() || closing)
      return;
    if (ctx->transfers)
      self->send(ctx->transfers, peer_msg_atom::value, user, caf::actor_cast<caf::actor>(self), peer_is_mokaccino,
                 std::move(to_transfers));
    to_transfers = {};
  }

  void forward_intro(std::string kind, std::string target, std::string endpoint_text, std::string pubkey) {
    self->send(ctx->node, intro_atom::value, std::move(kind), user, std::move(target), std::move(endpoint_text),
               std::move(pubkey));
  }

  // -- input ------------------------------------------------------------------------------------------------

  // One datagram of this peer (a text line without its LF, or a whole envelope): open it if sealed, then
  // dispatch the message once.
  void on_line(std::string_view bytes) {
    if (ctx->debug && !crypto::secure_channel::is_envelope(bytes))
      emit(event_kind::debug, std::string{"received: "} + std::string{bytes.substr(0, 40)});
    ++received;
    bool sealed = false;
    std::string_view raw = bytes;  // the line a signature covers
    mk::result<w::message> parsed = mk::make_error(errc::malformed, "");
    if (crypto::secure_channel::is_envelope(bytes)) {
      if (!crypt)
        return drop("envelope before the handshake completed");
      auto o = crypt->open_envelope(bytes, opened_buf);
      if (!count_refusal(o.why))
        return;
      sealed = true;
      if (o.switched_on)
        on_switched_on();
      if (!pinned_envelope) {  // it proved it speaks the envelope: hold it to that from now on (known_users.toml)
        pinned_envelope = true;
        self->send(ctx->known_users, key_envelope_atom::value, user, peer_key->base64());
      }
      parsed = w::parse_record(opened_buf);
      if (!opened_buf.empty() && opened_buf[0] == w::record_line)
        raw = std::string_view{opened_buf}.substr(1);
    } else if (w::is_plain_record(bytes)) {
      if (!peer_envelope)
        return drop("binary record from a peer that did not announce env1");
      parsed = w::parse_record(bytes.substr(1));
      if (bytes[1] == w::record_line)
        raw = bytes.substr(2);
    } else {
      parsed = w::parse_line(bytes);
      if (parsed)
        if (auto* c = std::get_if<w::crypt_msg>(&*parsed)) {
          if (!crypt)
            return drop("C outside an encrypted session");
          auto o = crypt->open(*c, opened_buf);
          if (!count_refusal(o.why))
            return;
          sealed = true;
          if (o.switched_on)
            on_switched_on();
          raw = opened_buf;
          parsed = w::parse_line(raw);
        }
    }
    if (!parsed) {
      ++dropped;
      ctx->counters->malformed.fetch_add(1, std::memory_order_relaxed);
      if (ctx->debug)
        emit(event_kind::debug, "malformed line dropped: " + parsed.error().message);
      return;
    }
    auto& m = *parsed;
    if (std::holds_alternative<w::crypt_msg>(m))
      return drop("C inside a sealed line");
    if (is_signed(m) && !take_verify_token())
      return drop("signature check rate limit");  // a P-521 verify costs ~1.3 ms: bound what a flood can cost
    if (auto* c = std::get_if<w::connect_msg>(&m))
      return on_connect(*c, raw);
    if (auto* h = std::get_if<w::handshake_msg>(&m))
      return on_handshake(*h, raw);
    if (auto* c = std::get_if<w::connected_msg>(&m))
      return on_connected(*c, raw);
    if (auto* c = std::get_if<w::cookie_msg>(&m))
      return on_cookie(*c, sealed);
    if (ph != phase::established) {
      // §14 FIX: the original drops refusals; report them (a spoofed one only ends a half-open handshake).
      if (auto* d = std::get_if<w::disconnect_msg>(&m); d && ph != phase::deciding)
        return close({}, opts.peer.to_string() + " refused the connection" +
                           (d->reason.empty() ? "" : ": " + session::display_text(d->reason)), true);
      return drop("message before the handshake completed");
    }
    on_established_message(m, raw, sealed);
  }

  // Counts a sealed datagram that did not open; true if it opened.
  bool count_refusal(session::crypt_negotiation::refusal why) {
    using r = session::crypt_negotiation::refusal;
    switch (why) {
      case r::none: return true;
      case r::replayed:
      case r::reflected:
        ctx->counters->replayed.fetch_add(1, std::memory_order_relaxed);
        drop(why == r::replayed ? "sealed datagram replayed" : "our own sealed datagram reflected back");
        return false;
      case r::downgrade:
        refuse_unauthenticated("legacy C from a peer that seals in envelopes");
        return false;
      case r::no_key: drop("sealed datagram while no key is valid"); return false;
      case r::forged:
        ctx->counters->auth_failures.fetch_add(1, std::memory_order_relaxed);
        drop("sealed datagram that does not authenticate");
        return false;
    }
    return false;
  }

  // An authentic sealed datagram proved the peer's CRYPTACK that we missed.
  void on_switched_on() {
    on_encryption_changed(true);
    flush_held();
  }

  static bool is_signed(const w::message& m) {
    return std::holds_alternative<w::connect_msg>(m) || std::holds_alternative<w::handshake_msg>(m) ||
           std::holds_alternative<w::connected_msg>(m) || std::holds_alternative<w::key_msg>(m) ||
           std::holds_alternative<w::requested_msg>(m) || std::holds_alternative<w::crypt_start_msg>(m) ||
           std::holds_alternative<w::crypt_accept_msg>(m);
  }

  // Token bucket: limits::max_verifies_per_tick tokens per 500 ms tick, at most limits::max_verify_burst saved.
  // Both budgets: this peer's, and the node-wide one (a flood from many source ports cannot buy fresh bursts).
  bool take_verify_token() {
    if (verify_tokens == 0)
      return false;
    if (std::exchange(opts.first_verify_paid, false)) {  // the node paid for the CONNECT that made us
      --verify_tokens;
      return true;
    }
    if (ctx->verify_budget && !ctx->verify_budget->try_take())
      return false;
    --verify_tokens;
    return true;
  }

  void on_tick() {
    verify_tokens = std::min(verify_tokens + limits::max_verifies_per_tick, limits::max_verify_burst);
    ++tick_count;
    auto now = self->clock().now();
    if (ph != phase::established) {
      if (now - started > limits::handshake_timeout)
        return close({}, "Connection with " + opts.peer.to_string() + " timed out", true);
      // FIX §14: CONNECT (and our HANDSHAKE) are retransmitted while pending; the original sends them once.
      if (tick_count % ticks_per_resend == 0 && handshake_sends < limits::connect_attempts) {
        if (ph == phase::connecting && !last_connect_line.empty()) {
          ++handshake_sends;
          send_raw(last_connect_line);
        } else if (ph == phase::awaiting_connected) {
          ++handshake_sends;
          send_raw(last_handshake_line);
        }
      }
      return;
    }
    auto k = alive->on_tick(now);
    if (k.timed_out)
      return close("connection timed out", "User \"" + user + "\" went offline", true);
    if (k.ping)
      send_line(w::serialize(w::ping_msg{*k.ping}));
    run_probes();
    if (tick_count % ticks_per_resend == 0)
      apply_crypt(crypt->on_resend_tick());
    if (ctx->config.require_encryption && !crypt->encrypting() && now - unencrypted_since > limits::handshake_timeout)
      return close("encryption required",
                   "Closed the connection with \"" + user + "\": it could not be encrypted within " +
                     std::to_string(limits::handshake_timeout.count()) +
                     " s, and network.connection.require_encryption is on (no content was sent in plaintext)",
                   true);
    // Fresh keys by time or by volume (WireGuard's rule); the side that initiated the connection drives it, so
    // both ends never rekey at once.
    if (we_initiated && crypt->sealing_envelopes() && crypt->envelope_active() && !crypt->rekeying() &&
        (now - epoch_started > ctx->config.rekey_after || crypt->sealed_in_epoch() > limits::rekey_after_datagrams)) {
      epoch_started = now;
      apply_crypt(crypt->start_rekey(rng));
    }
    if (!held.empty() && now - held_since > limits::handshake_timeout) {
      // The peer never completes the CRYPT handshake: do not leak the held lines in plaintext.
      emit(event_kind::error, "Encryption with \"" + user + "\" did not complete: " + std::to_string(held.size()) +
                                " message(s) not sent (encrypt stop to talk in plaintext)");
      dropped += held.size();
      held.clear();
    }
  }

  peer_info info() const {
    peer_info i;
    i.user = user;
    i.address = opts.peer.to_string();
    i.connected = ph == phase::established;
    i.encrypted = crypt && crypt->encrypting();
    i.mokaccino = peer_is_mokaccino;
    if (alive && alive->average_rtt()) {
      i.rtt_ms = std::chrono::duration<double, std::milli>(*alive->average_rtt()).count();
      i.ping_ms = i.rtt_ms / 2;
    }
    i.sent = sent;
    i.received = received;
    i.dropped = dropped;
    if (peer_key)
      i.fingerprint = peer_key->fingerprint();
    return i;
  }
};

caf::behavior peer_session(caf::stateful_actor<session_state>* self, std::shared_ptr<const node_context> ctx,
                           session_options opts) {
  auto& st = self->state;
  st.self = self;
  st.ctx = std::move(ctx);
  st.opts = std::move(opts);
  st.started = self->clock().now();
  st.ph = st.opts.role == session_role::initiator ? phase::connecting : phase::deciding;
  if (st.opts.role == session_role::responder)
    st.ph = phase::connecting;  // until the first CONNECT arrives; initiator_nonce stays empty
  // A session never outlives its node (nor does it take the node down if it fails itself).
  if (st.ctx->node) {
    self->monitor(st.ctx->node);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  }
  self->delayed_send(self, until_next_tick(self->clock().now()), tick_atom::value);
  return {
    [self](start_atom) { self->state.start_initiator(); },
    [self](route_atom, const std::string& line) { self->state.on_line(line); },
    [self](datagram_atom, std::vector<std::string>& lines) {  // a wake-up's lines, counted by the session_table
      auto& st = self->state;
      st.ctx->routes->processed(st.opts.peer, lines.size());
      st.ctx->counters->datagrams_in.fetch_add(lines.size(), std::memory_order_relaxed);
      st.on_lines(lines);
    },
    [self](tick_atom) {
      self->state.on_tick();
      self->delayed_send(self, until_next_tick(self->clock().now()), tick_atom::value);
    },
    [self](send_atom, const std::string& line) {
      if (self->state.ph == phase::established)
        self->state.send_line(line);
    },
    [self](send_batch_atom, std::vector<std::string>& lines) {
      if (self->state.ph == phase::established)
        self->state.send_lines(lines);
    },
    [self](msg_atom, const std::string& text) -> command_reply {
      auto& st = self->state;
      if (st.ph != phase::established)
        return reply_error("User " + st.user + " is not connected");
      st.send_line(w::serialize(w::text_msg{text}));
      return reply_ok();
    },
    [self](encrypt_atom, bool on) -> command_reply {
      auto& st = self->state;
      if (st.ph != phase::established)
        return reply_error("User " + st.user + " is not connected");
      if (on) {
        if (st.crypt->encrypting())
          return reply_ok("Connection with " + st.user + " is already encrypted");
        st.apply_crypt(st.crypt->start(st.rng));
        return reply_ok("Encryption requested with " + st.user);
      }
      if (st.ctx->config.require_encryption)
        return reply_error("Encryption with " + st.user +
                           " stays on: network.connection.require_encryption is set (set it to false to allow "
                           "plaintext)");
      st.apply_crypt(st.crypt->stop());
      return reply_ok();
    },
    [self](info_atom) { return self->state.info(); },
    [self](peer_caps_atom) { return self->state.peer_features; },
    [self](path_budget_atom) { return static_cast<std::uint64_t>(self->state.chunk_budget()); },
    [self](path_suspect_atom) {
      auto& st = self->state;
      if (st.pmtu) {
        st.pmtu->suspect(st.self->clock().now());
        st.run_probes();
      }
    },
    [self](disconnect_atom, const std::string& reason) {
      auto& st = self->state;
      bool was = st.ph == phase::established;
      st.close(reason, was ? "Disconnected from " + st.user : std::string{}, false);
    },
  };
}

}  // namespace

caf::actor spawn_peer_session(caf::actor_system& sys, std::shared_ptr<const node_context> ctx, session_options opts) {
  return sys.spawn(peer_session, std::move(ctx), std::move(opts));
}

}  // namespace mk
