#include "actors/file_sender.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include <botan/auto_rng.h>
#include <caf/all.hpp>

#include "actors/hash_pool.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/source_file.hpp"
#include "actors/transfer_progress.hpp"
#include "actors/transfer_service.hpp"
#include "core/crypto/file_hash.hpp"
#include "core/crypto/random.hpp"
#include "core/limits.hpp"
#include "core/transfer/sender.hpp"
#include "core/wire/base64.hpp"
#include "core/wire/messages.hpp"

namespace mk {

namespace {

namespace w = mk::wire;
namespace t = mk::transfer;
using steady = std::chrono::steady_clock;

struct file_sender_state {
  static inline const char* name = "mk.file_sender";

  caf::stateful_actor<file_sender_state>* self = nullptr;
  file_sender_params p;
  source_file file;
  std::uint64_t size = 0;
  std::string hash;  // the transfer id: the content's SHA-384, or (lazy hash) 48 random bytes
  std::string file_name;
  // lazy hash: the content hash, computed from the read-ahead blocks in file order (or, resuming, by the pool)
  std::string content_hash;
  std::shared_ptr<std::atomic<bool>> hash_cancelled = std::make_shared<std::atomic<bool>>(false);

  std::optional<t::sender> sm;
  steady::time_point next_init_resend{};
  std::uint64_t timer_gen = 0;
  std::uint64_t armed_gen = 0;
  steady::time_point armed = steady::time_point::max();
  transfer_progress progress;
  bool ended = false;
  bool no_stop = false;  // FILESTOP already sent, or the peer sent one: do not send (another)

  bool counted = false;  // counted in p.share->sending

  // Resume (FILERESUME, issue 15): the receiver's prefix is being checked against the file by the hash pool, which
  // then also hashes the whole file (the data sent starts in the middle, so it cannot be hashed as it is read).
  bool resume_checking = false;
  std::optional<std::uint64_t> resumed_at;  // decided: the data starts here (0: the prefix did not match)
  std::uint64_t resume_offset = 0;
  std::string resume_digest;
  bool pool_hashes_content = false;

  ~file_sender_state() {
    hash_cancelled->store(true, std::memory_order_relaxed);
    leave_share();
  }

  void leave_share() {
    if (counted)
      p.share->sending.fetch_sub(1, std::memory_order_relaxed);
    counted = false;
  }

  // This transfer's fair share of the peer's in-flight budget.
  void apply_share() {
    if (!counted) {
      p.share->sending.fetch_add(1, std::memory_order_relaxed);
      counted = true;
    }
    sm->set_window_cap(t::peer_window_share(p.share->sending.load(std::memory_order_relaxed)));
  }

  // -- preparing: open and hash -------------------------------------------------------------------------------

  std::optional<std::string> open_file() {
    auto err = file.open(p.path);
    size = file.size();
    file_name = file.name();
    return err;
  }

  // The whole file to the hash pool (on a dup of our descriptor); `content`/`report_at`: see hash_pool::job.
  // False if the file cannot be duplicated.
  bool submit_hash_job(bool content = false, std::uint64_t report_at = 0) {
    int copy = file.dup();
    if (copy < 0)
      return false;
    hash_pool::job j;
    j.fd = copy;
    j.size = size;
    j.path = p.path.string();
    j.cancelled = hash_cancelled;
    j.reply_to = self->address();
    j.content = content;
    j.report_at = report_at;
    p.hashing->submit(std::move(j));
    return true;
  }

  void start_hashing() {
    if (!submit_hash_job())
      on_hashed(false, "Cannot read " + p.path.string() + ": " + std::strerror(errno));
  }

  void on_hashed(bool ok, const std::string& hash_or_error) {
    if (ended)
      return;
    if (!ok) {
      self->send(p.service, xfer_hashed_atom::value, false, hash_or_error);
      ended = true;
      return self->quit();
    }
    hash = hash_or_error;
    progress.info = transfer_info{hash, file_name, p.user, true, "pending", size, 0, 0, -1};
    progress.info.folder = p.folder;
    self->send(p.service, xfer_hashed_atom::value, true, hash);
  }

  // -- sending ----------------------------------------------------------------------------------------------

  void send_line(std::string line) { self->send(p.session, send_line_atom::value, std::move(line)); }

  void send_init() {
    if (p.lazy_hash && !p.folder_id.empty())
      send_line(w::serialize(w::folder_file_msg{p.folder_id, hash, size, p.folder_path}));
    else if (p.lazy_hash)
      send_line(w::serialize(w::file_offer_msg{hash, size, file_name}));
    else
      send_line(w::serialize(w::file_init_msg{hash, size, file_name}));
  }

  // FILEHASH once the last new chunk is out, repeated (by the state machine's timer) until the receiver answers.
  void announce(steady::time_point now) {
    if (!sm->hash_announcement_due(now))
      return;
    send_line(w::serialize(w::file_hash_msg{hash, content_hash}));
    bool first = sm->announcements() == 0;
    sm->hash_announced(now);
    if (first)
      emit("Announced the SHA-384 of " + file_name + " to " + p.user, now);
  }

