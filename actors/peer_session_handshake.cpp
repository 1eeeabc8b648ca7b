// Peer session: runs the handshake (§5, core/session/handshake.hpp), pinning (§3) and MKCAPS
// (peer_session_state.hpp).
#include "actors/peer_session_state.hpp"
#include "core/config/policy_decision.hpp"

namespace mk::peer_session_detail {

using namespace std::chrono_literals;

using step = session::handshake::step;
using candidate = session::handshake::candidate;

// The machine decides; this runs its decision: count, send, close, or take the one step that needs an answer
// from another actor (the known-users store, the user, the node) and feed that answer back in.
void session_state::apply_handshake(session::handshake::output out) {
  if (out.unproven_restart)
    count_unproven_restart();
  if (out.dropped)
    drop(out.dropped);
  for (auto& line : out.lines)
    send_raw(std::move(line));
  if (out.close)
    return close(std::move(out.close->reason_to_peer), std::move(out.close->text), out.close->as_error);
  switch (out.next) {
    case step::none: return;
    case step::check_pin: return check_pin(std::move(*out.cand));
    case step::ask_user: return ask_user(std::move(*out.cand), std::move(out.question));
    case step::pin_key: return pin_key(std::move(*out.cand));
    case step::register_peer: return register_established();
    case step::restarted: return on_restarted();
  }
}

// A blacklisted name or a key other than the pinned one is refused here; otherwise the machine goes on, told
// whether a pin exists (an unknown key is pinned once the connection is accepted: pin_key).
void session_state::check_pin(candidate c) {
  self->request(ctx->known_users, 5s, key_info_atom::value, user())
    .await(
      [this, c](bool known, const std::string& pinned, bool envelope) {
        pinned_envelope = known && envelope && pinned == c.key.base64();
        if (known && pinned.empty())
          return close("authentication error", "Refused \"" + user() + "\": the user is blacklisted", true);
        if (known && pinned != c.key.base64()) {
          auto old = crypto::public_key::from_base64(pinned);
          emit(event_kind::key_changed,
               "WARNING: \"" + user() + "\" at " + opts.peer.to_string() +
                 " presented a DIFFERENT key than the one pinned. Refused. If the change is expected, run "
                 "`key delete " + user() + "` and connect again.",
               {{"pinned", old ? old->fingerprint() : std::string{"(unreadable)"}},
                {"presented", c.key.fingerprint()}});
          return close("authentication error", {}, true);
        }
        auto checked = c;
        checked.known = known;
        auto policy = config::decide(ctx->config.connection, user());
        apply_handshake(hs->on_pin_checked(std::move(checked), policy, self->clock().now(), rng));
      },
      [this](caf::error&) { close({}, "Known-users store unavailable", true); });
}

void session_state::ask_user(candidate c, std::string question) {
  self->request(ctx->node, limits::handshake_timeout, prompt_atom::value, prompt_kind::connect, user(), question)
    .then([this, c](bool yes) { apply_handshake(hs->on_answer(c, yes, self->clock().now(), rng)); },
          [this, c](caf::error&) { apply_handshake(hs->on_answer(c, std::nullopt, self->clock().now(), rng)); });
}

// Trust on first use (§3), after the signature verified and the connection was accepted.
void session_state::pin_key(candidate c) {
  self->request(ctx->known_users, 5s, key_pin_atom::value, user(), c.key.base64())
    .await(
      [this, c](const std::string& now_pinned) {
        if (now_pinned != c.key.base64())
          return close("authentication error", "Refused \"" + user() + "\": key pinned concurrently", true);
        emit(event_kind::info, "Pinned the key of \"" + user() + "\" (" + c.key.fingerprint() + ")");
        apply_handshake(hs->on_pinned(c, self->clock().now(), rng));
      },
      [this](caf::error&) { close({}, "Known-users store unavailable", true); });
}

// The established peer proved a restart (a CONNECTED signed over our fresh challenge): a new session with it on
// the same address, as responder this time.
void session_state::on_restarted() {
  held.clear();
  // What the peer's old run was doing ended with it: its transfers fail now (one it was receiving resumes when
  // offered again) instead of stalling until their timeouts.
  for (auto* service : {&ctx->transfers, &ctx->audio})
    if (*service)
      self->send(*service, peer_gone_atom::value, user());
  caps_answer_due = true;  // the restarted peer's first MKCAPS gets ours again (it may have missed the first)
  if (mokaccino_peer && ctx->transfers)
    self->send(ctx->transfers, peer_ready_atom::value, user(),
               lists(peer_features, resume_feature));
  register_established();
}

void session_state::register_established() {
  self->request(ctx->node, 5s, established_atom::value, user(), opts.peer, hs->peer_key()->base64())
    .await(
      [this](bool ok) {
        if (!ok)
          return close("connection refused", "\"" + user() + "\" is already connected from another address", true);
        hs->on_registered();
        alive.emplace(random_u32(), self->clock().now());
        crypt.emplace(ctx->identity, *hs->peer_key());
        crypt->bind_transcript(hs->we_initiated(), transcript());
        if ((mokaccino_peer && peer_envelope) || pinned_envelope)
          crypt->peer_speaks_envelope();
        unencrypted_since = self->clock().now();
        emit(event_kind::connected, "Connected to \"" + user() + "\" at " + opts.peer.to_string(),
             {{"address", opts.peer.to_string()}, {"fingerprint", hs->peer_key()->fingerprint()}});
        send_caps();
        if (ctx->config.encrypt_by_default || ctx->config.require_encryption)
          apply_crypt(crypt->start(rng));
      },
      [this](caf::error&) { close({}, "Node unavailable", true); });
}

// A seed for the keep-alive's ping ids and the path MTU probes' ids (not secrets: unguessable is enough).
std::uint32_t session_state::random_u32() {
  std::uint32_t x = 0;
  for (int i = 0; i < 4; ++i)
    x = x << 8 | rng.next_byte();
  return x;
}

// What the envelope's keys are bound to: both names, both identity keys, both handshake nonces, by role.
crypto::channel_transcript session_state::transcript() const {
  crypto::channel_transcript t;
  auto mine = ctx->identity.public_key().base64();
  auto peer = hs->peer_key()->base64();
  if (hs->we_initiated()) {
    t = {ctx->username, user(), mine, peer, hs->initiator_nonce(), hs->responder_nonce()};
  } else {
    t = {user(), ctx->username, peer, mine, hs->initiator_nonce(), hs->responder_nonce()};
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
  if (lists(m.features, envelope_feature)) {
    peer_envelope = true;
    crypt->peer_speaks_envelope();
  }
  if (!pmtu && lists(m.features, pmtu_feature))
    pmtu.emplace(self->clock().now(), random_u32());
  if (first || std::exchange(caps_answer_due, false)) {
    self->send(ctx->node, mokaccino_peer_atom::value, user());
    if (ctx->transfers)
      self->send(ctx->transfers, peer_ready_atom::value, user(),
                 lists(m.features, resume_feature));
    // Ours went out once, right after the handshake, and may have been lost or dropped by a peer not yet
    // established: answer the first one with ours again so both ends agree on the extended formats.
    send_caps();
  }
}

}  // namespace mk::peer_session_detail
