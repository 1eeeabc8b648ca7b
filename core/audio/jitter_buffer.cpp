#include "core/audio/jitter_buffer.hpp"

#include <algorithm>

namespace mk::audio {

using std::chrono::duration_cast;
using std::chrono::microseconds;

jitter_buffer::jitter_buffer(jitter_config cfg)
    : cfg_(cfg),
      frame_dur_(microseconds{std::int64_t{cfg.frame_samples} * 1'000'000 / std::max(cfg.sample_rate, 1)}) {
  if (frame_dur_.count() <= 0) frame_dur_ = microseconds{1};
  // At least one frame of storage, however small max_delay is.
  max_frames_ = std::max<std::size_t>(1, static_cast<std::size_t>(cfg_.max_delay / frame_dur_));
  update_stats();
}

void jitter_buffer::reset() {
  const auto cfg = cfg_;
  *this = jitter_buffer{cfg};
}

void jitter_buffer::start_stream(std::uint32_t seq, time_point now) {
  slots_.clear();
  history_ = 0;
  next_ = seq;
  have_stream_ = true;
  playing_ = false;
  ever_played_ = false;
  refill_since_ = now;
  surplus_.restart();
}

void jitter_buffer::advance(std::size_t frames) {
  for (std::size_t i = 0; i < frames; ++i) {
    bool had = false;
    if (!slots_.empty()) {
      had = slots_.front().has_value();
      slots_.pop_front();
    }
    history_ = (history_ << 1) | (had ? 1u : 0u);
    ++next_;  // uint32 wraps by definition: seq wraparound needs nothing more
  }
}

// Discards the oldest frame to bound latency: a packet there is "dropped", a hole there is a lost frame.
void jitter_buffer::drop_front() {
  if (!slots_.empty() && slots_.front()) {
    ++stats_.dropped;
  } else {
    ++stats_.lost;
  }
  advance(1);
}

void jitter_buffer::note_transit(std::uint32_t ts, time_point now) {
  // Unwrap ts by signed differences, so reordering and the 2^32 wrap both just work.
  if (!have_ts_) {
    ext_ts_ = 0;
    have_ts_ = true;
  } else {
    ext_ts_ += static_cast<std::int32_t>(ts - last_ts_);
  }
  last_ts_ = ts;
  const auto arrival = duration_cast<microseconds>(now.time_since_epoch()).count();
  const std::int64_t media = ext_ts_ * 1'000'000 / std::max(cfg_.sample_rate, 1);
  transits_[transit_pos_] = arrival - media;
  transit_pos_ = (transit_pos_ + 1) % transit_window;
  transit_count_ = std::min(transit_count_ + 1, transit_window);
}

std::size_t jitter_buffer::target_frames() const noexcept {
  const auto ceil_frames = [&](microseconds d) {
    return static_cast<std::size_t>((d.count() + frame_dur_.count() - 1) / frame_dur_.count());
  };
  const std::size_t lo = std::max<std::size_t>(1, ceil_frames(cfg_.min_delay));
  std::size_t t = ceil_frames(cfg_.start_delay);
  // Ten arrivals are needed before the spread means anything; until then use the start target.
  if (transit_count_ >= 10) t = ceil_frames(stats_.jitter) + 1;
  return std::clamp(t, lo, max_frames_);
}

void jitter_buffer::update_stats() {
  if (transit_count_ > 0) {
    const auto [mn, mx] = std::minmax_element(transits_.begin(), transits_.begin() + transit_count_);
    stats_.jitter = microseconds{*mx - *mn};
  } else {
    stats_.jitter = microseconds{0};
  }
  stats_.depth = slots_.size();
  stats_.target_delay = frame_dur_ * static_cast<std::int64_t>(target_frames());
}

insert_result jitter_buffer::insert(std::uint32_t seq, std::uint32_t ts, std::span<const std::uint8_t> packet,
                                    time_point now) {
  if (packet.empty() || packet.size() > limits::max_audio_packet) {
    ++stats_.invalid;
    return insert_result::invalid;
  }
  ++stats_.received;
  auto result = insert_result::accepted;

  if (!have_stream_) {
    start_stream(seq, now);
  } else {
    const auto diff = static_cast<std::int32_t>(seq - next_);
    const auto jump = static_cast<std::uint32_t>(diff < 0 ? -static_cast<std::int64_t>(diff) : diff);
    const bool long_gap = now - last_arrival_ >= cfg_.resync_gap && slots_.empty() && diff != 0;
    if (jump >= cfg_.resync_seq || long_gap) {
      // A restarted sender or a new talk spurt after a long silence: start over, forget the old jitter.
      ++stats_.resyncs;
      transit_count_ = 0;
      have_ts_ = false;
      start_stream(seq, now);
      result = insert_result::resync;
    }
  }
  last_arrival_ = now;
  note_transit(ts, now);

  auto diff = static_cast<std::int32_t>(seq - next_);
  if (diff < 0) {
    const auto behind = static_cast<std::size_t>(-static_cast<std::int64_t>(diff));
    if (!ever_played_ && slots_.size() + behind <= max_frames_) {
      // Reordered before the first playout: extend the stream backwards.
      for (std::size_t i = 0; i < behind; ++i) slots_.emplace_front();
      next_ = seq;
      diff = 0;
    } else {
      const bool seen = behind <= 64 && ((history_ >> (behind - 1)) & 1u) != 0;
      if (seen) {
        ++stats_.duplicates;
        update_stats();
        return insert_result::duplicate;
      }
      ++stats_.late;
      update_stats();
      return insert_result::late;
    }
  }
  auto pos = static_cast<std::size_t>(diff);
  if (pos < slots_.size() && slots_[pos]) {
    ++stats_.duplicates;
    update_stats();
    return insert_result::duplicate;
  }
  if (pos >= max_frames_) {
    // Bounded latency: the newest packet wins, the oldest frames go.
    const std::size_t excess = pos - max_frames_ + 1;
    for (std::size_t i = 0; i < excess; ++i) drop_front();
    pos -= excess;
  }
  if (slots_.empty() && !playing_) refill_since_ = now;
  if (pos >= slots_.size()) slots_.resize(pos + 1);
  slots_[pos].emplace(packet.begin(), packet.end());
  update_stats();
  return result;
}

playout jitter_buffer::pop_frame(time_point now) {
  playout out;
  if (!have_stream_) return out;
  if (!playing_) {
    const std::size_t target = target_frames();
    const bool waited = now - refill_since_ >= frame_dur_ * static_cast<std::int64_t>(target - 1);
    if (slots_.empty() || (slots_.size() < target && !waited)) {
      update_stats();
      return out;
    }
    // Frames whose packets never came while refilling were already covered by the player's underrun output.
    while (!slots_.front()) {
      ++stats_.lost;
      advance(1);
    }
    playing_ = true;
    ever_played_ = true;
  }
  if (slots_.empty()) {
    ++stats_.underruns;
    playing_ = false;
    surplus_.restart();
    out.kind = playout_kind::underrun;
    out.seq = next_;
    update_stats();
    return out;
  }
  out.seq = next_;
  if (slots_.front()) {
    out.kind = playout_kind::packet;
    out.packet = std::move(*slots_.front());
    ++stats_.played;
  } else {
    ++stats_.lost;
    if (slots_.size() >= 2 && slots_[1]) {
      out.kind = playout_kind::fec;
      out.packet = *slots_[1];
      ++stats_.fec;
    } else {
      out.kind = playout_kind::conceal;
      ++stats_.concealed;
    }
  }
  advance(1);

  // Standing delay (standing_delay.hpp): the target already includes one frame of margin, so a window whose
  // tightest moment still left `target` frames waiting sheds one.
  if (surplus_.shed_due(slots_.size(), target_frames() - 1)) drop_front();
  update_stats();
  return out;
}

}  // namespace mk::audio
