// The node: questions to the user (node_state.hpp). The registry (prompt_registry) decides which are asked and
// when they end; here they become prompt events, replies to the askers and the node's own follow-ups.
#include "actors/node_state.hpp"

namespace mk::node_detail {

std::uint64_t node_state::ask(prompt_kind kind, const std::string& user, const std::string& text,
                              caf::response_promise rp, std::optional<endpoint> source, std::function<void()> on_yes) {
  // A question with an asker to answer is a session's or a service's: the flood guards apply.
  auto who = rp.pending() ? prompt_registry::asker::peer : prompt_registry::asker::node;
  auto asked = prompts.ask(pending_prompt{std::move(rp), std::move(on_yes), text, kind, user, std::move(source), {}},
                           who, self->clock().now());
  if (asked.refused == prompt_registry::refusal::flood_guard)
    ctx->counters->prompts_refused.fetch_add(1, std::memory_order_relaxed);
  if (asked.id == 0)
    return 0;
  auto e = make_event(event_kind::prompt, user, text, {{"kind", to_string(kind)}});
  e.id = asked.id;  // the front end answers with (answer_atom, id, yes)
  publish(std::move(e));
  self->delayed_send(self, limits::handshake_timeout, prompt_due_atom::value);
  return asked.id;
}

caf::result<bool> node_state::on_prompt(prompt_kind kind, const std::string& user, const std::string& text) {
  // Who asks (a session: its peer's address), read before the promise takes the sender over.
  std::optional<endpoint> source;
  if (auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender()))
    source = directory.endpoint_of(sender);
  auto rp = self->make_response_promise<bool>();
  if (kind == prompt_kind::connect && intros.preapproved(user)) {
    rp.deliver(true);  // the user already accepted this peer (an introduction it asked for or agreed to)
    return rp;
  }
  if (ask(kind, user, text, rp, source) == 0)
    rp.deliver(false);  // too many questions pending, or one for this name/address already: refuse
  return rp;
}

void node_state::answer(std::uint64_t id, bool yes) {
  if (auto closed = prompts.answer(id, yes))  // an unknown or expired id: nothing
    close_prompt(std::move(*closed));
}

// Unanswered questions count as no once their deadline comes (one timer message per question asked).
void node_state::expire_prompts() {
  for (auto& closed : prompts.expire(self->clock().now()))
    close_prompt(std::move(closed));
}

void node_state::close_prompt(closed_prompt c) {
  if (c.prompt.promise.pending())
    c.prompt.promise.deliver(c.yes);
  if (c.yes && c.prompt.on_yes)
    c.prompt.on_yes();
  auto e = make_event(event_kind::prompt_closed, {}, c.yes ? "yes" : "no");
  e.id = c.id;
  publish(std::move(e));
}

}  // namespace mk::node_detail
