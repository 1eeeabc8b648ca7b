#pragma once
// Per-transfer congestion control in bytes (Issue "File transfers": adapt to the path instead of the original's
// fixed 10-chunk window, PROTOCOL §10/§14). Three parts:
// - RTT estimation and RTO as in RFC 6298 (floor limits::transfer_min_rto, cap limits::transfer_max_rto,
//   exponential backoff on timeout until a new sample arrives);
// - Reno-style slow start / additive increase / multiplicative decrease (halve at most once per round trip:
//   losses of data sent before the last decrease are part of the same event, as in QUIC);
// - a LEDBAT-style delay signal: queuing delay = current RTT (min of the last few samples) - min RTT. Growth is
//   scaled by (target - queuing) / target, so it stops at the target and shrinks above it: a transfer yields
//   before it fills the queue that pings and chat share;
// - optionally (`loss_tolerant`, between mokaccino nodes) the delay signal also tells random loss from congestion,
//   as TCP Veno does: a loss while the queue is nearly empty (queuing delay < target / 4) cuts the window by a fifth
//   instead of half, and with the queue that empty congestion avoidance grows by an eighth of the window per round
//   trip instead of one chunk. Reno's one-chunk growth and halving hold a 1 % lossy 40 ms path to ~12 chunks in
//   flight (0.3 MB/s) however fast the path is; once a queue builds, both return to Reno's.

#include <array>
#include <cstddef>
#include <optional>

#include "core/limits.hpp"
#include "core/transfer/types.hpp"

namespace mk::transfer {

struct congestion_config {
  std::size_t initial_cwnd = limits::legacy_window_chunks * chunk_size;  // the original's window: safe start
  std::size_t min_cwnd = limits::transfer_min_cwnd_chunks * chunk_size;
  std::size_t max_cwnd = limits::transfer_max_window;
  duration target_delay = limits::transfer_target_delay;
  bool loss_tolerant = false;  // see above: a loss with an empty queue is taken for random loss
};

class rtt_estimator {
 public:
  // RFC 6298 §2.2/2.3; also clears any backoff. With `now`, the base delay forgets samples older than two base
  // windows (see base_delay()); without, it is the minimum ever seen.
  void on_sample(duration rtt, std::optional<time_point> now = std::nullopt);
  void on_timeout();                // RFC 6298 §5.5: double the RTO (capped)
  duration rto() const noexcept { return rto_; }
  std::optional<duration> srtt() const noexcept { return srtt_; }
  duration rttvar() const noexcept { return rttvar_; }
  std::optional<duration> min_rtt() const noexcept { return min_rtt_; }
  // LEDBAT's base delay (RFC 6817 §3.4.2: a minimum over recent intervals, not forever): the minimum of the current
  // and the previous base window. A path whose RTT rises (a route change) is thereby re-learnt within two windows;
  // against the minimum ever seen, its extra delay would read as a standing queue and starve the transfer.
  std::optional<duration> base_delay() const;
  std::optional<duration> latest() const noexcept { return latest_; }
  // min of the last limits::transfer_delay_filter samples (LEDBAT's filter against ACK-timing noise)
  std::optional<duration> current_delay() const;

 private:
  std::optional<duration> srtt_, min_rtt_, latest_;
  std::optional<duration> base_now_, base_before_;  // minimum of the current and of the previous base window
  std::optional<time_point> base_started_;
  duration rttvar_{};
  duration rto_ = limits::transfer_initial_rto;
  std::array<duration, limits::transfer_delay_filter> recent_{};
  std::size_t recent_count_ = 0, recent_pos_ = 0;
};

class congestion {
 public:
  explicit congestion(congestion_config cfg = {});

  // A new RTT measurement (Karn: only from data that was sent once), taken at `now` if given (base delay expiry).
  void on_rtt_sample(duration rtt, std::optional<time_point> now = std::nullopt) { rtt_.on_sample(rtt, now); }
  // `bytes` newly acknowledged, of data first sent at `sent`.
  void on_ack(std::size_t bytes, time_point sent);
  // Data sent at `sent` was declared lost at `now`. Returns true if this started a new decrease.
  bool on_loss(time_point sent, time_point now);
  // The retransmission timer fired: back off the RTO, fall back to min_cwnd and slow start.
  void on_timeout(time_point now);

  // Caps the window (a fair share of the peer's budget, see sender::set_window_cap), never below min_cwnd nor
  // above the configured maximum. A window above the new cap shrinks to it; growth resumes under a raised cap.
  void set_cap(std::size_t bytes);
  std::size_t cap() const noexcept { return cap_; }

  std::size_t cwnd() const noexcept { return cwnd_; }
  std::size_t ssthresh() const noexcept { return ssthresh_; }
  bool in_slow_start() const noexcept { return cwnd_ < ssthresh_; }
  const rtt_estimator& rtt() const noexcept { return rtt_; }
  duration rto() const noexcept { return rtt_.rto(); }
  duration queuing_delay() const;  // 0 until measured
  // loss_tolerant: RTT samples exist and the queue they show is below a quarter of the target.
  bool queue_empty() const;

  // Pacing helper: the gap to leave between datagrams of `bytes` so that cwnd is spread over one srtt
  // (0 before the first sample). The actor may use it to avoid bursts; the state machines don't need it.
  duration pacing_interval(std::size_t bytes) const;

 private:
  void clamp();

  congestion_config cfg_;
  rtt_estimator rtt_;
  std::size_t cap_;    // current ceiling: cfg_.max_cwnd unless set_cap() lowered it
  double cwnd_exact_;  // fractional growth accumulates here
  std::size_t cwnd_;
  std::size_t ssthresh_;
  std::optional<time_point> recovery_start_;  // data sent at or before this belongs to the last loss event
};

// The window cap of one of `senders` transfers to the same peer: an even split of limits::transfer_peer_window,
// at least limits::transfer_min_share. The split keeps a few transfers fair (their delay-based windows alone
// drift apart: at 512 KiB caps 16 transfers finished 3 s to 11 s apart); the floor keeps hundreds efficient.
std::size_t peer_window_share(std::uint32_t senders);

}  // namespace mk::transfer
