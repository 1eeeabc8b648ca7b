#include "actors/file_sender_state.hpp"

#include <botan/auto_rng.h>

#include "core/crypto/random.hpp"
#include "core/wire/base64.hpp"

namespace mk::file_sender_detail {

void file_sender_state::leave_share() {
  if (counted)
    p.share->sending.fetch_sub(1, std::memory_order_relaxed);
  counted = false;
}

void file_sender_state::apply_share() {
  if (!counted) {
    p.share->sending.fetch_add(1, std::memory_order_relaxed);
    counted = true;
  }
  sm->set_window_cap(t::peer_window_share(p.share->sending.load(std::memory_order_relaxed)));
}

void file_sender_state::send_init() {
  if (p.lazy_hash && !p.folder_id.empty())
    send_line(w::serialize(w::folder_file_msg{p.folder_id, hash, size, p.folder_path}));
  else if (p.lazy_hash)
    send_line(w::serialize(w::file_offer_msg{hash, size, file_name}));
  else
    send_line(w::serialize(w::file_init_msg{hash, size, file_name}));
}

void file_sender_state::announce(steady::time_point now) {
  if (!sm->hash_announcement_due(now))
    return;
  send_line(w::serialize(w::file_hash_msg{hash, content_hash}));
  bool first = sm->announcements() == 0;
  sm->hash_announced(now);
  if (first)
    emit("Announced the SHA-384 of " + file_name + " to " + p.user, now);
}

std::optional<std::span<const std::uint8_t>> file_sender_state::chunk_bytes(const t::chunk& c, steady::time_point now) {
  const bool hash_here = p.lazy_hash && !pool_hashes_content && content_hash.empty();
  auto bytes = file.read_chunk(c.offset, c.length, c.retransmission, hash_here ? &content_hash : nullptr);
  if (hash_here && !content_hash.empty())
    sm->on_hash_ready(now);
  return bytes;
}

void file_sender_state::pump(steady::time_point now) {
  std::vector<std::string> batch;
  const std::string prefix = "FILE " + hash + " ";
  while (sm->state() == t::sender_state::sending) {
    auto c = sm->next_chunk(now);
    if (!c)
      break;
    auto bytes = chunk_bytes(*c, now);
    if (!bytes) {
      sm->cancel("cannot read " + p.path.string() + ": " + std::strerror(errno));
      break;
    }
    // PROTOCOL §10: FILE <hash> <offset> <b64>; hash and number need no escaping. Built in place, no copies.
    std::string line;
    line.reserve(prefix.size() + 21 + w::base64_encoded_size(c->length));
    line += prefix;
    line += std::to_string(c->offset);
    line += ' ';
    w::base64_encode_append(*bytes, line);
    batch.push_back(std::move(line));
  }
  if (batch.size() == 1)
    send_line(std::move(batch.front()));
  else if (!batch.empty())
    self->send(p.session, send_lines_atom::value, std::move(batch));
}

void file_sender_state::arm(steady::time_point now) {
  auto deadline = sm->next_deadline();
  if (resends_init() && sm->state() == t::sender_state::pending)
    deadline = std::min(deadline, next_init_resend);
  deadline = std::min(deadline, now + limits::transfer_report_interval);
  if (deadline >= armed)
    return;  // an earlier timer is already on its way (CAF timers cannot be cancelled: generation check)
  armed = deadline;
  armed_gen = ++timer_gen;
  auto delay = deadline > now ? deadline - now : steady::duration::zero();
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::microseconds>(delay), tick_atom::value, armed_gen);
}

void file_sender_state::emit(std::string text, steady::time_point now, bool error) {
  auto e = progress.make(std::move(text), now);
  if (sm) {
    e.fields.emplace_back("retransmits", std::to_string(sm->retransmit_count()));
    e.fields.emplace_back("timeouts", std::to_string(sm->timeout_count()));
    e.fields.emplace_back("cwnd", std::to_string(sm->congestion().cwnd()));
    e.fields.emplace_back("chunk", std::to_string(sm->chunk_bytes()));
    auto srtt = sm->congestion().rtt().srtt();
    e.fields.emplace_back("srtt_us", std::to_string(srtt ? std::chrono::duration_cast<std::chrono::microseconds>(*srtt).count() : -1));
  }
  if (!content_hash.empty())
    e.fields.emplace_back("sha384", content_hash);
  if (error)
    e.fields.emplace_back("error", "1");
  self->send(p.ctx->node, event_atom::value, std::move(e));
}

