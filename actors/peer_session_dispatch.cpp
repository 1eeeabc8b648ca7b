// Peer session, receiving: lines and sealed datagrams in, the CRYPT exchange, each message to its handler (peer_session_state.hpp).
#include "actors/peer_session_state.hpp"

namespace mk::peer_session_detail {

using namespace std::chrono_literals;

namespace {

std::optional<crypto::public_key> usable_key(std::string_view b64) {
  auto k = crypto::public_key::from_base64(b64);
  return k ? std::optional{std::move(*k)} : std::nullopt;
}

}  // namespace

void session_state::apply_crypt(session::crypt_negotiation::output out) {
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
      emit(event_kind::debug, "Encryption with \"" + user() + "\": " + out.problem);
  } else if (!out.problem.empty()) {
    emit(event_kind::error, "Encryption with \"" + user() + "\": " + out.problem);
  }
  if (out.encryption_changed)
    on_encryption_changed(*out.encryption_changed);
  flush_held();
}

void session_state::on_encryption_changed(bool on) {
  auto now = self->clock().now();
  emit(event_kind::encryption,
       on ? "Connection with " + user() + " is now encrypted" : "Connection with " + user() + " is no longer encrypted",
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

void session_state::refuse_unauthenticated(const char* why) {
  ctx->counters->unauthenticated.fetch_add(1, std::memory_order_relaxed);
  drop(why);
}

void session_state::on_established_message(w::message& m, std::string_view raw, bool sealed) {
  // §14 FIX: once encrypted, only the CRYPT lines may come in plaintext (the state machine decides which of them
  // count); a peer that seals in envelopes sends nothing in plaintext at all. The original seals DISCONNECT too,
  // so a plaintext one can only be forged.
  if (!sealed && crypt->envelope_active())
    return refuse_unauthenticated("plaintext from a peer that seals everything");
  if (crypt->encrypting() && !sealed &&
      !(std::holds_alternative<w::crypt_start_msg>(m) || std::holds_alternative<w::crypt_accept_msg>(m) ||
        std::holds_alternative<w::crypt_ack_msg>(m) || std::holds_alternative<w::crypt_stop_msg>(m)))
    return refuse_unauthenticated("plaintext from an encrypted peer");
  if (!on_control(m, raw, sealed) && !on_introduction(m, raw) && !to_service(m))
    drop("message type not handled yet");
}

// The session's own traffic: keep-alive, text, DISCONNECT, the CRYPT exchange, MKCAPS and path MTU probes.
bool session_state::on_control(const w::message& m, std::string_view raw, bool sealed) {
  return std::visit(
    [&](const auto& msg) {
      using T = std::decay_t<decltype(msg)>;
      if constexpr (std::is_same_v<T, w::ping_msg>) {
        send_line(w::serialize(w::pong_msg{msg.id}));
      } else if constexpr (std::is_same_v<T, w::pong_msg>) {
        alive->on_pong(msg.id, self->clock().now());
      } else if constexpr (std::is_same_v<T, w::text_msg>) {
        emit(event_kind::message, session::display_text(msg.text));
      } else if constexpr (std::is_same_v<T, w::disconnect_msg>) {
        close({}, "\"" + user() + "\" disconnected" + (msg.reason.empty() ? "" : ", reason: " + session::display_text(msg.reason)),
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
      } else if constexpr (std::is_same_v<T, w::connect_msg> || std::is_same_v<T, w::handshake_msg> ||
                           std::is_same_v<T, w::connected_msg>) {
        // handled before dispatch (on_line)
      } else {
        return false;
      }
      return true;
    },
    m);
}

// Introductions (§7): checked here (signatures with this peer's key, keys and endpoints parsed), decided by the node.
bool session_state::on_introduction(const w::message& m, std::string_view raw) {
  return std::visit(
    [&](const auto& msg) {
      using T = std::decay_t<decltype(msg)>;
      if constexpr (std::is_same_v<T, w::request_msg>) {
        forward_intro(intro_request{msg.username});
      } else if constexpr (std::is_same_v<T, w::fail_msg>) {
        forward_intro(intro_fail{msg.username});
      } else if constexpr (std::is_same_v<T, w::key_msg>) {
        if (!verify_signed(*hs->peer_key(), raw))  // KEY is signed by the middle peer (§7)
          forward_intro(intro_key{msg.username, false, std::nullopt});
        else
          forward_intro(intro_key{msg.username, true, usable_key(msg.pubkey)});
      } else if constexpr (std::is_same_v<T, w::requested_msg>) {
        if (!verify_signed(*hs->peer_key(), raw))
          drop("REQUESTED with a bad signature");
        else
          forward_intro(intro_requested{msg.username, endpoint::parse(msg.endpoint), usable_key(msg.pubkey)});
      } else {
        return false;
      }
      return true;
    },
    m);
}

// Files to the transfer service; audio to the running call's media thread, or else the audio service.
bool session_state::to_service(w::message& m) {
  return std::visit(
    [&](const auto& msg) {
      using T = std::decay_t<decltype(msg)>;
      if constexpr (std::is_same_v<T, w::file_init_msg> || std::is_same_v<T, w::file_ack_msg> ||
                    std::is_same_v<T, w::file_msg> || std::is_same_v<T, w::file_stop_msg> ||
                    std::is_same_v<T, w::file_sack_msg> || std::is_same_v<T, w::file_offer_msg> ||
                    std::is_same_v<T, w::file_hash_msg> || std::is_same_v<T, w::file_dup_msg> ||
                    std::is_same_v<T, w::file_resume_msg> || std::is_same_v<T, w::file_from_msg> ||
                    std::is_same_v<T, w::folder_offer_msg> || std::is_same_v<T, w::folder_accept_msg> ||
                    std::is_same_v<T, w::folder_file_msg>) {
        forward_service(ctx->transfers, m);
      } else if constexpr (std::is_same_v<T, w::audio_start_msg> || std::is_same_v<T, w::audio_accept_msg> ||
                           std::is_same_v<T, w::audio_stop_msg> || std::is_same_v<T, w::audio_msg> ||
                           std::is_same_v<T, w::voice_msg>) {
        if (!ctx->calls || !ctx->calls->deliver(user(), m))
          forward_service(ctx->audio, m);
      } else {
        return false;
      }
      return true;
    },
    m);
}

void session_state::forward_service(const caf::actor& service, w::message& m) {
  if (!service)
    return drop("no service for this message");
  if (in_batch && service == ctx->transfers) {
    to_transfers.push_back(std::move(m));
    return;
  }
  self->send(service, peer_msg_atom::value, user(), caf::actor_cast<caf::actor>(self), mokaccino_peer,
             std::move(m));
}

// All lines of one socket wake-up: their FILE* messages reach the transfer service as one message.
void session_state::on_lines(std::vector<std::string>& lines) {
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
    self->send(ctx->transfers, peer_msg_atom::value, user(), caf::actor_cast<caf::actor>(self), mokaccino_peer,
               std::move(to_transfers));
  to_transfers = {};
}

// One datagram of this peer (a text line without its LF, or a whole envelope): open it if sealed, then
// dispatch the message once.
void session_state::on_line(std::string_view bytes) {
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
      self->send(ctx->known_users, key_envelope_atom::value, user(), hs->peer_key()->base64());
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
    return apply_handshake(hs->on_connect(*c, raw, self->clock().now(), rng));
  if (auto* h = std::get_if<w::handshake_msg>(&m))
    return apply_handshake(hs->on_handshake(*h, raw, rng));
  if (auto* c = std::get_if<w::connected_msg>(&m))
    return apply_handshake(hs->on_connected(*c, raw));
  if (auto* c = std::get_if<w::cookie_msg>(&m))
    return apply_handshake(hs->on_cookie(*c, sealed));
  if (!hs->established()) {
    // §14 FIX: the original drops refusals; report them (a spoofed one only ends a half-open handshake).
    if (auto* d = std::get_if<w::disconnect_msg>(&m); d && hs->current() != session::handshake::phase::deciding)
      return close({}, opts.peer.to_string() + " refused the connection" +
                         (d->reason.empty() ? "" : ": " + session::display_text(d->reason)), true);
    return drop("message before the handshake completed");
  }
  on_established_message(m, raw, sealed);
}

// Counts a sealed datagram that did not open; true if it opened.
bool session_state::count_refusal(session::crypt_negotiation::refusal why) {
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
void session_state::on_switched_on() {
  on_encryption_changed(true);
  flush_held();
}

bool session_state::is_signed(const w::message& m) {
  return std::holds_alternative<w::connect_msg>(m) || std::holds_alternative<w::handshake_msg>(m) ||
         std::holds_alternative<w::connected_msg>(m) || std::holds_alternative<w::key_msg>(m) ||
         std::holds_alternative<w::requested_msg>(m) || std::holds_alternative<w::crypt_start_msg>(m) ||
         std::holds_alternative<w::crypt_accept_msg>(m);
}

// Token bucket: limits::max_verifies_per_tick tokens per 500 ms tick, at most limits::max_verify_burst saved.
// Both budgets: this peer's, and the node-wide one (a flood from many source ports cannot buy fresh bursts).
bool session_state::take_verify_token() {
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

}  // namespace mk::peer_session_detail
