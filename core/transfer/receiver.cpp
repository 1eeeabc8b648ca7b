#include "core/transfer/receiver.hpp"

#include <algorithm>

#include "core/limits.hpp"

namespace mk::transfer {

receiver::receiver(std::uint64_t size, peer_mode mode, time_point now, bool lazy_hash, std::uint64_t start)
    : size_(size), mode_(mode), next_(std::min(start, size)), held_(limits::transfer_max_ranges), last_data_(now),
      last_ack_(now), first_unacked_(now), last_acked_next_(next_), lazy_(lazy_hash) {
  if (next_ == size_) data_done(now);  // §10 FIX: a zero-byte file is complete at once (the original ACKs 0 forever)
}

// Every byte is in: complete, or first the lazy hash's verification.
void receiver::data_done(time_point now) {
  last_data_ = now;  // the verification timeout runs from here
  if (lazy_) {
    state_ = receiver_state::verifying;
    return;
  }
  state_ = receiver_state::complete;
  final_acks_left_ = limits::transfer_final_ack_repeats;
}

bool receiver::on_hash_announced(std::string sha384, time_point) {
  if (!lazy_ || state_ == receiver_state::failed || (announced_ && *announced_ != sha384)) return false;
  announced_ = std::move(sha384);
  return true;
}

void receiver::on_computed_hash(std::string_view sha384, time_point now) {
  if (!verification_due()) return;
  if (sha384 != *announced_) {
    state_ = receiver_state::failed;
    reason_ = "hash mismatch: the data received does not match the SHA-384 the sender announced; file discarded";
    return;
  }
  state_ = receiver_state::complete;
  final_acks_left_ = limits::transfer_final_ack_repeats;
  last_ack_ = now;
}

void receiver::cancel(std::string reason) {
  if (state_ != receiver_state::receiving && state_ != receiver_state::verifying) return;
  state_ = receiver_state::failed;
  reason_ = std::move(reason);
}

void receiver::mark_sent(time_point now) {
  last_ack_ = now;
  last_acked_next_ = next_;
  changed_ = false;
  unacked_chunks_ = 0;
}

ack_info receiver::ack_state() const {
  ack_info a;
  a.next = next_;
  if (mode_ == peer_mode::extended) a.ranges = held_.lowest(limits::max_sack_ranges);
  return a;
}

chunk_verdict receiver::on_chunk(std::uint64_t offset, std::uint64_t length, time_point now) {
  chunk_verdict v;
  if (state_ == receiver_state::failed) return v;
  // PROTOCOL §10: offsets are multiples of 1024, FIX: inside the file, and the length follows the size rule. A
  // mokaccino sender may use larger chunks and split one for a smaller path (MKCAPS `pmtu1`): any piece of up to
  // max_chunk_size bytes inside the file.
  if (offset >= size_) {
    v.error = "offset " + std::to_string(offset) + " is not below the size " + std::to_string(size_);
    return v;
  }
  if (mode_ == peer_mode::extended) {
    if (length == 0 || length > max_chunk_size || length > size_ - offset) {
      v.error = "piece at " + std::to_string(offset) + " has " + std::to_string(length) + " bytes";
      return v;
    }
  } else if (offset % chunk_size != 0) {
    v.error = "offset " + std::to_string(offset) + " is not a multiple of 1024";
    return v;
  } else if (std::uint64_t expected = chunk_length(size_, offset); length != expected) {
    v.error = "chunk at " + std::to_string(offset) + " has " + std::to_string(length) + " bytes, expected " +
              std::to_string(expected);
    return v;
  }
  std::uint64_t end = offset + length;
  if (data_complete() || end <= next_ || held_.contains(offset, end)) {
    // PROTOCOL §10: a duplicate chunk is answered at once; after completion it means our final ACK was lost.
    ++duplicates_;
    v.ack_now = true;
    v.duplicate = true;
    mark_sent(now);
    return v;
  }
  if (offset > next_ && offset - next_ >= limits::transfer_reorder_window) return v;  // too far ahead: resent later
  last_data_ = now;
  bool in_order = offset <= next_;  // (below it: a piece that overlaps what is held, split differently this time)
  if (offset < next_) v.skip = next_ - offset;
  if (in_order) {
    next_ = held_.advance(end);
  } else if (held_.insert(offset, end) == range_set::insert_result::full) {
    return v;  // bounded memory: not stored, it will come again
  }
  v.store = true;
  if (!changed_) first_unacked_ = now;
  changed_ = true;
  ++unacked_chunks_;
  if (next_ == size_) {
    data_done(now);
    v.ack_now = true;
  } else if (mode_ == peer_mode::legacy) {
    // PROTOCOL §10 acks at next >= last_acked + 10240; acking at half the original's window keeps it streaming.
    // One immediate ACK per hole acts as the duplicate ACK that makes the original resend the missing chunk.
    if (next_ >= last_acked_next_ + limits::legacy_window_chunks * chunk_size / 2) v.ack_now = true;
    if (!in_order && hole_acked_for_ != next_) {
      hole_acked_for_ = next_;
      v.ack_now = true;
    }
  } else {
    // Extended: report out-of-order arrivals and filled holes at once (fast loss detection), otherwise every
    // few chunks.
    if (!in_order || next_ > end || unacked_chunks_ >= limits::transfer_ack_every_chunks) v.ack_now = true;
  }
  if (v.ack_now) mark_sent(now);
  return v;
}

std::optional<ack_info> receiver::on_tick(time_point now) {
  switch (state_) {
    case receiver_state::failed: return std::nullopt;
    case receiver_state::complete:
      if (final_acks_left_ > 0 && now - last_ack_ >= limits::file_ack_interval) {
        --final_acks_left_;
        mark_sent(now);
        return ack_state();
      }
      return std::nullopt;
    case receiver_state::verifying:
      if (now - last_data_ >= limits::transfer_stall_timeout) {
        state_ = receiver_state::failed;
        reason_ = "the sender did not announce the file's SHA-384 within " +
                  std::to_string(limits::transfer_stall_timeout.count()) + " s of the last byte; file discarded";
      }
      return std::nullopt;
    case receiver_state::receiving: break;
  }
  if (now - last_data_ >= limits::transfer_stall_timeout) {
    state_ = receiver_state::failed;
    reason_ = "no data for " + std::to_string(limits::transfer_stall_timeout.count()) + " s at byte " +
              std::to_string(next_) + " of " + std::to_string(size_);
    return std::nullopt;
  }
  bool due = mode_ == peer_mode::legacy
                 ? now - last_ack_ >= limits::file_ack_interval  // §10: even if nothing changed
                 : (changed_ && now - first_unacked_ >= limits::transfer_ack_delay) ||
                       now - last_ack_ >= limits::transfer_ack_heartbeat;
  if (!due) return std::nullopt;
  mark_sent(now);
  return ack_state();
}

time_point receiver::next_deadline() const {
  switch (state_) {
    case receiver_state::failed: return time_point::max();
    case receiver_state::complete:
      return final_acks_left_ > 0 ? last_ack_ + limits::file_ack_interval : time_point::max();
    case receiver_state::verifying: return last_data_ + limits::transfer_stall_timeout;
    case receiver_state::receiving: break;
  }
  time_point t = last_data_ + limits::transfer_stall_timeout;
  if (mode_ == peer_mode::legacy) return std::min(t, last_ack_ + limits::file_ack_interval);
  t = std::min(t, last_ack_ + limits::transfer_ack_heartbeat);
  if (changed_) t = std::min(t, first_unacked_ + limits::transfer_ack_delay);
  return t;
}

}  // namespace mk::transfer