  // §10 FIX, between mokaccino nodes only: the receiver's service ignores a repeated FILEINIT while it asks its user.
  // An original asks its user once per FILEINIT (issue 12: the second question took the next typed line as its
  // answer), so toward it the offer goes exactly once; the accept timeout still ends an unanswered one.
  bool resends_init() const { return p.mokaccino_peer && !resume_checking; }

  // FILERESUME: the receiver holds [0, offset) of an interrupted transfer of this file and names its SHA-384.
  void on_resume_request(const w::file_resume_msg& m, steady::time_point now) {
    if (resumed_at)  // our FILEFROM was lost
      return send_line(w::serialize(w::file_from_msg{hash, *resumed_at}));
    if (resume_checking || !p.lazy_hash || sm->state() != t::sender_state::pending)
      return;
    resume_checking = true;
    pool_hashes_content = true;
    resume_offset = std::min(m.offset, size);
    resume_digest = m.sha384;
    sm->answered(now);
    if (resume_offset == 0)
      decide_resume(0, now);
    if (!submit_hash_job(true, resume_offset))
      sm->cancel("cannot read " + p.path.string() + ": " + std::strerror(errno));
  }

  // The prefix's hash is known (or there is none): send from the receiver's offset, or all of it again.
  void decide_resume(std::uint64_t offset, steady::time_point now) {
    if (resumed_at || !sm || sm->state() != t::sender_state::pending)
      return;
    resumed_at = offset;
    sm->resume_at(offset, now);
    send_line(w::serialize(w::file_from_msg{hash, offset}));
    progress.begin(now);
    progress.info.resumed_from = offset;
    if (offset > 0)
      emit("Resuming " + file_name + " to " + p.user + " at " + human_bytes(static_cast<double>(offset)) + " of " +
             human_bytes(static_cast<double>(size)) + " (the rest of an interrupted transfer)",
           now);
    else if (resume_offset > 0)
      emit(file_name + " to " + p.user + ": the receiver's partial copy does not match the file (changed since, or "
                                          "damaged): sending all of it again",
           now);
  }

  void on_prefix_hash(std::uint64_t offset, const std::string& digest, steady::time_point now) {
    if (!resume_checking || offset != resume_offset)
      return;
    decide_resume(digest == resume_digest ? offset : 0, now);
    after_input(now);
  }

  void on_content_hash(bool ok, const std::string& digest, steady::time_point now) {
    if (!sm || ended)
      return;
    if (!ok) {
      sm->cancel(digest);
    } else if (content_hash.empty()) {
      content_hash = digest;
      sm->on_hash_ready(now);
    }
    after_input(now);
  }

  // The bytes of a chunk (lazy hash: new data is hashed as it is read, unless the pool hashes the file).
  std::optional<std::span<const std::uint8_t>> chunk_bytes(const t::chunk& c, steady::time_point now) {
    const bool hash_here = p.lazy_hash && !pool_hashes_content && content_hash.empty();
    auto bytes = file.read_chunk(c.offset, c.length, c.retransmission, hash_here ? &content_hash : nullptr);
    if (hash_here && !content_hash.empty())
      sm->on_hash_ready(now);
    return bytes;
  }

  void pump(steady::time_point now) {
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

  void arm(steady::time_point now) {
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

  void emit(std::string text, steady::time_point now, bool error = false) {
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

  void after_input(steady::time_point now) {
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

  void finish(steady::time_point now, const char* state, std::string text, bool error) {
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

  // Routed traffic, one message or a batch: handled at one instant, then one reaction for all of it
  // (one pump for all the ACKs).
  void on_messages(std::span<w::message> msgs) {
    if (!sm || ended)
      return;
    auto now = steady::now();
    const bool was_pending = sm->state() == t::sender_state::pending;
    for (auto& m : msgs)
      on_message(m, now);
    if (was_pending && sm->state() != t::sender_state::pending)
      progress.begin(now);  // issue 16: the rate counts from the acceptance, not from the offer
    after_input(now);
  }

  void on_message(w::message& m, steady::time_point now) {
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

  // The user cancelled, or the node is going away: tell the peer.
  void stop(std::string reason, bool tell_peer, const char* state) {
    if (ended)
      return;
    auto now = steady::now();
    if (!sm) {  // still hashing (or waiting for start): the service has not offered it to the peer yet
      ended = true;
      return self->quit();
    }
    if (tell_peer)
      send_line(w::serialize(w::file_stop_msg{hash}));
    sm->cancel(reason);
    finish(now, state, file_name + " to " + p.user + ": " + reason, std::string_view{state} != "cancelled");
  }
};

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
      self->state.on_prefix_hash(offset, digest, steady::now());
    },
    [self](xfer_content_atom, bool ok, const std::string& digest) {
      self->state.on_content_hash(ok, digest, steady::now());
    },
    [self](start_atom) {
      auto& st = self->state;
      auto now = steady::now();
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
      auto now = steady::now();
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

}  // namespace

caf::actor spawn_file_sender(caf::actor_system& sys, file_sender_params p) {
  return sys.spawn(file_sender, std::move(p));
}

}  // namespace mk
