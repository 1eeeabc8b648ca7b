// Peer session, the handshake (§5), pinning (§3) and MKCAPS (peer_session_state.hpp).
#include "actors/peer_session_state.hpp"
#include "core/config/policy_decision.hpp"

namespace mk::peer_session_detail {

using namespace std::chrono_literals;

void session_state::start_initiator() {
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
void session_state::on_cookie(const w::cookie_msg& m, bool sealed) {
  if (sealed || ph != phase::connecting || last_connect_line.empty() || cookie_echoes >= limits::max_cookie_echoes)
    return drop("MKCOOKIE out of place");
  ++cookie_echoes;
  send_raw(w::serialize(m));
  send_raw(last_connect_line);
}

void session_state::on_handshake(const w::handshake_msg& m, std::string_view raw) {
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

void session_state::send_connected() {
  w::connected_msg c{their_nonce, {}};
  c.signature = ctx->identity.sign(w::signed_text(c), rng);
  send_raw(w::serialize(c));
}

void session_state::on_connect(const w::connect_msg& m, std::string_view raw) {
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
    if (!restart_nonce.empty())
      count_unproven_restart();  // the previous challenge was never answered
    restart_nonce = crypto::make_nonce(rng);
    restart_asked = self->clock().now();
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

void session_state::decide(const crypto::public_key& key, bool known) {
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
  auto decision = we_asked ? config::action::accept : config::decide(policy, user);
  if (decision == config::action::accept)
    return proceed();
  if (decision == config::action::refuse)
    return close("connection refused", "Refused connection from \"" + user + "\" (" + opts.peer.to_string() + ")",
                 false);
  auto question = "User \"" + user + "\" (" + opts.peer.to_string() + ") requested to connect, accept? (y/n)";
  self->request(ctx->node, limits::handshake_timeout, prompt_atom::value, prompt_kind::connect, user, question)
    .then(
      [this, proceed](bool yes) {
        if (yes)
          proceed();
        else
          close("connection refused", "Refused connection from \"" + user + "\"", false);
      },
      [this](caf::error&) { close("connection refused", "No answer: refused \"" + user + "\"", false); });
}

void session_state::send_handshake(const crypto::public_key& key) {
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

void session_state::on_connected(const w::connected_msg& m, std::string_view raw) {
  if (ph == phase::established && !restart_nonce.empty() && m.nonce == restart_nonce) {
    if (!verify_signed(*peer_key, raw))
      return drop("CONNECTED with a wrong signature");
    // The peer really restarted: a new session with it on the same address, as responder this time.
    our_nonce = std::exchange(restart_nonce, {});
    their_nonce = std::exchange(restart_their_nonce, {});
    initiator_nonce.clear();
    we_initiated = false;
    held.clear();
    // What the peer's old run was doing ended with it: its transfers fail now (one it was receiving resumes when
    // offered again) instead of stalling until their timeouts.
    for (auto* service : {&ctx->transfers, &ctx->audio})
      if (*service)
        self->send(*service, peer_gone_atom::value, user);
    caps_answer_due = true;  // the restarted peer's first MKCAPS gets ours again (it may have missed the first)
    if (mokaccino_peer && ctx->transfers)
      self->send(ctx->transfers, peer_ready_atom::value, user,
                 std::find(peer_features.begin(), peer_features.end(), resume_feature) != peer_features.end());
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

// A blacklisted name or a key other than the pinned one is refused; otherwise `next(known)` runs, where `known`
// says whether a pin exists (an unknown key is pinned by pin_then, once the connection is accepted).
template <class Continue>
void session_state::check_pin(const crypto::public_key& presented, Continue next) {
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
void session_state::pin_then(const crypto::public_key& presented, bool known, Continue next) {
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

void session_state::register_established() {
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
        if ((mokaccino_peer && peer_envelope) || pinned_envelope)
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
crypto::channel_transcript session_state::transcript() const {
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
void session_state::send_caps() {
  send_line(w::serialize(w::caps_msg{
    caps_version, {"sack", "voice20", std::string{envelope_feature}, std::string{lazy_hash_feature},
                   std::string{pmtu_feature}, std::string{resume_feature}, std::string{folder_feature}}}));
}

void session_state::on_caps(const w::caps_msg& m) {
  bool first = !mokaccino_peer;
  mokaccino_peer = true;
  peer_features = m.features;
  if (std::find(m.features.begin(), m.features.end(), envelope_feature) != m.features.end()) {
    peer_envelope = true;
    crypt->peer_speaks_envelope();
  }
  if (!pmtu && std::find(m.features.begin(), m.features.end(), pmtu_feature) != m.features.end())
    pmtu.emplace(self->clock().now(), static_cast<std::uint32_t>(rng.next_byte()) << 24 |
                                          static_cast<std::uint32_t>(rng.next_byte()) << 16 |
                                          static_cast<std::uint32_t>(rng.next_byte()) << 8 | rng.next_byte());
  if (first || std::exchange(caps_answer_due, false)) {
    self->send(ctx->node, mokaccino_peer_atom::value, user);
    if (ctx->transfers)
      self->send(ctx->transfers, peer_ready_atom::value, user,
                 std::find(m.features.begin(), m.features.end(), resume_feature) != m.features.end());
    // Ours went out once, right after the handshake, and may have been lost or dropped by a peer not yet
    // established: answer the first one with ours again so both ends agree on the extended formats.
    send_caps();
  }
}

}  // namespace mk::peer_session_detail
