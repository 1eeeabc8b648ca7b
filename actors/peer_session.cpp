#include "actors/peer_session.hpp"

#include "actors/peer_session_state.hpp"

namespace mk {

namespace peer_session_detail {

using namespace std::chrono_literals;

void session_state::on_tick() {
  verify_tokens = std::min(verify_tokens + limits::max_verifies_per_tick, limits::max_verify_burst);
  ++tick_count;
  auto now = self->clock().now();
  auto h = hs->on_tick(now);  // timeout and resends while pending (§5), unanswered restart challenges after
  if (!hs->established())
    return apply_handshake(std::move(h));
  auto k = alive->on_tick(now);
  if (k.timed_out)
    return close("connection timed out", "User \"" + user() + "\" went offline", true);
  if (k.ping)
    send_line(w::serialize(w::ping_msg{*k.ping}));
  run_probes();
  apply_handshake(std::move(h));
  if (tick_count % ticks_per_resend == 0)
    apply_crypt(crypt->on_resend_tick());
  if (ctx->config.require_encryption && !crypt->encrypting() && now - unencrypted_since > limits::handshake_timeout)
    return close("encryption required",
                 "Closed the connection with \"" + user() + "\": it could not be encrypted within " +
                   std::to_string(limits::handshake_timeout.count()) +
                   " s, and network.connection.require_encryption is on (no content was sent in plaintext)",
                 true);
  // Fresh keys by time or by volume (WireGuard's rule); the side that initiated the connection drives it, so
  // both ends never rekey at once.
  if (hs->we_initiated() && crypt->sealing_envelopes() && crypt->envelope_active() && !crypt->rekeying() &&
      (now - epoch_started > ctx->config.rekey_after || crypt->sealed_in_epoch() > ctx->config.rekey_after_datagrams)) {
    epoch_started = now;
    apply_crypt(crypt->start_rekey(rng));
  }
  if (!held.empty() && now - held_since > limits::handshake_timeout) {
    // The peer never completes the CRYPT handshake: do not leak the held lines in plaintext.
    emit(event_kind::error, "Encryption with \"" + user() + "\" did not complete: " + std::to_string(held.size()) +
                              " message(s) not sent (encrypt stop to talk in plaintext)");
    dropped += held.size();
    held.clear();
  }
}

command_reply session_state::send_text(const std::string& text) {
  if (!hs->established())
    return reply_error("User " + user() + " is not connected");
  send_line(w::serialize(w::text_msg{text}));
  return reply_ok();
}

command_reply session_state::set_encryption(bool on) {
  if (!hs->established())
    return reply_error("User " + user() + " is not connected");
  if (on) {
    if (crypt->encrypting())
      return reply_ok("Connection with " + user() + " is already encrypted");
    apply_crypt(crypt->start(rng));
    return reply_ok("Encryption requested with " + user());
  }
  if (ctx->config.require_encryption)
    return reply_error("Encryption with " + user() +
                       " stays on: network.connection.require_encryption is set (set it to false to allow "
                       "plaintext)");
  apply_crypt(crypt->stop());
  return reply_ok();
}

peer_info session_state::info() const {
  peer_info i;
  i.user = user();
  i.address = opts.peer.to_string();
  i.connected = hs->established();
  i.encrypted = crypt && crypt->encrypting();
  i.mokaccino = mokaccino_peer;
  if (alive && alive->average_rtt()) {
    i.rtt_ms = std::chrono::duration<double, std::milli>(*alive->average_rtt()).count();
    i.ping_ms = i.rtt_ms / 2;
  }
  i.sent = sent;
  i.received = received;
  i.dropped = dropped;
  if (hs->peer_key())
    i.fingerprint = hs->peer_key()->fingerprint();
  return i;
}

}  // namespace peer_session_detail

namespace {

using namespace peer_session_detail;
using namespace std::chrono_literals;

caf::behavior peer_session(caf::stateful_actor<session_state>* self, std::shared_ptr<const node_context> ctx,
                           session_options opts) {
  auto& st = self->state;
  st.self = self;
  st.ctx = std::move(ctx);
  st.opts = std::move(opts);
  st.hs.emplace(st.ctx->identity,
                session::handshake::settings{st.ctx->username, st.opts.peer.to_string(), st.opts.expected_user,
                                             st.opts.preapproved},
                self->clock().now());
  // A session never outlives its node (nor does it take the node down if it fails itself).
  if (st.ctx->node) {
    self->monitor(st.ctx->node);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  }
  self->delayed_send(self, until_next_tick(self->clock().now()), tick_atom::value);
  return {
    [self](initiate_atom) { self->state.apply_handshake(self->state.hs->start(self->state.rng)); },
    [self](route_atom, const std::string& line) { self->state.on_line(line); },
    [self](peer_lines_atom, std::vector<std::string>& lines) {  // a wake-up's lines, counted by the session_table
      auto& st = self->state;
      st.ctx->routes->processed(st.opts.peer, lines.size());
      st.ctx->counters->datagrams_in.fetch_add(lines.size(), std::memory_order_relaxed);
      st.on_lines(lines);
    },
    [self](tick_atom) {
      self->state.on_tick();
      self->delayed_send(self, until_next_tick(self->clock().now()), tick_atom::value);
    },
    [self](send_line_atom, const std::string& line) {
      if (self->state.hs->established())
        self->state.send_line(line);
    },
    [self](send_lines_atom, std::vector<std::string>& lines) {
      if (self->state.hs->established())
        self->state.send_lines(lines);
    },
    [self](msg_atom, const std::string& text) { return self->state.send_text(text); },
    [self](encrypt_atom, bool on) { return self->state.set_encryption(on); },
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
    [self](close_atom, const std::string& reason) {
      auto& st = self->state;
      bool was = st.hs->established();
      st.close(reason, was ? "Disconnected from " + st.user() : std::string{}, false);
    },
  };
}

}  // namespace

caf::actor spawn_peer_session(caf::actor_system& sys, std::shared_ptr<const node_context> ctx, session_options opts) {
  return sys.spawn(peer_session, std::move(ctx), std::move(opts));
}

}  // namespace mk
