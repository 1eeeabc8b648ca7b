// Peer session, sending: lines held or sealed, batches, path MTU probes, chunk pieces (peer_session_state.hpp).
#include "actors/peer_session_state.hpp"

namespace mk::peer_session_detail {

using namespace std::chrono_literals;

void session_state::send_raw(std::string line) {
  if (ctx->debug)
    emit(event_kind::debug, "sent: " + line.substr(0, 40));
  send_datagram(w::into_datagram(std::move(line)));
}

void session_state::send_datagram(std::string bytes) {
  ++sent;
  ctx->counters->datagrams_out.fetch_add(1, std::memory_order_relaxed);
  ctx->sender->send(opts.peer, std::move(bytes));
}

// The lines that may travel in plaintext even when encryption is required: they carry no user content and
// either set encryption up or keep the connection alive until it is.
bool session_state::control_line(std::string_view line) {
  auto kw = w::keyword_of(line);
  return kw == w::ping_msg::keyword || kw == w::pong_msg::keyword || kw == w::caps_msg::keyword ||
         kw == w::probe_msg::keyword || kw == w::probe_ack_msg::keyword ||
         kw == w::crypt_start_msg::keyword || kw == w::crypt_accept_msg::keyword ||
         kw == w::crypt_ack_msg::keyword || kw == w::crypt_stop_msg::keyword || kw == w::disconnect_msg::keyword;
}

// While the CRYPT handshake runs, lines wait: sent in plaintext they would be refused by a peer that switched
// on first. With require_encryption, content also waits (and encryption starts) whenever the session is not
// encrypted: it is sent sealed or not at all.
bool session_state::must_hold(std::string_view line) {
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

void session_state::hold(std::string line) {
  if (held.empty())
    held_since = self->clock().now();
  if (held.size() >= max_held) {
    held.erase(held.begin());
    ++dropped;
  }
  held.push_back(std::move(line));
}

// Every line except the few that are always plaintext (§11) is sealed while encrypting.
void session_state::send_line(std::string line) {
  if (pmtu && peer_envelope && file_line_data(line) > chunk_budget()) {
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
std::string session_state::plain_datagram(std::string line) {
  if (!peer_envelope || !line.starts_with("FILE "))
    return w::into_datagram(std::move(line));
  std::string record;
  w::record_of_line(line, record);
  record.insert(record.begin(), w::plain_record_marker);
  return record;
}

// Many lines at once (file chunks): sealed here, handed to the socket as one sendmmsg batch.
void session_state::send_lines(std::vector<std::string>& lines) {
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

// The file data one datagram carries on this path: what a new transfer's chunks hold.
std::size_t session_state::chunk_budget() const {
  if (!pmtu || !peer_envelope)
    return 1024;  // (a FILE chunk then travels as a text line: only binary records are sized to the path)
  return std::min<std::size_t>(pmtu->budget() - file_datagram_overhead, limits::max_file_piece);
}

// Chunks sized for a larger budget than the path has now (it shrank under a transfer) go out in pieces.
void session_state::fit_to_path(std::vector<std::string>& lines) {
  if (!peer_envelope)
    return;
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
std::string session_state::datagram_of(std::string line) {
  if (crypt && crypt->encrypting())
    return crypt->seal(line, rng);
  return w::into_datagram(std::move(line));
}

void session_state::run_probes() {
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

void session_state::on_probe_ack(std::uint32_t id) {
  if (!pmtu)
    return;
  if (pmtu->on_ack(id, self->clock().now()) && ctx->debug)
    emit(event_kind::debug, "The path to " + user() + " carries " + std::to_string(pmtu->budget()) + "-byte datagrams");
  run_probes();  // the search goes on at once
}

void session_state::flush_held() {
  if (crypt && crypt->negotiating())
    return;
  auto lines = std::move(held);
  held.clear();
  for (auto& l : lines)
    send_line(std::move(l));
}

void session_state::emit(event_kind kind, std::string text, std::vector<std::pair<std::string, std::string>> fields) {
  self->send(ctx->node, event_atom::value,
             make_event(kind, user().empty() ? opts.peer.to_string() : user(), std::move(text), std::move(fields)));
}

void session_state::drop(const char* why) {
  ++dropped;
  ctx->counters->rejected.fetch_add(1, std::memory_order_relaxed);
  if (ctx->debug)
    emit(event_kind::debug, std::string{"dropped: "} + why);
}

// A CONNECT from the established peer was answered with a challenge that its sender could not sign: a replay of
// an earlier session's CONNECT (or a restart that gave up). Nothing changed; it is counted with the replays.
void session_state::count_unproven_restart() {
  ++dropped;
  ctx->counters->replayed.fetch_add(1, std::memory_order_relaxed);
  if (ctx->debug)
    emit(event_kind::debug, "dropped: a CONNECT from an established peer that never proved a restart");
}

void session_state::close(std::string reason_to_peer, std::string event_text, bool as_error) {
  closing = true;
  if (!reason_to_peer.empty()) {
    // Cannot wait for a CRYPT handshake to finish: sealed while encrypting. Between our CRYPTACCEPT and the
    // peer's CRYPTACK the peer may already encrypt with the key we hold (and refuse plaintext) or not hold it yet
    // (its CRYPTACCEPT lost): both then, sealed and plaintext; the peer takes the one it can authenticate.
    auto line = w::serialize(w::disconnect_msg{std::move(reason_to_peer)});
    if (crypt && crypt->encrypting()) {
      send_datagram(crypt->seal(line, rng));
    } else {
      if (auto sealed = crypt ? crypt->seal_pending(line, rng) : std::nullopt)
        send_datagram(std::move(*sealed));
      send_datagram(w::into_datagram(std::move(line)));
    }
  }
  if (!event_text.empty()) {
    if (hs->established())
      emit(event_kind::disconnected, event_text);
    else
      emit(as_error ? event_kind::error : event_kind::info, event_text);
  }
  if (hs->established())
    for (auto* service : {&ctx->transfers, &ctx->audio})
      if (*service)
        self->send(*service, peer_gone_atom::value, user());
  self->quit();
}

}  // namespace mk::peer_session_detail
