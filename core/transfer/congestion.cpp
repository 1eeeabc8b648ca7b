#include "core/transfer/congestion.hpp"

#include <algorithm>

namespace mk::transfer {
namespace {
constexpr duration clock_granularity = std::chrono::milliseconds(1);  // RFC 6298 G
// LEDBAT keeps ten 1-minute minima (RFC 6817); a file transfer lives seconds to minutes, so two short windows: a
// route change is followed within 10 s, while a queue the transfer itself keeps stays below the target.
constexpr duration base_window = std::chrono::seconds(5);
}

// -- rtt_estimator --

void rtt_estimator::on_sample(duration rtt, std::optional<time_point> now) {
  if (rtt < duration::zero()) return;
  latest_ = rtt;
  if (!min_rtt_ || rtt < *min_rtt_) min_rtt_ = rtt;
  if (now && (!base_started_ || *now - *base_started_ >= base_window)) {
    // a new base window; one idle for two windows or more leaves nothing behind it
    base_before_ = base_started_ && *now - *base_started_ < 2 * base_window ? base_now_ : std::nullopt;
    base_now_.reset();
    base_started_ = *now;
  }
  if (!base_now_ || rtt < *base_now_) base_now_ = rtt;
  recent_[recent_pos_] = rtt;
  recent_pos_ = (recent_pos_ + 1) % recent_.size();
  recent_count_ = std::min(recent_count_ + 1, recent_.size());
  if (!srtt_) {
    srtt_ = rtt;
    rttvar_ = rtt / 2;
  } else {
    duration diff = *srtt_ > rtt ? *srtt_ - rtt : rtt - *srtt_;
    rttvar_ = (3 * rttvar_ + diff) / 4;
    srtt_ = (7 * *srtt_ + rtt) / 8;
  }
  rto_ = std::clamp<duration>(*srtt_ + std::max(clock_granularity, 4 * rttvar_), limits::transfer_min_rto,
                              limits::transfer_max_rto);
}

void rtt_estimator::on_timeout() { rto_ = std::min<duration>(rto_ * 2, limits::transfer_max_rto); }

std::optional<duration> rtt_estimator::base_delay() const {
  if (!base_started_) return min_rtt_;  // no times given: the minimum ever seen
  if (base_before_ && *base_before_ < *base_now_) return base_before_;
  return base_now_;
}

std::optional<duration> rtt_estimator::current_delay() const {
  if (recent_count_ == 0) return std::nullopt;
  return *std::min_element(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(recent_count_));
}

// -- congestion --

congestion::congestion(congestion_config cfg)
    : cfg_(cfg), cap_(cfg.max_cwnd), cwnd_exact_(static_cast<double>(cfg.initial_cwnd)), cwnd_(cfg.initial_cwnd),
      ssthresh_(cfg.max_cwnd) {
  cfg_.min_cwnd = std::max<std::size_t>(cfg_.min_cwnd, chunk_size);
  cfg_.max_cwnd = std::max(cfg_.max_cwnd, cfg_.min_cwnd);
  cap_ = cfg_.max_cwnd;
  clamp();
}

void congestion::set_cap(std::size_t bytes) {
  cap_ = std::clamp(bytes, cfg_.min_cwnd, cfg_.max_cwnd);
  clamp();
}

duration congestion::queuing_delay() const {
  auto cur = rtt_.current_delay();
  auto base = rtt_.base_delay();
  return cur && base && *cur > *base ? *cur - *base : duration::zero();
}

bool congestion::queue_empty() const {
  return cfg_.loss_tolerant && rtt_.current_delay() && queuing_delay() * 4 < cfg_.target_delay;
}

void congestion::on_ack(std::size_t bytes, time_point sent) {
  if (recovery_start_ && sent <= *recovery_start_) return;  // still recovering from the last loss event
  double target = static_cast<double>(cfg_.target_delay.count());
  double queued = static_cast<double>(queuing_delay().count());
  if (in_slow_start()) {
    if (queued > target / 2) {
      ssthresh_ = cwnd_;  // the queue is building: leave slow start before it overshoots (HyStart-like)
    } else {
      cwnd_exact_ += static_cast<double>(bytes);
      clamp();
      return;
    }
  }
  // Congestion avoidance: one chunk per cwnd acknowledged, scaled by the LEDBAT off-target factor.
  double off_target = target > 0 ? std::clamp((target - queued) / target, -1.0, 1.0) : 1.0;
  double per_byte = static_cast<double>(chunk_size) / cwnd_exact_;  // one chunk per window acknowledged
  if (queue_empty())
    per_byte = std::max(per_byte, 1.0 / 8);  // an eighth of the window per round trip (see the header)
  cwnd_exact_ += off_target * static_cast<double>(bytes) * per_byte;
  clamp();
}

bool congestion::on_loss(time_point sent, time_point now) {
  if (recovery_start_ && sent <= *recovery_start_) return false;  // same event: halve once per round trip
  // A loss with an empty queue is random (loss_tolerant only): a fifth off, not half.
  ssthresh_ = std::max(queue_empty() ? cwnd_ - cwnd_ / 5 : cwnd_ / 2, cfg_.min_cwnd);
  cwnd_exact_ = static_cast<double>(ssthresh_);
  recovery_start_ = now;
  clamp();
  return true;
}

void congestion::on_timeout(time_point now) {
  rtt_.on_timeout();
  ssthresh_ = std::max(cwnd_ / 2, cfg_.min_cwnd);
  cwnd_exact_ = static_cast<double>(cfg_.min_cwnd);
  recovery_start_ = now;
  clamp();
}

duration congestion::pacing_interval(std::size_t bytes) const {
  auto srtt = rtt_.srtt();
  if (!srtt || cwnd_ == 0) return duration::zero();
  return duration(static_cast<duration::rep>(static_cast<double>(srtt->count()) * static_cast<double>(bytes) /
                                             static_cast<double>(cwnd_)));
}

std::size_t peer_window_share(std::uint32_t senders) {
  return std::max(limits::transfer_peer_window / std::max<std::uint32_t>(1, senders), limits::transfer_min_share);
}

void congestion::clamp() {
  cwnd_exact_ = std::clamp(cwnd_exact_, static_cast<double>(cfg_.min_cwnd), static_cast<double>(cap_));
  cwnd_ = static_cast<std::size_t>(cwnd_exact_);
}

}  // namespace mk::transfer
