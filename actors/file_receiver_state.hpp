#pragma once
// The file receiver's state (actors/file_receiver.hpp says what the actor does), shared by its two source files:
// file_receiver.cpp (the transfer: chunks, ACKs, verification, the final name) and file_receiver_resume.cpp (the
// partial file kept for a later resume: checkpoints, FILERESUME/FILEFROM, the check of a saved file).

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <span>
#include <string>

#include <caf/all.hpp>

#include "actors/file_receiver.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/part_file.hpp"
#include "actors/transfer_progress.hpp"
#include "actors/transfer_service.hpp"
#include "core/limits.hpp"
#include "core/transfer/receiver.hpp"
#include "core/wire/messages.hpp"

namespace mk::file_receiver_detail {

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
  void discard();

  // The record follows the data: the write buffer goes to the file before the record says it holds more. At an
  // interruption (`force`) both are synced to disk; while data flows they are not (see write_resume_record).
  void checkpoint(steady::time_point now, bool force);

  std::optional<std::string> open_part();

  std::string io_error(const char* what) { return std::string{what} + std::strerror(errno); }

  // -- protocol ---------------------------------------------------------------------------------------------

  void send_line(std::string line) { self->send(p.session, send_line_atom::value, std::move(line)); }

  void send_ack(const t::ack_info& a);

  void emit(std::string text, steady::time_point now, bool error = false);

  // `interrupted`: nothing is wrong with the data (the peer left, a cancel, a stall, the node stopping): between
  // mokaccino nodes that speak `resume1` the partial file stays, to resume when the file is offered again.
  void fail(std::string reason, bool tell_peer, const char* state = "failed", bool interrupted = false);

  // PROTOCOL §10 FIX: the hash from FILEINIT (lazy hash: from FILEHASH) is verified before the file gets its final
  // name, which never replaces an existing file. Called once every byte is in, and (lazy) when FILEHASH comes;
  // false if the transfer ended.
  bool finalize(steady::time_point now);

  // The file is verified under its final name.
  bool saved(const fs::path& where, steady::time_point now, std::string text);

  void on_chunk(w::file_msg& m, steady::time_point now);

  // One ACK per batch of chunks: the last state says all that the earlier ones would have.
  void flush_ack();

  // Routed traffic, one message or a batch: handled at one instant, then one reaction for all of it
  // (one ACK for all the chunks).
  void on_messages(std::span<w::message> msgs);

  void on_message(w::message& m, steady::time_point now);

  // -- resume ---------------------------------------------------------------------------------------------------

  void on_resume_answer(w::message& m, steady::time_point now);

  void send_resume_request(steady::time_point now) {
    send_line(w::serialize(w::file_resume_msg{p.hash, prefix, file.prefix_digest()}));
    resend_resume = now + limits::resume_request_resend;
  }

  // Hashes the partial file's prefix a slice per turn (the actor stays responsive), then asks to resume there.
  void rehash_prefix();

  void resume_tick(steady::time_point now);

  void arm(steady::time_point now) { arm_at(now, sm->next_deadline()); }

  void arm_at(steady::time_point now, steady::time_point when);

  void after_input(steady::time_point now);

  void start();

  // The data flows from `from` (0, or a resumed prefix): FILEACK/FILESACK <from> accepts the transfer (§10).
  void begin_receiving(steady::time_point now, std::uint64_t from);

  // A partial file from an earlier attempt (or a saved file of a resumed folder): hash what it holds, then ask the
  // sender to resume there.
  void open_resumed();
};

}  // namespace mk::file_receiver_detail
