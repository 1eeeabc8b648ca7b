#pragma once
// The file sender's state (actors/file_sender.hpp says what the actor does), shared by its two source files:
// file_sender.cpp (the transfer: offer, chunks, ACKs, the verdict) and file_sender_hashing.cpp (opening and hashing
// the file, and a resume: the receiver's prefix checked against the file by the hash pool).

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/file_sender.hpp"
#include "actors/hash_pool.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/source_file.hpp"
#include "actors/transfer_progress.hpp"
#include "actors/transfer_service.hpp"
#include "core/limits.hpp"
#include "core/transfer/sender.hpp"
#include "core/wire/messages.hpp"

namespace mk::file_sender_detail {

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

  void leave_share();

  // This transfer's fair share of the peer's in-flight budget.
  void apply_share();

  // -- preparing: open and hash -------------------------------------------------------------------------------

  std::optional<std::string> open_file();

  // The whole file to the hash pool (on a dup of our descriptor); `content`/`report_at`: see hash_pool::job.
  // False if the file cannot be duplicated.
  bool submit_hash_job(bool content = false, std::uint64_t report_at = 0);

  void start_hashing() {
    if (!submit_hash_job())
      on_hashed(false, "Cannot read " + p.path.string() + ": " + std::strerror(errno));
  }

  void on_hashed(bool ok, const std::string& hash_or_error);

  // -- sending ----------------------------------------------------------------------------------------------

  void send_line(std::string line) { self->send(p.session, send_line_atom::value, std::move(line)); }

  void send_init();

  // FILEHASH once the last new chunk is out, repeated (by the state machine's timer) until the receiver answers.
  void announce(steady::time_point now);

  // §10 FIX, between mokaccino nodes only: the receiver's service ignores a repeated FILEINIT while it asks its user.
  // An original asks its user once per FILEINIT (issue 12: the second question took the next typed line as its
  // answer), so toward it the offer goes exactly once; the accept timeout still ends an unanswered one.
  bool resends_init() const { return p.mokaccino_peer && !resume_checking; }

  // FILERESUME: the receiver holds [0, offset) of an interrupted transfer of this file and names its SHA-384.
  void on_resume_request(const w::file_resume_msg& m, steady::time_point now);

  // The prefix's hash is known (or there is none): send from the receiver's offset, or all of it again.
  void decide_resume(std::uint64_t offset, steady::time_point now);

  void on_prefix_hash(std::uint64_t offset, const std::string& digest, steady::time_point now);

  void on_content_hash(bool ok, const std::string& digest, steady::time_point now);

  // The bytes of a chunk (lazy hash: new data is hashed as it is read, unless the pool hashes the file).
  std::optional<std::span<const std::uint8_t>> chunk_bytes(const t::chunk& c, steady::time_point now);

  void pump(steady::time_point now);

  void arm(steady::time_point now);

  void emit(std::string text, steady::time_point now, bool error = false);

  void after_input(steady::time_point now);

  void finish(steady::time_point now, const char* state, std::string text, bool error);

  // Routed traffic, one message or a batch: handled at one instant, then one reaction for all of it
  // (one pump for all the ACKs).
  void on_messages(std::span<w::message> msgs);

  void on_message(w::message& m, steady::time_point now);

  // The user cancelled, or the node is going away: tell the peer.
  void stop(std::string reason, bool tell_peer, const char* state);
};

}  // namespace mk::file_sender_detail
