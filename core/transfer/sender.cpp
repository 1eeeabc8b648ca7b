#include "core/transfer/sender.hpp"

#include <algorithm>

#include "core/limits.hpp"

namespace mk::transfer {
namespace {

// The learned reordering window never delays loss detection by more than this (a path that reorders further is
// treated as lossy: its retransmissions are spurious, and counted).
constexpr duration max_reorder_window = std::chrono::milliseconds(100);
// How many loss-driven retransmissions FILEDUP may still name (the latest; ~24 bytes each). A duplicate arrives
// within the path's reordering (at most ~max_reorder_window) of the retransmission: far fewer go out meanwhile.
constexpr std::size_t resent_memory = 1024;

congestion_config config_for(peer_mode mode) {
  congestion_config cfg;
  // An original receiver ACKs only every 10 chunks or every 100 ms (§10): below 10 chunks it would stall us. Above
  // the cap a burst overflows its socket buffer (see sender.hpp).
  if (mode == peer_mode::legacy) {
    cfg.min_cwnd = limits::legacy_window_chunks * chunk_size;
    cfg.max_cwnd = limits::legacy_max_window_chunks * chunk_size;
  } else {
    cfg.loss_tolerant = true;  // a mokaccino receiver's SACKs make every RTT sample trustworthy
  }
  return cfg;
}

}  // namespace

const char* to_string(sender_state s) noexcept {
  switch (s) {
    case sender_state::pending: return "pending";
    case sender_state::sending: return "sending";
    case sender_state::verifying: return "verifying";
    case sender_state::done: return "done";
    case sender_state::failed: return "failed";
  }
  return "?";
}

sender::sender(std::uint64_t size, peer_mode mode, time_point now, bool lazy_hash, std::uint64_t chunk)
    : size_(size), mode_(mode),
      chunk_(mode == peer_mode::legacy ? chunk_size : std::clamp<std::uint64_t>(chunk, 1, max_chunk_size)),
      cc_(config_for(mode)), started_(now), accept_deadline_(now + limits::file_accept_timeout), last_progress_(now),
      rto_anchor_(now),
      lazy_(lazy_hash) {}

sender::record* sender::find(std::uint64_t offset) {
  if (offset < acked_ || offset >= high_sent_) return nullptr;
  return &window_[(offset - acked_) / chunk_];
}

bool sender::valid_ack(std::uint64_t next) const {
  // PROTOCOL §10: a multiple of 1024 or the size, and never beyond what was sent. A mokaccino receiver may hold
  // part of a chunk (pieces of a chunk split for a smaller path): any byte offset, taken down to a chunk boundary.
  if (mode_ == peer_mode::extended) return next <= high_sent_;
  return (next % chunk_size == 0 || next == size_) && next <= high_sent_;
}

std::uint64_t sender::chunk_floor(std::uint64_t offset) const {
  if (offset >= size_) return size_;
  if (offset <= base_) return base_;
  return offset - (offset - base_) % chunk_;
}

void sender::answered(time_point now) {
  if (state_ != sender_state::pending) return;
  answered_ = true;
  accept_deadline_ = now + limits::transfer_stall_timeout;
}

bool sender::resume_at(std::uint64_t offset, time_point now) {
  if (state_ != sender_state::pending || offset > size_) return false;
  base_ = acked_ = high_sent_ = offset;
  state_ = sender_state::sending;
  last_progress_ = now;
  rto_anchor_ = now;
  if (acked_ == size_) all_acked(now);
  return true;
}

duration sender::reorder_guard() const {
  // A chunk younger than one smoothed RTT may simply still be on its way.
  auto srtt = cc_.rtt().srtt();
  return srtt ? *srtt : duration(limits::transfer_min_rto);
}

time_point sender::rto_deadline() const { return rto_anchor_ + cc_.rto(); }

// The round trip of the path toward an original. Not srtt: an original ACKs many chunks only on its 100 ms timer,
// and those samples measure the timer. The least of the recent samples (an immediate ACK among them) does,
// queueing included; twice that plus a little absorbs jitter.
duration sender::legacy_path_delay() const {
  auto cur = cc_.rtt().current_delay();
  return cur ? 2 * *cur + std::chrono::milliseconds(2) : duration(limits::transfer_min_rto);
}

// Legacy: with data in flight and no ACK for this long, an ACK probe asks the original where it stands (a hole
// above which it holds everything is otherwise reported only by its 100 ms timer). Backs off while unanswered.
time_point sender::probe_deadline() const {
  if (mode_ != peer_mode::legacy || state_ != sender_state::sending || in_flight_ == 0 || acked_ == 0)
    return time_point::max();
  duration pto = std::clamp<duration>(legacy_path_delay(), limits::legacy_probe_interval, cc_.rto());
  return probe_anchor_ + std::min<duration>(pto * (1 << probe_backoff_), limits::transfer_max_rto);
}

// Extended, RFC 8985 §7 (TLP), simplified: once everything is sent, nothing is queued for retransmission and the
// ACKs stop for 2 SRTT + the receiver's ACK delay, the last chunk in flight goes again. Its SACK reveals a lost
// tail to RACK at once; without it a lost last chunk waits for the RTO (200 ms at least, 1 s before any RTT
// sample), which with 64 transfers at once cost a third of the aggregate.
time_point sender::tail_probe_deadline() const {
  if (mode_ != peer_mode::extended || state_ != sender_state::sending || in_flight_ == 0 || high_sent_ < size_ ||
      tail_probed_ || probe_only_ || !lost_.empty())
    return time_point::max();
  auto srtt = cc_.rtt().srtt();
  if (!srtt) return time_point::max();
  return std::min(std::max(last_send_, last_progress_) + 2 * *srtt + limits::transfer_ack_delay, rto_deadline());
}

void sender::fail(std::string reason) {
  state_ = sender_state::failed;
  reason_ = std::move(reason);
  window_.clear();
  lost_.clear();
  send_order_.clear();
  in_flight_ = 0;
}

void sender::cancel(std::string reason) {
  if (state_ == sender_state::done || state_ == sender_state::failed) return;
  fail(std::move(reason));
}

// -- lazy hash --

// Every byte is acknowledged: done, unless the receiver still has to judge the announced hash.
void sender::all_acked(time_point now) {
  last_progress_ = now;
  state_ = lazy_ && !verdict_match_ ? sender_state::verifying : sender_state::done;
}

void sender::on_hash_ready(time_point now) {
  if (!lazy_ || hash_ready_) return;
  hash_ready_ = true;
  next_announce_ = now;
}

time_point sender::announce_deadline() const {
  bool live = state_ == sender_state::sending || state_ == sender_state::verifying;
  return lazy_ && hash_ready_ && live && high_sent_ >= size_ ? next_announce_ : time_point::max();
}

bool sender::hash_announcement_due(time_point now) const { return now >= announce_deadline(); }

void sender::hash_announced(time_point now) {
  ++announcements_;
  // A lost FILEHASH (or a lost answer) is repeated once per RTO, backing off like a retransmission.
  next_announce_ = now + std::min<duration>(cc_.rto() * (1 << announce_backoff_), limits::transfer_max_rto);
  announce_backoff_ = std::min(announce_backoff_ + 1, 5);
}

void sender::peer_stopped() {
  if (state_ == sender_state::pending) return cancel("refused by the peer");
  // A receiver that finds a different hash removes the data and stops: FILESTOP after FILEHASH says so.
  if (lazy_ && announcements_ > 0)
    return cancel("the receiver discarded the file after the SHA-384 was announced: hash mismatch (data corrupted "
                  "in transit, or the file changed while it was sent), or cancelled there");
  cancel("cancelled by the peer");
}

bool sender::on_verdict(bool match, time_point now) {
  if (!lazy_ || announcements_ == 0) return false;
  if (state_ != sender_state::sending && state_ != sender_state::verifying) return false;
  if (!match) {  // it saved something else: only a forged or altered answer can say so
    fail("the receiver reports a SHA-384 that differs from the one announced");
    return true;
  }
  verdict_match_ = true;
  if (state_ == sender_state::verifying) state_ = sender_state::done;
  last_progress_ = now;
  return true;
}

// -- acknowledgements --

void sender::delivered(std::uint64_t offset, record& r, time_point now) {
  // Progress of any kind restarts the timers and ends the post-timeout probing.
  last_progress_ = now;
  rto_anchor_ = now;
  probe_only_ = false;
  tail_probed_ = false;
  if (!r.in_flight) return;  // it had been marked lost (or re-queued): no RTT or congestion signal from it
  in_flight_ -= length_at(offset);
  r.in_flight = false;
  // Karn: a retransmitted chunk's RTT is ambiguous, so only first transmissions give samples.
  if (!r.retransmitted) cc_.on_rtt_sample(now - r.sent, now);
  cc_.on_ack(length_at(offset), r.sent);
  // RFC 8985 §6.2 step 2: a retransmission acknowledged sooner than the path's minimum RTT cannot have been
  // delivered itself: the ACK is for the original (the loss was spurious). Taken as RACK's reference it would make
  // everything sent before the retransmission look overtaken, and lost: a storm on every reordering. Instead it
  // measures the reordering (DSACK's role in RFC 8985 §6.2): the original came this much later than the fastest
  // path would have brought it, and the reordering window grows to cover that.
  if (auto min_rtt = cc_.rtt().min_rtt(); r.retransmitted && min_rtt && now - r.sent < *min_rtt) {
    if (r.tail_probe) return;  // the probe's original arrived: expected, no sign of reordering
    learn_reordering(offset, now);
    return;
  }
  if (!rack_seq_ || r.seq > *rack_seq_) {
    rack_seq_ = r.seq;
    rack_sent_ = r.sent;
    rack_rtt_ = now - r.sent;
  }
}

// One spurious retransmission, seen either way (its ACK came too soon, or FILEDUP named it): counted once. The
// original came `late` after the fastest path would have brought it; the window grows to cover that.
void sender::learn_reordering(std::uint64_t offset, time_point now) {
  auto it = std::find_if(resent_.begin(), resent_.end(), [&](const resent_chunk& c) { return c.offset == offset; });
  if (it == resent_.end()) return;  // already learned from, or not a loss-driven retransmission
  time_point first_sent = it->first_sent;
  resent_.erase(it);
  auto min_rtt = cc_.rtt().min_rtt();
  if (!min_rtt) return;
  ++spurious_;
  duration late = now - first_sent - *min_rtt;
  reorder_window_ = std::clamp<duration>(late + late / 4, reorder_window_, max_reorder_window);
}

void sender::on_duplicate(std::uint64_t offset, time_point now) {
  if (mode_ == peer_mode::extended && state_ == sender_state::sending) learn_reordering(offset, now);
}

void sender::advance(std::uint64_t next, time_point now) {
  while (acked_ < next && !window_.empty()) {
    record& r = window_.front();
    if (r.lost) lost_.erase(acked_);
    if (!r.sacked) delivered(acked_, r, now);
    acked_ += length_at(acked_);
    window_.pop_front();
  }
}

bool sender::on_ack(std::uint64_t next, time_point now) {
  if (state_ == sender_state::pending) {
    if (next != 0) return false;
    // PROTOCOL §10: FILEACK 0 while pending = accepted. FIX: for a zero-byte file that also means done.
    state_ = sender_state::sending;
    last_progress_ = now;
    rto_anchor_ = now;
    if (size_ == 0) all_acked(now);
    return true;
  }
  if (state_ != sender_state::sending || !valid_ack(next) || next < acked_) return false;
  if (mode_ == peer_mode::extended) return on_sack(next, {}, now);
  probe_anchor_ = now;
  probe_backoff_ = 0;
  bool duplicate = next == acked_;
  advance(next, now);
  if (acked_ == size_) {
    all_acked(now);
    return true;
  }
  legacy_loss_checks(duplicate, now);
  return true;
}

void sender::legacy_loss_checks(bool duplicate, time_point now) {
  if (in_recovery_ && acked_ >= recover_) in_recovery_ = false;
  if (window_.empty()) return;
  record& head = window_.front();
  if (head.lost || !head.in_flight || now - head.sent < reorder_guard()) return;
  // PROTOCOL §10: a duplicate ACK means the chunk at the ACK point is missing; so does a partial ACK during
  // recovery (NewReno: the next hole is the new ACK point). An advancing ACK proves nothing more: it may have been
  // held back by the original's timer (or its scheduler) while the next chunk was still on its way. A hole the
  // timer reports for the first time is confirmed by the ACK probe that follows within a probe interval (the
  // duplicate ACK it draws), not by the timer's next repeat 100 ms later.
  if (duplicate || in_recovery_) {
    if (!in_recovery_) {
      in_recovery_ = true;
      recover_ = high_sent_;
    }
    mark_lost(acked_, head, now);
  }
}

bool sender::on_sack(std::uint64_t next, std::span<const byte_range> ranges, time_point now) {
  if (state_ == sender_state::pending) return on_ack(next, now);
  if (state_ != sender_state::sending || !valid_ack(next) || next < acked_) return false;
  mode_ = peer_mode::extended;
  advance(chunk_floor(next), now);
  std::size_t used = 0;
  for (auto [b, e] : ranges) {
    if (used++ >= limits::max_sack_ranges) break;
    if (!(b < e && b >= acked_ && e <= high_sent_)) continue;
    // Whole chunks only: a range may begin or end inside one (a piece of a split chunk arrived, not all of it).
    std::uint64_t first = chunk_floor(b) == b ? b : chunk_floor(b) + chunk_;
    std::uint64_t end = chunk_floor(e);
    for (std::uint64_t off = first; off < end; off += chunk_) {
      record* r = find(off);
      if (!r || r->sacked) continue;
      r->sacked = true;
      if (r->lost) {
        r->lost = false;
        lost_.erase(off);
      }
      delivered(off, *r, now);
    }
  }
  if (acked_ == size_) {
    all_acked(now);
    return true;
  }
  rack_detect(now);
  return true;
}

void sender::mark_lost(std::uint64_t offset, record& r, time_point now) {
  if (r.sacked || r.lost) return;
  if (r.in_flight) {
    in_flight_ -= length_at(offset);
    r.in_flight = false;
  }
  r.lost = true;
  lost_.insert(offset);
  cc_.on_loss(r.sent, now);
}

// RACK, simplified: a chunk is lost once a chunk sent after it has been delivered and it is older than that one by
// a reordering window (min_rtt / 4, or the reordering learned from spurious retransmissions if larger), or one RTT
// + the window has passed since it was sent.
void sender::rack_detect(time_point now) {
  rack_deadline_.reset();
  if (!rack_seq_) return;
  duration reo = std::max(cc_.rtt().min_rtt().value_or(duration::zero()) / 4, reorder_window_);
  while (!send_order_.empty()) {
    auto ev = send_order_.front();
    record* r = find(ev.offset);
    if (!r || r->sacked || r->lost || r->seq != ev.seq) {  // delivered, queued or re-sent since: stale
      send_order_.pop_front();
      continue;
    }
    if (ev.seq >= *rack_seq_) break;  // nothing sent after it is known delivered yet
    if (r->sent + reo <= rack_sent_ || now >= r->sent + rack_rtt_ + reo) {
      mark_lost(ev.offset, *r, now);
      send_order_.pop_front();
      continue;
    }
    rack_deadline_ = r->sent + rack_rtt_ + reo;
    break;
  }
}

// -- timers --

void sender::on_rto(time_point now) {
  ++timeouts_;
  cc_.on_timeout(now);
  // Everything unacknowledged is presumed lost (skipping SACKed chunks); only one chunk goes out until an ACK
  // proves the path works again, and the next timeout waits twice as long.
  for (std::size_t i = 0; i < window_.size(); ++i) {
    mark_lost(offset_of(i), window_[i], now);
    window_[i].timed_out = window_[i].lost;
  }
  send_order_.clear();
  rack_deadline_.reset();
  probe_only_ = true;
  in_recovery_ = true;
  recover_ = high_sent_;
  rto_anchor_ = now;
}

void sender::on_tick(time_point now) {
  if (state_ == sender_state::pending) {
    if (now >= accept_deadline_)
      fail(answered_ ? std::string{"the resumed transfer did not start"}
                     : "not accepted within " + std::to_string(limits::file_accept_timeout.count()) + " s");
    return;
  }
  if (state_ == sender_state::verifying) {
    if (now - last_progress_ >= limits::transfer_stall_timeout)
      fail("the receiver did not answer the announced SHA-384 for " +
           std::to_string(limits::transfer_stall_timeout.count()) + " s");
    return;
  }
  if (state_ != sender_state::sending) return;
  if (now - last_progress_ >= limits::transfer_stall_timeout) {
    fail("no acknowledgement progress for " + std::to_string(limits::transfer_stall_timeout.count()) + " s at byte " +
         std::to_string(acked_) + " of " + std::to_string(size_));
    return;
  }
  if (in_flight_ > 0 && now >= rto_deadline()) on_rto(now);
  if (rack_deadline_ && now >= *rack_deadline_) rack_detect(now);
  if (now >= tail_probe_deadline()) {
    // The highest chunk still in flight is queued again, without a congestion response (it may not be lost).
    for (std::size_t i = window_.size(); i-- > 0;) {
      record& r = window_[i];
      if (!r.in_flight || r.sacked) continue;
      std::uint64_t off = offset_of(i);
      r.in_flight = false;
      in_flight_ -= length_at(off);
      r.lost = true;
      r.tail_probe = true;
      lost_.insert(off);
      ++tail_probes_;
      break;
    }
    tail_probed_ = true;
  }
  if (now >= probe_deadline()) {
    ack_probe_due_ = true;
    probe_anchor_ = now;
    probe_backoff_ = std::min(probe_backoff_ + 1, 8);  // a dead path: ~20 probes in the 30 s before the stall
  }
}

time_point sender::next_deadline() const {
  switch (state_) {
    case sender_state::pending: return accept_deadline_;
    case sender_state::sending: {
      time_point t = last_progress_ + limits::transfer_stall_timeout;
      if (in_flight_ > 0) t = std::min(t, rto_deadline());
      if (rack_deadline_) t = std::min(t, *rack_deadline_);
      return std::min({t, tail_probe_deadline(), probe_deadline(), announce_deadline()});
    }
    case sender_state::verifying:
      return std::min(last_progress_ + limits::transfer_stall_timeout, announce_deadline());
    default: return time_point::max();
  }
}

// -- sending --

std::optional<chunk> sender::next_chunk(time_point now) {
  if (state_ != sender_state::sending) return std::nullopt;
  // Legacy: once the retransmissions that may go now are out, the ACK probe (not counted in flight: it carries
  // nothing new, and the receiver already has it). At byte 0 there is no such chunk; the 100 ms ACK must do.
  auto take_probe = [&]() -> std::optional<chunk> {
    if (!ack_probe_due_) return std::nullopt;
    ack_probe_due_ = false;
    if (acked_ == 0) return std::nullopt;
    ++probes_;
    return chunk{acked_ - chunk_size, chunk_size, true, true};  // acked_ < size: a multiple of 1024
  };
  if (probe_only_ && in_flight_ > 0) return take_probe();
  auto fits = [&](std::uint64_t len) { return in_flight_ == 0 || in_flight_ + len <= cc_.cwnd(); };
  auto start = [&](record& r, std::uint64_t offset) {
    if (in_flight_ == 0) rto_anchor_ = probe_anchor_ = now;  // RFC 6298 5.1: start the timer when data goes out
    r.sent = now;
    last_send_ = now;
    r.seq = next_seq_++;
    r.in_flight = true;
    in_flight_ += length_at(offset);
    if (mode_ == peer_mode::extended) send_order_.push_back({offset, r.seq});
  };
  if (!lost_.empty()) {
    std::uint64_t off = *lost_.begin();
    std::uint64_t len = length_at(off);
    // The hole at the ACK point blocks all progress: resend it even when a loss has just shrunk cwnd below the
    // data in flight (TCP fast retransmit). It is re-queued only by a new detection, so this cannot repeat.
    if (!fits(len) && off != acked_) return take_probe();  // retransmissions go first: no new data past a hole
    record& r = *find(off);
    lost_.erase(lost_.begin());
    r.lost = false;
    r.retransmitted = true;
    if (mode_ == peer_mode::extended && !r.tail_probe && !r.timed_out) {
      if (resent_.size() >= resent_memory) resent_.pop_front();
      resent_.push_back({off, r.first_sent});
    }
    r.timed_out = false;
    start(r, off);
    ++retransmits_;
    ack_probe_due_ = mode_ == peer_mode::legacy;
    return chunk{off, len, true};
  }
  if (auto p = take_probe()) return p;
  if (high_sent_ >= size_) return std::nullopt;
  std::uint64_t len = length_at(high_sent_);
  if (!fits(len) || high_sent_ + len - acked_ > limits::transfer_max_window) return std::nullopt;
  window_.emplace_back();
  std::uint64_t off = high_sent_;
  high_sent_ += len;
  window_.back().first_sent = now;
  start(window_.back(), off);
  return chunk{off, len, false};
}

}  // namespace mk::transfer
