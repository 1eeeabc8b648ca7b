#pragma once
// The sending side of one file transfer as a deterministic state machine (PROTOCOL §10, Issue "File transfers").
// The actor owns the socket, the file and the timer; it drives this object:
//   1. construct it when FILEINIT goes out;
//   2. feed every valid FILEACK to on_ack() and every selective ACK to on_sack(); call on_tick() when the timer
//      fires;
//   3. after each of those calls, send next_chunk() until it returns nothing, then arm the timer for
//      next_deadline();
//   4. when state() becomes failed, send FILESTOP (unless the peer cancelled); when done, drop the object. An ACK
//      for a hash that no longer exists (a late accept after the accept timeout) is answered with FILESTOP.
//
// Modes: `legacy` (an original receiver: cumulative ACKs only) detects loss by duplicate ACK and NewReno partial
// ACKs. An original ACKs at once only every 10240 bytes, on completion and on a duplicate chunk; otherwise on its
// 100 ms timer. So a lone retransmission would be answered only by that timer (one hole per 100 ms: the collapse of
// issue 12); each retransmission round is therefore followed by an ACK probe, the chunk just below the ACK point,
// which the receiver holds for sure and answers at once; so is a quiet spell of data in flight without ACKs (a
// hole the original would report only on its timer). Its window is capped at limits::legacy_max_window_chunks:
// the original's own sender never has more than 10 chunks in flight, and a larger burst overflows its socket
// buffer (the kernel default) and loses the tail of the burst.
// `extended` (a mokaccino receiver) uses the SACK ranges and RACK-style time-based loss detection. In both,
// the retransmission timer (RFC 6298) fires at most once per RTO, backs off exponentially, and after it only one
// chunk is in flight until an ACK arrives: never the original's 10 ms resend storm (§14). The window adapts through
// `congestion` instead of the original's fixed 10 chunks, bounded by limits::transfer_max_window.
//
// Lazy hash (MKCAPS `lazyhash`, between mokaccino nodes): the offer (FILEOFFER) names the transfer by a random id
// and goes out before the content is hashed; the actor hashes the new data as it reads it (in file order) and
// calls on_hash_ready() once it has read the last byte. When the hash is ready and the last new chunk is out,
// hash_announcement_due() says to send FILEHASH, repeated every RTO (backing off) until the receiver answers.
// Once all data is acknowledged the sender waits in `verifying` for that answer: FILEHASH with the SHA-384 of the
// file it saved (on_verdict(): equal -> done), or FILESTOP (peer_stopped(): it discarded the data).

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <span>
#include <string>

#include "core/transfer/congestion.hpp"
#include "core/transfer/range_set.hpp"
#include "core/transfer/types.hpp"

namespace mk::transfer {

enum class sender_state {
  pending,  // FILEINIT sent, waiting for FILEACK 0
  sending,
  verifying,  // lazy hash: all data acknowledged, waiting for the receiver's verdict on the announced SHA-384
  done,     // FILEACK size received
  failed,   // see failure_reason()
};

const char* to_string(sender_state s) noexcept;

struct chunk {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool retransmission = false;  // not new data: read it on its own
  bool ack_probe = false;       // legacy: an already acknowledged chunk, sent to make the receiver ACK at once
  bool operator==(const chunk&) const = default;
};

class sender {
 public:
  // `now` is when FILEINIT was sent; the accept timeout (limits::file_accept_timeout) runs from it. `chunk`: the
  // bytes per chunk, 1024 (§10) unless the peer takes larger ones (MKCAPS `pmtu1`: the datagram budget its path
  // allows); toward an original always 1024.
  sender(std::uint64_t size, peer_mode mode, time_point now, bool lazy_hash = false, std::uint64_t chunk = chunk_size);

