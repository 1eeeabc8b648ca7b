#include "actors/file_receiver_state.hpp"

namespace mk::file_receiver_detail {

void receiver_state::send_ack(const t::ack_info& a) {
  if (p.mokaccino_peer)
    send_line(w::serialize(w::file_sack_msg{p.hash, a.next, a.ranges}));
  else
    send_line(w::serialize(w::file_ack_msg{p.hash, a.next}));
}

void receiver_state::emit(std::string text, steady::time_point now, bool error) {
  auto e = progress.make(std::move(text), now);
  if (error)
    e.fields.emplace_back("error", "1");
  self->send(p.ctx->node, event_atom::value, std::move(e));
}

void receiver_state::fail(std::string reason, bool tell_peer, const char* state, bool interrupted) {
  if (ended)
    return;
  ended = true;
  auto now = self->clock().now();
  if (tell_peer)
    send_line(w::serialize(w::file_stop_msg{p.hash}));
  keep_partial = interrupted && p.resumable && !part_path.empty() && file.is_open();
  if (keep_partial) {
    checkpoint(now, true);
    reason += " (" + human_bytes(static_cast<double>(record.verified)) + " kept: offering it again resumes)";
  }
  auto kept = keep_partial ? part_path.string() : std::string{};
  discard();
  progress.info.state = state;
  progress.info.eta_s = -1;
  emit(p.name + " from " + p.user + ": " + reason, now, std::string_view{state} != "cancelled");
  if (!kept.empty() && p.folder.empty())  // a folder's file stays with its folder (its record is the folder's)
    self->send(p.service, xfer_partial_atom::value, kept);
  self->send(p.service, xfer_final_atom::value, progress.info);
  self->quit();
}

bool receiver_state::finalize(steady::time_point now) {
  if (verified)
    return true;
  progress.info.state = "verifying";
  if (digest.empty()) {
    if (!file.hash_upto(p.size) || (!checking_saved() && !file.flush())) {
      fail(io_error("cannot write the file: "), true);
      return false;
    }
    digest = file.final_digest();
  }
  if (p.lazy_hash) {
    if (!sm->verification_due())
      return true;  // FILEHASH has not come yet
    sm->on_computed_hash(digest, now);
    if (sm->state() == t::receiver_state::failed) {
      fail(sm->failure_reason(), true);  // FILESTOP after FILEHASH: the sender knows the file was discarded
      return false;
    }
  } else if (digest != p.hash) {
    fail("hash mismatch: the data received does not match the SHA-384 announced in FILEINIT; file discarded",
         true);
    return false;
  }
  if (checking_saved()) {  // a saved file of a resumed folder: it matched, and it keeps its name
    file.close();
    return saved(p.existing, now, "Checked " + p.name + " from " + p.user + ": saved before, the same as the "
                                                                             "sender's (not sent again)");
  }
  auto target = file.link_final(p.dir, p.name);
  if (!target) {
    fail(target.error().message, true);
    return false;
  }
  remove_partial(part_path);  // its record (the .part name is gone)
  part_path.clear();
  return saved(*target, now,
               "Received " + p.name + " from " + p.user + " (" + human_bytes(static_cast<double>(p.size)) + ", " +
                 human_bytes(progress.average_rate(now)) + "/s), saved as " + target->string());
}

bool receiver_state::saved(const fs::path& where, steady::time_point now, std::string text) {
  final_path = where;
  verified = true;
  if (p.lazy_hash) {
    // Our verdict, once the file has its name; the service remembers it to answer a late FILEHASH.
    send_line(w::serialize(w::file_hash_msg{p.hash, digest}));
    self->send(p.service, xfer_verified_atom::value, p.hash, digest);
  }
  progress.info.state = "done";
  progress.info.done = p.size;
  progress.info.eta_s = -1;
  progress.info.rate_bps = progress.average_rate(now);  // file list shows a finished transfer's average
  emit(std::move(text), now);
  progress.info.name = final_path.filename().string();
  self->send(p.service, xfer_report_atom::value, progress.info);
  return true;
}

void receiver_state::on_chunk(w::file_msg& m, steady::time_point now) {
  auto v = sm->on_chunk(m.offset, m.data.size(), now);
  if (v.error)
    return;  // breaks §10 rules: neither stored nor acknowledged
  if (v.duplicate && p.mokaccino_peer && !sm->data_complete())
    send_line(w::serialize(w::file_dup_msg{p.hash, m.offset}));  // the sender learns its path's reordering
  if (v.store) {
    const std::uint64_t at = m.offset + v.skip;
    const auto bytes = std::span<const std::uint8_t>{m.data}.subspan(static_cast<std::size_t>(v.skip));
    if (!file.write(at, bytes))
      return fail(io_error("cannot write the file: "), true);
    if (sm->next() > file.hashed() && !file.hash_upto(sm->next()))
      return fail(io_error("cannot read back the file: "), true);
  }
  if (sm->data_complete() && !verified && !finalize(now))
    return;
  ack_due = ack_due || v.ack_now;
}

void receiver_state::flush_ack() {
  if (ack_due && !ended)
    send_ack(sm->ack_state());
  ack_due = false;
}

void receiver_state::on_messages(std::span<w::message> msgs) {
  if (ended)
    return;
  auto now = self->clock().now();
  if (!sm) {  // resuming: waiting for FILEFROM (data before it is dropped; the sender resends it)
    for (auto& m : msgs)
      on_resume_answer(m, now);
    return;
  }
  for (auto& m : msgs)
    on_message(m, now);
  flush_ack();
  after_input(now);
}

void receiver_state::on_message(w::message& m, steady::time_point now) {
  if (ended)
    return;
  if (auto* f = std::get_if<w::file_msg>(&m)) {
    on_chunk(*f, now);
  } else if (std::holds_alternative<w::file_init_msg>(m) || std::holds_alternative<w::file_offer_msg>(m)) {
    ack_due = true;  // a retransmitted offer: our accept was lost
  } else if (auto* h = std::get_if<w::file_hash_msg>(&m)) {
    if (!p.lazy_hash)
      return;
    if (verified)  // our answer was lost: repeat it
      return send_line(w::serialize(w::file_hash_msg{p.hash, digest}));
    sm->on_hash_announced(h->sha384, now);
    if (sm->data_complete())
      finalize(now);
  } else if (std::holds_alternative<w::file_stop_msg>(m)) {
    if (verified) {  // the sender is done with us: nothing left to repeat
      ended = true;
      self->send(p.service, xfer_final_atom::value, progress.info);
      return self->quit();
    }
    fail("cancelled by the sender", false, "cancelled", true);
  }
}

void receiver_state::arm_at(steady::time_point now, steady::time_point when) {
  auto deadline = std::min(when, now + limits::transfer_report_interval);
  if (deadline >= armed)
    return;
  armed = deadline;
  armed_gen = ++timer_gen;
  auto delay = deadline > now ? deadline - now : steady::duration::zero();
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::microseconds>(delay), tick_atom::value, armed_gen);
}

