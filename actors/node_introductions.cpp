// The node: introductions (§7) and the prompt registry (node_state.hpp).
#include "actors/node_state.hpp"

namespace mk::node_detail {

using namespace std::chrono_literals;

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
    self->send(it->second.session, send_atom::value, std::move(line));
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
  if (requester.mokaccino)
    send_to(requester_name, sign_line(w::requested_msg{target, t->second.ep.to_string(), t->second.pubkey, {}}));
  info("Introduced \"" + requester_name + "\" to \"" + target + "\"");
}

// Issue 13 flood guard for a session's question: a connection question waits alone for its claimed name and
// for its source address (one pre-signed CONNECT sent from many ports, or many names from one address, asks
// once); a connected peer has at most limits::max_prompts_per_peer questions (files, calls) pending.
// (The node's own questions, introductions the user may have asked for, have no source and are not limited.)
bool node_state::prompt_allowed(const std::string& kind, const std::string& user, const std::optional<endpoint>& source) const {
  std::size_t same_peer = 0;
  for (auto& [id, p] : prompts) {
    if (kind == "connect") {
      if (source && p.source && p.kind == "connect" &&
          (p.user == user || address_of(*p.source) == address_of(*source)))
        return false;
    } else if (p.kind != "connect" && p.user == user && ++same_peer >= limits::max_prompts_per_peer) {
      return false;
    }
  }
  return true;
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