void file_sender_state::after_input(steady::time_point now) {
  if (!sm || ended)
    return;
  if (sm->state() == t::sender_state::sending) {
    apply_share();
    pump(now);
  }
  if (sm->state() == t::sender_state::verifying)
    leave_share();  // no data in flight any more: the peer's other transfers get the link
  if (sm->state() == t::sender_state::sending || sm->state() == t::sender_state::verifying)
    announce(now);
  auto st = sm->state();
  progress.info.state = t::to_string(st);
  if (st == t::sender_state::done)
    return finish(now, "done", "Sent " + file_name + " to " + p.user, false);
  if (st == t::sender_state::failed) {
    if (!no_stop)  // our own failure (accept timeout, stall, read error): tell the peer
      send_line(w::serialize(w::file_stop_msg{hash}));
    return finish(now, "failed", file_name + " to " + p.user + ": " + sm->failure_reason(), true);
  }
  if (progress.update(sm->acked_bytes(), now))
    self->send(p.service, xfer_report_atom::value, progress.info);
  if (st == t::sender_state::sending && progress.event_due(now))
    emit(progress.line(), now);
  arm(now);
}

void file_sender_state::finish(steady::time_point now, const char* state, std::string text, bool error) {
  ended = true;
  leave_share();
  progress.info.state = state;
  progress.info.done = sm ? sm->acked_bytes() : 0;
  progress.info.eta_s = -1;
  progress.info.rate_bps = progress.average_rate(now);  // file list shows a finished transfer's average
  if (!error)
    text += " (" + human_bytes(static_cast<double>(size)) + ", " + human_bytes(progress.average_rate(now)) + "/s)";
  emit(std::move(text), now, error);
  self->send(p.service, xfer_final_atom::value, progress.info);
  self->quit();
}

void file_sender_state::on_messages(std::span<w::message> msgs) {
  if (!sm || ended)
    return;
  auto now = self->clock().now();
  const bool was_pending = sm->state() == t::sender_state::pending;
  for (auto& m : msgs)
    on_message(m, now);
  if (was_pending && sm->state() != t::sender_state::pending)
    progress.begin(now);  // issue 16: the rate counts from the acceptance, not from the offer
  after_input(now);
}

void file_sender_state::on_message(w::message& m, steady::time_point now) {
  std::visit(
    [&](auto& msg) {
      using T = std::decay_t<decltype(msg)>;
      if constexpr (std::is_same_v<T, w::file_ack_msg>) {
        sm->on_ack(msg.next, now);
      } else if constexpr (std::is_same_v<T, w::file_sack_msg>) {
        sm->on_sack(msg.next, msg.ranges, now);
      } else if constexpr (std::is_same_v<T, w::file_dup_msg>) {
        sm->on_duplicate(msg.offset, now);
      } else if constexpr (std::is_same_v<T, w::file_hash_msg>) {
        sm->on_verdict(!content_hash.empty() && msg.sha384 == content_hash, now);  // the receiver's SHA-384
      } else if constexpr (std::is_same_v<T, w::file_stop_msg>) {
        no_stop = true;
        sm->peer_stopped();
      } else if constexpr (std::is_same_v<T, w::file_resume_msg>) {
        on_resume_request(msg, now);
      }
    },
    m);
}

void file_sender_state::stop(std::string reason, bool tell_peer, const char* state) {
  if (ended)
    return;
  auto now = self->clock().now();
  if (!sm) {  // still hashing (or waiting for start): the service has not offered it to the peer yet
    ended = true;
    return self->quit();
  }
  if (tell_peer)
    send_line(w::serialize(w::file_stop_msg{hash}));
  sm->cancel(reason);
  finish(now, state, file_name + " to " + p.user + ": " + reason, std::string_view{state} != "cancelled");
}