void receiver_state::after_input(steady::time_point now) {
  if (ended)
    return;
  if (sm->state() == t::receiver_state::failed)  // a stall (or a hash mismatch, which finalize() handled first)
    return fail(sm->failure_reason(), true, "failed", true);
  checkpoint(now, false);
  if (sm->finished()) {  // verified, and the final ACK repeats are out
    ended = true;
    self->send(p.service, xfer_final_atom::value, progress.info);
    return self->quit();
  }
  if (!verified) {
    progress.info.state = sm->data_complete() ? "verifying" : "receiving";
    if (progress.update(sm->next(), now))
      self->send(p.service, xfer_report_atom::value, progress.info);
    if (progress.event_due(now))
      emit(progress.line(), now);
  }
  arm(now);
}

void receiver_state::start() {
  auto now = self->clock().now();
  progress.info = transfer_info{p.hash, p.name, p.user, false, "receiving", p.size, 0, 0, -1};
  progress.info.folder = p.folder;
  progress.begin(now);
  if (p.resume || checking_saved())
    return open_resumed();
  if (auto err = open_part())
    return fail(*err, true);
  record = t::resume_record{p.user, p.name, p.size, 0, unix_now(), unix_now()};
  if (p.resumable)
    write_resume_record(part_path, record, false);
  begin_receiving(now, 0);
}

void receiver_state::begin_receiving(steady::time_point now, std::uint64_t from) {
  progress.info.resumed_from = from;
  progress.info.done = from;
  progress.begin(now);
  sm.emplace(p.size, p.mokaccino_peer ? t::peer_mode::extended : t::peer_mode::legacy, now, p.lazy_hash, from);
  checkpointed = from;
  if (from > 0 && !checking_saved())
    emit("Resuming " + p.name + " from " + p.user + " at " + human_bytes(static_cast<double>(from)) + " of " +
           human_bytes(static_cast<double>(p.size)) + " (kept from an interrupted transfer)",
         now);
  if (sm->data_complete() && !finalize(now))  // zero bytes (or all there): complete at once (§10 FIX)
    return;
  send_ack(sm->ack_state());
  after_input(now);
}

caf::behavior file_receiver(caf::stateful_actor<receiver_state>* self, file_receiver_params p) {
  auto& st = self->state;
  st.self = self;
  st.p = std::move(p);
  self->monitor(st.p.service);
  self->set_down_handler([self](caf::down_msg&) { self->state.fail("the node stopped", true, "failed", true); });
  self->send(self, xfer_open_atom::value);
  return {
    [self](xfer_open_atom) { self->state.start(); },
    [self](peer_msg_atom, w::message& m) { self->state.on_messages({&m, 1}); },
    [self](peer_msg_atom, wire_batch& batch) { self->state.on_messages(batch); },
    [self](xfer_rehash_atom) { self->state.rehash_prefix(); },
    [self](tick_atom, std::uint64_t gen) {
      auto& st = self->state;
      if (st.ended)
        return;
      if (gen == st.armed_gen)
        st.armed = steady::time_point::max();
      auto now = self->clock().now();
      if (!st.sm)
        return st.resume_tick(now);
      if (auto a = st.sm->on_tick(now))
        st.send_ack(*a);
      st.after_input(now);
    },
    [self](file_cancel_atom, const std::string& reason) {
      auto& st = self->state;
      if (st.verified)
        return;  // already saved
      st.fail(reason, true, "cancelled", true);
    },
    [self](peer_gone_atom, const std::string&) {
      auto& st = self->state;
      if (st.verified) {
        st.ended = true;
        self->send(st.p.service, xfer_final_atom::value, st.progress.info);
        return self->quit();
      }
      st.fail("the peer disconnected", false, "failed", true);
    },
  };
}

}  // namespace mk::file_receiver_detail

namespace mk {

caf::actor spawn_file_receiver(caf::actor_system& sys, file_receiver_params p) {
  return sys.spawn(file_receiver_detail::file_receiver, std::move(p));
}

}  // namespace mk
