#include "actors/file_receiver.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/part_file.hpp"
#include "actors/transfer_progress.hpp"
#include "actors/transfer_service.hpp"
#include "core/limits.hpp"
#include "core/transfer/receiver.hpp"
#include "core/wire/messages.hpp"

namespace mk {

namespace {

namespace w = mk::wire;
namespace t = mk::transfer;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

struct receiver_state {
  static inline const char* name = "mk.file_receiver";

  caf::stateful_actor<receiver_state>* self = nullptr;
  file_receiver_params p;
  part_file file;        // the .part being written (or, checking a saved file of a resumed folder, that file)
  fs::path part_path;    // the .part (with its record), while it exists and is ours to remove
  fs::path final_path;
  std::optional<t::receiver> sm;
  std::string digest;  // SHA-384 of the received data, once it is all in
  bool verified = false;
  bool ended = false;
  bool ack_due = false;
  std::uint64_t timer_gen = 0, armed_gen = 0;
  steady::time_point armed = steady::time_point::max();
  transfer_progress progress;

  // Resume (issue 15)
  t::resume_record record;          // what the .part.resume beside the .part says
  std::uint64_t checkpointed = 0;   // record.verified as last written
  steady::time_point next_checkpoint{};
  bool keep_partial = false;        // interrupted: the .part and its record stay for a later resume
  bool awaiting_from = false;       // FILERESUME sent; the data starts when FILEFROM says where
  std::uint64_t prefix = 0;         // the bytes of the partial file offered in FILERESUME
  steady::time_point resend_resume{}, resume_deadline{};

  ~receiver_state() { discard(); }

  bool checking_saved() const { return !p.existing.empty(); }

  // Closes the file and removes the .part (and its record) unless it was already linked under its final name or
  // is kept to resume. A saved file being checked is never removed.
  void discard() {
    file.close();
    if (!part_path.empty() && !keep_partial) {
      remove_partial(part_path);
      part_path.clear();
    }
  }

  // The record follows the data: the write buffer goes to the file before the record says it holds more. At an
  // interruption (`force`) both are synced to disk; while data flows they are not (see write_resume_record).
  void checkpoint(steady::time_point now, bool force) {
    if (!p.resumable || !file.is_open() || part_path.empty() || awaiting_from)
      return;
    const auto hashed = file.hashed();
    if (!force && now < next_checkpoint && hashed < checkpointed + limits::resume_checkpoint_bytes)
      return;
    next_checkpoint = now + limits::resume_checkpoint_interval;
    if (hashed == checkpointed && !force)
      return;
    if (!(force ? file.sync() : file.flush()))
      return;
    record.verified = hashed;
    record.updated = unix_now();
    if (write_resume_record(part_path, record, force))
      checkpointed = hashed;
  }

  std::optional<std::string> open_part() {
    auto err = file.create(p.dir, p.name);
    if (!err)
      part_path = file.path();
    return err;
  }

  std::string io_error(const char* what) { return std::string{what} + std::strerror(errno); }

  // -- protocol ---------------------------------------------------------------------------------------------

  void send_line(std::string line) { self->send(p.session, send_line_atom::value, std::move(line)); }

  void send_ack(const t::ack_info& a) {
    if (p.mokaccino_peer)
      send_line(w::serialize(w::file_sack_msg{p.hash, a.next, a.ranges}));
    else
      send_line(w::serialize(w::file_ack_msg{p.hash, a.next}));
  }

  void emit(std::string text, steady::time_point now, bool error = false) {
    auto e = progress.make(std::move(text), now);
    if (error)
      e.fields.emplace_back("error", "1");
    self->send(p.ctx->node, event_atom::value, std::move(e));
  }

  // `interrupted`: nothing is wrong with the data (the peer left, a cancel, a stall, the node stopping): between
  // mokaccino nodes that speak `resume1` the partial file stays, to resume when the file is offered again.
  void fail(std::string reason, bool tell_peer, const char* state = "failed", bool interrupted = false) {
    if (ended)
      return;
    ended = true;
    auto now = steady::now();
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
    if (!kept.empty())
      self->send(p.service, xfer_partial_atom::value, kept);
    self->send(p.service, xfer_final_atom::value, progress.info);
    self->quit();
  }

