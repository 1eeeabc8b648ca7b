// The node: its sessions, half-open limits, datagrams from unknown sources, events (node_state.hpp).
#include "actors/node_state.hpp"

namespace mk::node_detail {

using namespace std::chrono_literals;

// Every event leaves the node here, and only here: sanitised once for every subscriber.
void node_state::publish(event e) {
  if (e.kind == event_kind::debug && !ctx->debug)
    return;
  sanitise_event(e);
  if (e.time_ms == 0)
    e.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  if (!ever_subscribed && before_subscribers.size() < max_before_subscribers)
    before_subscribers.push_back(e);
  for (auto& s : subscribers)
    self->send(s, event_atom::value, e);
}

// `first_line` (a responder's CONNECT) is queued before the socket may deliver the peer's next lines directly.
caf::actor node_state::spawn_session(const endpoint& ep, session_options opts, std::string first_line) {
  opts.peer = ep;
  auto s = spawn_peer_session(self->system(), ctx, std::move(opts));
  self->monitor(s);
  if (!first_line.empty())
    self->send(s, route_atom::value, std::move(first_line));
  directory.add_session(ep, s);
  ctx->routes->add(ep, s);
  return s;
}

void node_state::on_session_down(const caf::down_msg& dm) {
  // A subscriber that ended (an attached remote terminal that left, say) gets no more events.
  std::erase_if(subscribers, [&](const caf::actor& s) { return s.address() == dm.source; });
  auto gone = directory.remove_session(dm.source);
  if (!gone)
    return;
  ctx->routes->remove(gone->ep);
  if (shutting_down && directory.sessions().empty()) {
    self->quit();
    return;
  }
  if (gone->deferred_connect && !shutting_down)
    connect_endpoint(gone->ep, *gone->deferred_connect);
}

// The socket hands a known peer's lines to its session itself (session_table). What reaches the node is
// strangers, malformed datagrams, and the few lines queued here before their session's entry existed, which go
// on the same way (the table counts them until the session has processed them).
void node_state::on_datagrams(datagram_batch& batch) {
  session_table::routed late;
  ctx->routes->split(batch, late);
  for (auto& [session, lines] : late)
    self->send(session, peer_lines_atom::value, std::move(lines));
  backlog->queued.fetch_sub(static_cast<std::int64_t>(batch.size()), std::memory_order_relaxed);
  ctx->counters->datagrams_in.fetch_add(batch.size(), std::memory_order_relaxed);
  for (auto& d : batch) {
    auto line = w::line_of_datagram(
      std::span{reinterpret_cast<const std::uint8_t*>(d.bytes.data()), d.bytes.size()});
    if (line)
      on_unknown_source(d.from, *line);
    else
      ctx->counters->malformed.fetch_add(1, std::memory_order_relaxed);
  }
}

// §1: only CONNECT may open a session; HANDSHAKE/CONNECTED need one of ours, anything else is dropped.
void node_state::on_unknown_source(const endpoint& from, std::string_view line) {
  // An earlier datagram of this batch (a repeated CONNECT) made the session: the rest is its business. Without
  // this a second session would replace the first for the same endpoint (found by bench/peers_bench).
  if (auto* s = directory.session_at(from)) {
    self->send(*s, route_atom::value, std::string{line});
    return;
  }
  auto kw = w::keyword_of(line);
  if ((kw != w::connect_msg::keyword && kw != w::cookie_msg::keyword) || shutting_down) {
    ctx->counters->unknown_source.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto parsed = w::parse_line(line);
  if (parsed && std::holds_alternative<w::cookie_msg>(*parsed)) {
    if (!gate->on_cookie(from, std::get<w::cookie_msg>(*parsed), connect_gate::clock::now()))
      ctx->counters->unauthenticated.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!parsed || !std::holds_alternative<w::connect_msg>(*parsed)) {
    ctx->counters->malformed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto& c = std::get<w::connect_msg>(*parsed);
  if (directory.connected(c.username)) {  // §4: dropped if <user> is already connected
    ctx->counters->rejected.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (directory.sessions().size() >= limits::max_peers ||
      directory.half_open_from(from) >= limits::max_half_open_per_ip) {
    ctx->counters->half_open_limit.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // The session will verify this CONNECT's signature: the node-wide budget pays for it (and a half-open slot
  // holds it), or nothing happens — except that an unproven address under load is asked to prove itself.
  auto now = connect_gate::clock::now();
  switch (gate->on_connect(from, directory.half_open(), now)) {
    case connect_gate::verdict::admit:
      break;
    case connect_gate::verdict::send_cookie:
      ctx->sender->send(from, w::into_datagram(w::serialize(gate->cookie_for(from, now, rng))));
      return;
    case connect_gate::verdict::drop:
      ctx->counters->half_open_limit.fetch_add(1, std::memory_order_relaxed);
      return;
  }
  session_options opts;
  opts.role = session_role::responder;
  opts.first_verify_paid = true;
  if (intros.preapproved(c.username)) {
    opts.preapproved = true;
    opts.expected_user = c.username;
  }
  spawn_session(from, std::move(opts), std::string{line});
}

}  // namespace mk::node_detail
