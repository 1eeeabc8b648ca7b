#pragma once
// The receiving side of one file transfer as a deterministic state machine (PROTOCOL §10, Issue "File transfers").
// The actor owns the .part file, the socket and the timer:
//   1. construct it when the user accepts, and send ack_state() (FILEACK 0) at once;
//   2. for every FILE, call on_chunk(); write the bytes at the offset if `store`, and send ack_state() now if
//      `ack_now` (the receiver assumes it was sent);
//   3. when the timer fires call on_tick() and send what it returns; arm the timer for next_deadline();
//   4. once complete(), verify the hash and rename. Keep the object until finished() (it repeats FILEACK size a few
//      times so a lost final ACK cannot stall the sender), then remember the hash in a completed_transfers so that
//      a FILE arriving even later is still answered with FILEACK size (PROTOCOL §10 FIX: "a lost final ACK").
// A zero-byte file is complete at once; a late accept or a vanished sender ends in failed after
// limits::transfer_stall_timeout without data (§10 FIX: the original waits forever).
//
// Lazy hash (FILEOFFER, MKCAPS `lazyhash`): the offer carries a random id, not the hash. Once every byte is in,
// the receiver ACKs the size (the sender stops sending data) and waits in `verifying` for FILEHASH: the actor
// passes the announced SHA-384 to on_hash_announced() (it may come before the data is complete) and the SHA-384
// of what it wrote, in file order, to on_computed_hash(); equal -> complete (the actor may rename the .part),
// different -> failed. No announcement within limits::transfer_stall_timeout -> failed.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/transfer/range_set.hpp"
#include "core/transfer/types.hpp"

namespace mk::transfer {

enum class receiver_state {
  receiving,
  verifying,  // lazy hash: all data in, waiting for the announced SHA-384 and the actor's own
  complete,
  failed,
};

struct chunk_verdict {
  bool store = false;    // write these bytes at the offset
  bool ack_now = false;  // send ack_state() now
  bool duplicate = false;  // already held: between mokaccino nodes the sender hears of it (FILEDUP)
  std::uint64_t skip = 0;  // store only from offset + skip: the bytes below are already held (and hashed), and a
                           // piece that overlaps them (split differently) must not rewrite them
  std::optional<std::string> error;  // the chunk breaks §10 rules (and is neither stored nor acknowledged)
};

struct ack_info {
  std::uint64_t next = 0;           // FILEACK <next>
  std::vector<byte_range> ranges;   // extended peers only: held ranges above next, lowest first
  bool operator==(const ack_info&) const = default;
};

class receiver {
 public:
  // `start`: a resumed transfer (MKCAPS `resume1`) already holds [0, start); its data begins there.
  receiver(std::uint64_t size, peer_mode mode, time_point now, bool lazy_hash = false, std::uint64_t start = 0);

  chunk_verdict on_chunk(std::uint64_t offset, std::uint64_t length, time_point now);
  // An ACK to send now, if one is due:
  // legacy: every limits::file_ack_interval EVEN IF NOTHING CHANGED, because the original sender's only loss
  //   signal is a duplicate ACK (§10);
  // extended: after limits::transfer_ack_delay when something changed, else a heartbeat every
  //   limits::transfer_ack_heartbeat.
  // After completion: FILEACK size, limits::transfer_final_ack_repeats more times, one interval apart.
  std::optional<ack_info> on_tick(time_point now);
  time_point next_deadline() const;
  ack_info ack_state() const;
  void cancel(std::string reason);

  // -- lazy hash --
  // FILEHASH from the sender. The first announcement counts; a different later one is ignored (false).
  bool on_hash_announced(std::string sha384, time_point now);
  // The actor should compute the SHA-384 of the received data now and call on_computed_hash().
  bool verification_due() const noexcept { return state_ == receiver_state::verifying && announced_.has_value(); }
  // Compares with the announced hash: complete on a match, failed on a mismatch.
  void on_computed_hash(std::string_view sha384, time_point now);
  const std::optional<std::string>& announced_hash() const noexcept { return announced_; }

  receiver_state state() const noexcept { return state_; }
  bool complete() const noexcept { return state_ == receiver_state::complete; }
  // Every byte is in (complete, or verifying the lazy hash).
  bool data_complete() const noexcept { return complete() || state_ == receiver_state::verifying; }
  bool lazy_hash() const noexcept { return lazy_; }
  // Complete and all final ACK repeats sent: the actor may drop the object.
  bool finished() const noexcept { return complete() && final_acks_left_ == 0; }
  const std::string& failure_reason() const noexcept { return reason_; }
  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t next() const noexcept { return next_; }
  std::uint64_t received_bytes() const noexcept { return next_ + held_.bytes(); }
  std::uint64_t duplicate_count() const noexcept { return duplicates_; }

 private:
  void mark_sent(time_point now);
  void data_done(time_point now);

  std::uint64_t size_;
  peer_mode mode_;
  receiver_state state_ = receiver_state::receiving;
  std::string reason_;
  std::uint64_t next_ = 0;
  range_set held_;
  time_point last_data_;
  time_point last_ack_;
  time_point first_unacked_;               // arrival of the oldest change not yet acknowledged
  std::uint64_t last_acked_next_ = 0;
  bool changed_ = false;                 // something new since the last ACK
  std::uint64_t unacked_chunks_ = 0;     // in-order chunks since the last ACK
  std::optional<std::uint64_t> hole_acked_for_;  // legacy: `next` already reported once as a duplicate ACK
  int final_acks_left_ = 0;
  std::uint64_t duplicates_ = 0;
  bool lazy_ = false;
  std::optional<std::string> announced_;
};

}  // namespace mk::transfer