  // PROTOCOL §10 FIX: the hash from FILEINIT (lazy hash: from FILEHASH) is verified before the file gets its final
  // name, which never replaces an existing file. Called once every byte is in, and (lazy) when FILEHASH comes;
  // false if the transfer ended.
  bool finalize(steady::time_point now) {
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

  // The file is verified under its final name.
  bool saved(const fs::path& where, steady::time_point now, std::string text) {
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

  void on_chunk(w::file_msg& m, steady::time_point now) {
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

  // One ACK per batch of chunks: the last state says all that the earlier ones would have.
  void flush_ack() {
    if (ack_due && !ended)
      send_ack(sm->ack_state());
    ack_due = false;
  }

  // Routed traffic, one message or a batch: handled at one instant, then one reaction for all of it
  // (one ACK for all the chunks).
  void on_messages(std::span<w::message> msgs) {
    if (ended)
      return;
    auto now = steady::now();
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

  void on_message(w::message& m, steady::time_point now) {
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

  // -- resume ---------------------------------------------------------------------------------------------------

  void on_resume_answer(w::message& m, steady::time_point now) {
    if (ended || !awaiting_from)
      return;
    if (auto* f = std::get_if<w::file_from_msg>(&m)) {
      if (f->offset != 0 && f->offset != prefix)
        return fail("the sender resumed at " + std::to_string(f->offset) + ", not at an offered point", true);
      awaiting_from = false;
      if (checking_saved() && f->offset != prefix) {  // not the same file: it arrives anew, beside the saved one
        file.reset();
        p.existing.clear();
        if (auto err = open_part())
          return fail(*err, true);
        emit(p.name + " from " + p.user + ": the file saved before differs from the sender's: receiving it again "
                                          "(the saved one stays)",
             now);
      } else if (f->offset == 0 && prefix > 0) {
        if (!file.truncate())
          return fail(io_error("cannot write the file: "), true);
        emit(p.name + " from " + p.user + ": the partial copy does not match the sender's file (changed since, or "
                                          "damaged): receiving all of it again",
             now);
      }
      begin_receiving(now, f->offset);
    } else if (std::holds_alternative<w::file_stop_msg>(m)) {
      fail("cancelled by the sender", false, "cancelled", true);
    } else if (std::holds_alternative<w::file_offer_msg>(m) || std::holds_alternative<w::file_init_msg>(m)) {
      send_resume_request(now);  // the sender has not heard us yet
    }
  }

  void send_resume_request(steady::time_point now) {
    send_line(w::serialize(w::file_resume_msg{p.hash, prefix, file.prefix_digest()}));
    resend_resume = now + limits::resume_request_resend;
  }

  // Hashes the partial file's prefix a slice per turn (the actor stays responsive), then asks to resume there.
  void rehash_prefix() {
    if (ended)
      return;
    auto now = steady::now();
    if (!file.hash_upto(std::min(prefix, file.hashed() + limits::resume_rehash_slice)))
      return fail(io_error("cannot read the partial file: "), true);
    if (file.hashed() < prefix)
      return self->send(self, xfer_rehash_atom::value);
    awaiting_from = true;
    resume_deadline = now + limits::transfer_stall_timeout;
    send_resume_request(now);
    arm_at(now, resend_resume);
  }

  void resume_tick(steady::time_point now) {
    if (!awaiting_from)
      return;
    if (now >= resume_deadline)
      return fail("the sender did not answer the request to resume", true, "failed", true);
    if (now >= resend_resume)
      send_resume_request(now);
    arm_at(now, std::min(resend_resume, resume_deadline));
  }

  void arm(steady::time_point now) { arm_at(now, sm->next_deadline()); }

  void arm_at(steady::time_point now, steady::time_point when) {
    auto deadline = std::min(when, now + limits::transfer_report_interval);
    if (deadline >= armed)
      return;
    armed = deadline;
    armed_gen = ++timer_gen;
    auto delay = deadline > now ? deadline - now : steady::duration::zero();
    self->delayed_send(self, std::chrono::duration_cast<std::chrono::microseconds>(delay), tick_atom::value, armed_gen);
  }

  void after_input(steady::time_point now) {
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

  void start() {
    auto now = steady::now();
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

  // The data flows from `from` (0, or a resumed prefix): FILEACK/FILESACK <from> accepts the transfer (§10).
  void begin_receiving(steady::time_point now, std::uint64_t from) {
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

  // A partial file from an earlier attempt (or a saved file of a resumed folder): hash what it holds, then ask the
  // sender to resume there.
  void open_resumed() {
    if (checking_saved()) {
      if (auto err = file.open_existing(p.existing, false))
        return fail(*err, true);
      prefix = std::min(file.size_on_disk(), p.size);
      return rehash_prefix();
    }
    if (auto err = file.open_existing(p.resume->part, true))
      return fail(*err, true);
    part_path = p.resume->part;
    record = p.resume->record;
    prefix = std::min({record.verified, file.size_on_disk(), p.size});
    rehash_prefix();
  }
};

caf::behavior file_receiver(caf::stateful_actor<receiver_state>* self, file_receiver_params p) {
  auto& st = self->state;
  st.self = self;
  st.p = std::move(p);
  self->monitor(st.p.service);
  self->set_down_handler([self](caf::down_msg&) { self->state.fail("the node stopped", true, "failed", true); });
  self->send(self, start_atom::value);
  return {
    [self](start_atom) { self->state.start(); },
    [self](peer_msg_atom, w::message& m) { self->state.on_messages({&m, 1}); },
    [self](peer_msg_atom, wire_batch& batch) { self->state.on_messages(batch); },
    [self](xfer_rehash_atom) { self->state.rehash_prefix(); },
    [self](tick_atom, std::uint64_t gen) {
      auto& st = self->state;
      if (st.ended)
        return;
      if (gen == st.armed_gen)
        st.armed = steady::time_point::max();
      auto now = steady::now();
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

}  // namespace

caf::actor spawn_file_receiver(caf::actor_system& sys, file_receiver_params p) {
  return sys.spawn(file_receiver, std::move(p));
}

}  // namespace mk
