// The node: introductions (§7) and the prompt registry (node_state.hpp).
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
  if (auto it = by_user.find(from); it != by_user.end())
    serve_request(it->second, from, m.target);
}

void node_state::on_intro(const std::string& from, const intro_fail& m) {
  if (by_user.count(from) != 0 && requests.erase(m.target) != 0)
    error("\"" + from + "\" could not introduce \"" + m.target + "\" (not connected there)");
}

void node_state::on_intro(const std::string& from, const intro_key& m) {
  if (by_user.count(from) == 0)
    return;
  if (!m.signature_ok)  // the original blacklists the name here, which lets any peer deny us a user; we only warn
    return error("\"" + from + "\" sent a key for \"" + m.target + "\" with a bad signature: ignored");
  if (requests.count(m.target) == 0)
    return;  // we did not ask: ignore
  if (!m.key)
    return error("\"" + from + "\" sent an unusable key for \"" + m.target + "\"");
  pin_introduced(m.target, *m.key, from, [] {});
}

void node_state::on_intro(const std::string& from, const intro_requested& m) {
  if (by_user.count(from) == 0 || by_user.count(m.user) != 0 || m.user == ctx->username)
    return;
  if (!m.ep || !m.key)
    return error("\"" + from + "\" sent an unusable introduction for \"" + m.user + "\"");
  on_requested(from, m.user, *m.ep, *m.key);
}

void node_state::on_requested(const std::string& via, const std::string& user, const endpoint& ep,
                              const crypto::public_key& key) {
  auto go = [this, user, ep, key, via] {
    pin_introduced(user, key, via, [this, user, ep] {
      preapproved[user] = self->clock().now() + limits::handshake_timeout;
      // The introduced peer's own CONNECT may have arrived first and be waiting on a question of its own:
      // the user just said yes to this peer, so that question is answered too.
      std::vector<std::uint64_t> same_peer;
      for (auto& [id, p] : prompts)
        if (p.kind == prompt_kind::connect && p.user == user)
          same_peer.push_back(id);
      for (auto id : same_peer)
        answer(id, true);
      if (by_endpoint.count(ep) != 0)
        return;
      session_options opts;
      opts.role = session_role::initiator;
      opts.expected_user = user;
      auto s = spawn_session(ep, std::move(opts));
      self->send(s, initiate_atom::value);
    });
  };
  auto decision = requests.count(user) != 0 ? config::action::accept : config::decide(ctx->config.connection, user);
  if (decision == config::action::accept)
    return go();
  if (decision == config::action::refuse)
    return;  // §7: a refusal is silent
  auto question = "User \"" + user + "\" (" + ep.to_string() + ", introduced by \"" + via +
                  "\") requested to connect, accept? (y/n)";
  auto rp_id = ask(prompt_kind::connect, user, question);
  if (rp_id == 0)
    return;
  prompt_callbacks[rp_id] = go;
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
  if (auto it = by_user.find(user); it != by_user.end())
    self->send(it->second.session, send_line_atom::value, std::move(line));
}

// We are the middle peer S: `requester` wants `target`. Never crash, whatever is asked (§14).
void node_state::serve_request(const registered_peer& requester, const std::string& requester_name, const std::string& target) {
  auto t = by_user.find(target);
  if (target == requester_name || target == ctx->username || t == by_user.end()) {
    send_to(requester_name, w::serialize(w::fail_msg{target}));
    return;
  }
  // KEY for the requester (what the original sends), then REQUESTED both ways so both ends send toward each
  // other and UDP hole punching can work. The reverse REQUESTED goes to mokaccino peers only: an original
  // node cannot parse it (§7).
  send_to(requester_name, sign_line(w::key_msg{target, t->second.pubkey, {}}));
  send_to(target, sign_line(w::requested_msg{requester_name, requester.ep.to_string(), requester.pubkey, {}}));
  if (requester.mokaccino_peer)
    send_to(requester_name, sign_line(w::requested_msg{target, t->second.ep.to_string(), t->second.pubkey, {}}));
  info("Introduced \"" + requester_name + "\" to \"" + target + "\"");
}

// Issue 13 flood guard for a session's question: a connection question waits alone for its claimed name and
// for its source address (one pre-signed CONNECT sent from many ports, or many names from one address, asks
// once); a connected peer has at most limits::max_prompts_per_peer questions (files, calls) pending.
// (The node's own questions, introductions the user may have asked for, have no source and are not limited.)
bool node_state::prompt_allowed(prompt_kind kind, const std::string& user, const std::optional<endpoint>& source) const {
  std::size_t same_peer = 0;
  for (auto& [id, p] : prompts) {
    if (kind == prompt_kind::connect) {
      if (source && p.source && p.kind == prompt_kind::connect &&
          (p.user == user || address_of(*p.source) == address_of(*source)))
        return false;
    } else if (p.kind != prompt_kind::connect && p.user == user && ++same_peer >= limits::max_prompts_per_peer) {
      return false;
    }
  }
  return true;
}

caf::result<bool> node_state::on_prompt(prompt_kind kind, const std::string& user, const std::string& text) {
  // Who asks (a session: its peer's address), read before the promise takes the sender over.
  std::optional<endpoint> source;
  if (auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender()))
    if (auto it = endpoint_of.find(sender); it != endpoint_of.end())
      source = it->second;
  auto rp = self->make_response_promise<bool>();
  if (kind == prompt_kind::connect && preapproved.count(user) != 0) {
    rp.deliver(true);  // the user already accepted this peer (an introduction it asked for or agreed to)
    return rp;
  }
  if (ask(kind, user, text, rp, source) == 0)
    rp.deliver(false);  // too many questions pending, or one for this name/address already: refuse
  return rp;
}

void node_state::answer(std::uint64_t id, bool yes) {
  auto it = prompts.find(id);
  if (it == prompts.end())
    return;
  if (it->second.promise.pending())
    it->second.promise.deliver(yes);
  prompts.erase(it);
  if (auto cb = prompt_callbacks.find(id); cb != prompt_callbacks.end()) {
    auto f = std::move(cb->second);
    prompt_callbacks.erase(cb);
    if (yes)
      f();
  }
  auto e = make_event(event_kind::prompt_closed, {}, yes ? "yes" : "no");
  e.id = id;
  publish(std::move(e));
}

}  // namespace mk::node_detail