caf::behavior file_sender(caf::stateful_actor<file_sender_state>* self, file_sender_params p) {
  auto& st = self->state;
  st.self = self;
  st.p = std::move(p);
  self->monitor(st.p.service);
  self->set_down_handler([self](caf::down_msg&) { self->state.stop("the node stopped", true, "failed"); });
  return {
    [self](xfer_prepare_atom) -> caf::result<bool, std::string, std::string, std::uint64_t, std::string> {
      auto& st = self->state;
      if (auto err = st.open_file()) {
        self->quit();
        return {false, *err, std::string{}, std::uint64_t{0}, std::string{}};
      }
      if (st.p.lazy_hash) {
        // No hashing before the offer: a random id names the transfer. Sent to ourselves so that it reaches the
        // service after this reply, as a hash from the pool would.
        Botan::AutoSeeded_RNG rng;
        self->send(self, xfer_hash_atom::value, true, crypto::make_transfer_id(rng));
      } else {
        st.start_hashing();
      }
      return {true, std::string{}, st.file_name, st.size, st.file.identity()};
    },
    [self](xfer_hash_atom, bool ok, const std::string& hash_or_error) { self->state.on_hashed(ok, hash_or_error); },
    [self](xfer_prefix_atom, std::uint64_t offset, const std::string& digest) {
      self->state.on_prefix_hash(offset, digest, self->clock().now());
    },
    [self](xfer_content_atom, bool ok, const std::string& digest) {
      self->state.on_content_hash(ok, digest, self->clock().now());
    },
    [self](xfer_offer_atom) {
      auto& st = self->state;
      auto now = self->clock().now();
      st.sm.emplace(st.size, st.p.mokaccino_peer ? t::peer_mode::extended : t::peer_mode::legacy, now, st.p.lazy_hash,
                    st.p.chunk);
      st.file.set_chunk_bytes(st.sm->chunk_bytes());
      if (st.p.lazy_hash && st.size == 0) {  // nothing to read: the hash of no bytes is ready now
        st.content_hash = source_file::empty_digest();
        st.sm->on_hash_ready(now);
      }
      st.progress.begin(now);
      st.send_init();
      st.next_init_resend = now + limits::file_init_resend;
      st.emit("Offering " + st.file_name + " (" + human_bytes(static_cast<double>(st.size)) + ") to " + st.p.user,
              now);
      st.arm(now);
    },
    [self](peer_msg_atom, w::message& m) { self->state.on_messages({&m, 1}); },
    [self](peer_msg_atom, wire_batch& batch) { self->state.on_messages(batch); },
    [self](tick_atom, std::uint64_t gen) {
      auto& st = self->state;
      if (!st.sm || st.ended)
        return;
      if (gen == st.armed_gen)
        st.armed = steady::time_point::max();
      auto now = self->clock().now();
      auto timeouts = st.sm->timeout_count();
      st.sm->on_tick(now);
      if (st.p.mokaccino_peer && st.sm->timeout_count() > timeouts)
        self->send(st.p.session, path_suspect_atom::value);  // nothing got through: has the path shrunk?
      if (st.resends_init() && st.sm->state() == t::sender_state::pending && now >= st.next_init_resend) {
        st.send_init();  // §10 FIX: FILEINIT is retransmitted until accepted
        st.next_init_resend = now + limits::file_init_resend;
      }
      st.after_input(now);
    },
    [self](file_cancel_atom, const std::string& reason) { self->state.stop(reason, true, "cancelled"); },
    [self](peer_gone_atom, const std::string&) { self->state.stop("the peer disconnected", false, "failed"); },
  };
}

}  // namespace mk::file_sender_detail

namespace mk {

caf::actor spawn_file_sender(caf::actor_system& sys, file_sender_params p) {
  return sys.spawn(file_sender_detail::file_sender, std::move(p));
}

}  // namespace mk
