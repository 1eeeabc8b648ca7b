// The node: introductions (§7) (node_state.hpp; the bookkeeping is introduction_book).
#include "actors/node_state.hpp"
#include "core/config/policy_decision.hpp"

namespace mk::node_detail {

using namespace std::chrono_literals;

template <class Next>
void node_state::pin_introduced(const std::string& user, const crypto::public_key& key, const std::string& via,
                                Next next) {
  self->request(ctx->known_users, std::chrono::seconds(5), key_pin_atom::value, user, key.base64())
    .then([this, user, key, via, next](const std::string& pinned) {
      if (pinned.empty())
        return error("\"" + user + "\" is blacklisted: introduction by \"" + via + "\" ignored");
      if (pinned != key.base64()) {
        auto old = crypto::public_key::from_base64(pinned);
        publish(make_event(event_kind::key_changed, user,
                           "WARNING: \"" + via + "\" vouched for a DIFFERENT key for \"" + user +
                             "\" than the one pinned. Refused.",
                           {{"pinned", old ? old->fingerprint() : std::string{"(unreadable)"}},
                            {"presented", key.fingerprint()}}));
        return;
      }
      next();
    },
    [this, user](caf::error&) { error("Cannot pin the key of \"" + user + "\": known-users store unavailable"); });
}

void node_state::on_intro(const std::string& from, const intro_request& m) {
  if (auto* requester = directory.peer(from))
    serve_request(*requester, from, m.target);
}

void node_state::on_intro(const std::string& from, const intro_fail& m) {
  if (directory.connected(from) && intros.failed(m.target))
    error("\"" + from + "\" could not introduce \"" + m.target + "\" (not connected there)");
}

void node_state::on_intro(const std::string& from, const intro_key& m) {
  if (!directory.connected(from))
    return;
  if (!m.signature_ok)  // the original blacklists the name here, which lets any peer deny us a user; we only warn
    return error("\"" + from + "\" sent a key for \"" + m.target + "\" with a bad signature: ignored");
  if (!intros.asked_for(m.target))
    return;  // we did not ask: ignore
  if (!m.key)
    return error("\"" + from + "\" sent an unusable key for \"" + m.target + "\"");
  pin_introduced(m.target, *m.key, from, [] {});
}

void node_state::on_intro(const std::string& from, const intro_requested& m) {
  if (!directory.connected(from) || directory.connected(m.user) || m.user == ctx->username)
    return;
  if (!m.ep || !m.key)
    return error("\"" + from + "\" sent an unusable introduction for \"" + m.user + "\"");
  on_requested(from, m.user, *m.ep, *m.key);
}

void node_state::on_requested(const std::string& via, const std::string& user, const endpoint& ep,
                              const crypto::public_key& key) {
  auto go = [this, user, ep, key, via] {
    pin_introduced(user, key, via, [this, user, ep] {
      intros.preapprove(user, self->clock().now());
      // The introduced peer's own CONNECT may have arrived first and be waiting on a question of its own:
      // the user just said yes to this peer, so that question is answered too.
      for (auto id : prompts.open(prompt_kind::connect, user))
        answer(id, true);
      if (directory.has_session(ep))
        return;
      session_options opts;
      opts.role = session_role::initiator;
      opts.expected_user = user;
      auto s = spawn_session(ep, std::move(opts));
      self->send(s, initiate_atom::value);
    });
  };
  auto decision = intros.asked_for(user) ? config::action::accept : config::decide(ctx->config.connection, user);
  if (decision == config::action::accept)
    return go();
  if (decision == config::action::refuse)
    return;  // §7: a refusal is silent
  auto question = "User \"" + user + "\" (" + ep.to_string() + ", introduced by \"" + via +
                  "\") requested to connect, accept? (y/n)";
  ask(prompt_kind::connect, user, question, {}, std::nullopt, std::move(go));
}

std::string node_state::sign_line(w::key_msg m) {
  m.signature = ctx->identity.sign(w::signed_text(m), rng);
  return w::serialize(m);
}

std::string node_state::sign_line(w::requested_msg m) {
  m.signature = ctx->identity.sign(w::signed_text(m), rng);
  return w::serialize(m);
}

void node_state::send_to(const std::string& user, std::string line) {
  if (auto* peer = directory.peer(user))
    self->send(peer->session, send_line_atom::value, std::move(line));
}

// We are the middle peer S: `requester` wants `target`. Never crash, whatever is asked (§14).
void node_state::serve_request(const registered_peer& requester, const std::string& requester_name, const std::string& target) {
  auto* t = directory.peer(target);
  if (target == requester_name || target == ctx->username || !t) {
    send_to(requester_name, w::serialize(w::fail_msg{target}));
    return;
  }
  // KEY for the requester (what the original sends), then REQUESTED both ways so both ends send toward each
  // other and UDP hole punching can work. The reverse REQUESTED goes to mokaccino peers only: an original
  // node cannot parse it (§7).
  send_to(requester_name, sign_line(w::key_msg{target, t->pubkey, {}}));
  send_to(target, sign_line(w::requested_msg{requester_name, requester.ep.to_string(), requester.pubkey, {}}));
  if (requester.mokaccino_peer)
    send_to(requester_name, sign_line(w::requested_msg{target, t->ep.to_string(), t->pubkey, {}}));
  info("Introduced \"" + requester_name + "\" to \"" + target + "\"");
}

}  // namespace mk::node_detail