  // FILEACK <next>. Returns false if it was ignored: PROTOCOL §10 requires next to be a multiple of 1024 or the
  // size, and at most the bytes sent; stale (lower than the acked point) and wrong-state ACKs are ignored too.
  // FILEACK 0 while pending accepts the transfer (and completes a zero-byte one).
  bool on_ack(std::uint64_t next, time_point now);
  // Selective ACK: cumulative `next` plus [begin,end) ranges held above it. Invalid ranges are skipped. Receiving
  // one switches a legacy sender to extended mode (the peer evidently speaks it).
  bool on_sack(std::uint64_t next, std::span<const byte_range> ranges, time_point now);
  // FILEDUP <offset> (extended): the receiver got that chunk twice. If it was one of our loss-driven
  // retransmissions, the loss was spurious: the path reorders at least as far as the original came late, and the
  // reordering window grows to cover that (DSACK's role in RFC 8985 §6.2). Anything else is ignored.
  void on_duplicate(std::uint64_t offset, time_point now);
  // Resume (MKCAPS `resume1`): the receiver holds [0, offset) already (the actor checked its SHA-384). While
  // pending this accepts the transfer with everything below `offset` acknowledged; chunks then start at `offset`.
  // False (ignored) if not pending or offset > size.
  bool resume_at(std::uint64_t offset, time_point now);
  // The receiver asked to resume (FILERESUME) and the actor is checking the prefix it holds: the accept timeout
  // no longer applies; the check must end within limits::transfer_stall_timeout.
  void answered(time_point now);
  std::uint64_t resumed_from() const noexcept { return base_; }
  // Timers: accept timeout, stall timeout, retransmission timeout, RACK reordering timer.
  void on_tick(time_point now);
  // The chunk to send now (a retransmission first, else new data), if the congestion window allows one.
  std::optional<chunk> next_chunk(time_point now);
  // When on_tick() must next be called (time_point::max() once finished).
  time_point next_deadline() const;
  // Fairness among the transfers to one peer: the actor passes this transfer's share of the peer's in-flight
  // budget (limits::transfer_peer_window / transfers sending to the peer); the window never exceeds it.
  void set_window_cap(std::size_t bytes) { cc_.set_cap(bytes); }
  // The transfer ends (FILESTOP received, user cancel, peer disconnected).
  void cancel(std::string reason);
  // FILESTOP from the receiver: refused (pending), cancelled, or (lazy hash, after FILEHASH) the file discarded.
  void peer_stopped();

  // -- lazy hash --
  // The actor has hashed the whole file (in file order, as it read it for sending).
  void on_hash_ready(time_point now);
  // FILEHASH should go out now; call hash_announced() when it did.
  bool hash_announcement_due(time_point now) const;
  void hash_announced(time_point now);
  // The receiver's FILEHASH (it saved the file): `match` = its SHA-384 equals ours. Returns false if ignored (not
  // lazy, not yet announced, or already finished).
  bool on_verdict(bool match, time_point now);

  // -- queries --
  sender_state state() const noexcept { return state_; }
  const std::string& failure_reason() const noexcept { return reason_; }
  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t acked_bytes() const noexcept { return acked_; }   // cumulative point
  std::uint64_t sent_bytes() const noexcept { return high_sent_; }  // highest new byte sent
  std::uint64_t retransmit_count() const noexcept { return retransmits_; }
  std::uint64_t probe_count() const noexcept { return probes_; }
  // Extended: retransmissions whose original was acknowledged (reordering taken for loss), and the reordering
  // window learned from them (RACK's, on top of min_rtt / 4).
  std::uint64_t spurious_count() const noexcept { return spurious_; }
  // Extended: tail loss probes sent (RFC 8985 §7: the last chunk resent after 2 SRTT without an ACK, so that a
  // lost tail is found by the SACK it draws instead of waiting for the RTO).
  std::uint64_t tail_probe_count() const noexcept { return tail_probes_; }
  duration reorder_window() const noexcept { return reorder_window_; }
  std::uint64_t timeout_count() const noexcept { return timeouts_; }
  std::size_t bytes_in_flight() const noexcept { return in_flight_; }
  peer_mode mode() const noexcept { return mode_; }
  std::uint64_t chunk_bytes() const noexcept { return chunk_; }
  bool lazy_hash() const noexcept { return lazy_; }
  std::uint64_t announcements() const noexcept { return announcements_; }
  const transfer::congestion& congestion() const noexcept { return cc_; }

 private:
  struct record {
    time_point sent;
    time_point first_sent;  // the original transmission (sent is the latest)
    std::uint64_t seq = 0;  // send order, to break ties between chunks sent at the same instant
    bool in_flight = false;
    bool sacked = false;
    bool lost = false;  // queued for retransmission
    bool retransmitted = false;
    bool tail_probe = false;  // resent by the tail loss probe, not because it was found lost
    bool timed_out = false;   // resent after a retransmission timeout (its duplicate says nothing of reordering)
  };
  // A loss-driven retransmission, remembered after the chunk leaves the window until FILEDUP may name it.
  struct resent_chunk {
    std::uint64_t offset;
    time_point first_sent;
  };

  std::uint64_t base_ = 0;  // chunks start here (a resumed transfer's first byte), every chunk_ bytes after it
  std::uint64_t offset_of(std::size_t index) const { return acked_ + index * chunk_; }
  std::uint64_t length_at(std::uint64_t offset) const { return chunk_length(size_, offset, chunk_); }
  record* find(std::uint64_t offset);
  bool valid_ack(std::uint64_t next) const;
  std::uint64_t chunk_floor(std::uint64_t offset) const;  // the start of the chunk holding offset (size at the end)
  void advance(std::uint64_t next, time_point now);
  void delivered(std::uint64_t offset, record& r, time_point now);
  void mark_lost(std::uint64_t offset, record& r, time_point now);
  void legacy_loss_checks(bool duplicate, time_point now);
  void rack_detect(time_point now);
  void learn_reordering(std::uint64_t offset, time_point now);
  void on_rto(time_point now);
  void fail(std::string reason);
  void all_acked(time_point now);
  time_point announce_deadline() const;
  duration reorder_guard() const;
  time_point rto_deadline() const;
  duration legacy_path_delay() const;
  time_point probe_deadline() const;
  time_point tail_probe_deadline() const;

  std::uint64_t size_;
  peer_mode mode_;
  std::uint64_t chunk_;
  sender_state state_ = sender_state::pending;
  std::string reason_;
  transfer::congestion cc_;

  std::uint64_t acked_ = 0;      // cumulative point (multiple of 1024, or size)
  std::uint64_t high_sent_ = 0;  // new data frontier
  std::deque<record> window_;    // chunk i covers offset acked_ + i*chunk_
  std::set<std::uint64_t> lost_;  // offsets to retransmit, lowest first
  std::size_t in_flight_ = 0;
  std::uint64_t next_seq_ = 0;

  time_point started_;
  time_point accept_deadline_;  // pending: fail then (the accept timeout, or a resume check that never ended)
  bool answered_ = false;
  time_point last_progress_;
  time_point rto_anchor_;
  bool probe_only_ = false;  // after an RTO: one chunk in flight until an ACK arrives
  bool ack_probe_due_ = false;  // legacy: a retransmission went out (or the probe timer fired): an ACK probe follows
  time_point probe_anchor_;      // legacy: the last ACK or probe
  int probe_backoff_ = 0;        // legacy: probes in a row without an ACK

  // legacy: NewReno recovery
  bool in_recovery_ = false;
  std::uint64_t recover_ = 0;

  // extended: RACK (RFC 8985, simplified)
  struct send_event {
    std::uint64_t offset;
    std::uint64_t seq;
  };
  std::deque<send_event> send_order_;
  std::optional<std::uint64_t> rack_seq_;
  time_point rack_sent_;
  duration rack_rtt_{};
  std::optional<time_point> rack_deadline_;
  duration reorder_window_{};
  std::deque<resent_chunk> resent_;  // the latest loss-driven retransmissions (bounded: limits below)
  time_point last_send_;          // when the latest chunk went out (the tail probe timer runs from it)
  bool tail_probed_ = false;      // one tail probe per flight: re-armed by ACK progress

  std::uint64_t retransmits_ = 0;
  std::uint64_t timeouts_ = 0;
  std::uint64_t probes_ = 0;
  std::uint64_t spurious_ = 0;
  std::uint64_t tail_probes_ = 0;

  // lazy hash
  bool lazy_ = false;
  bool hash_ready_ = false;
  bool verdict_match_ = false;   // a matching verdict came before the last ACK
  std::uint64_t announcements_ = 0;
  time_point next_announce_;
  int announce_backoff_ = 0;
};

}  // namespace mk::transfer
