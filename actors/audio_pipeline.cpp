#include "actors/audio_pipeline.hpp"

#include <algorithm>

#include "core/audio/vad.hpp"
#include "core/limits.hpp"
#include "core/wire/messages.hpp"

namespace mk {

namespace {

using namespace std::chrono;

constexpr int rate = limits::audio_sample_rate;
// After this many concealed legacy frames (20 ms) Opus has faded out anyway: play plain silence.
constexpr int max_legacy_plc = 8;

}  // namespace

result<audio_pipeline> audio_pipeline::create(std::unique_ptr<audio_io::source> src,
                                              std::unique_ptr<audio_io::sink> snk, bool send_modern, int threshold,
                                              clock::time_point now, int complexity) {
  auto enc = audio::opus_encoder::create(send_modern ? audio::profile::modern : audio::profile::legacy, -1,
                                         complexity);
  if (!enc)
    return std::move(enc).error();
  return audio_pipeline{std::move(src), std::move(snk), std::move(*enc), send_modern, threshold, now, complexity};
}

audio_pipeline::audio_pipeline(std::unique_ptr<audio_io::source> src, std::unique_ptr<audio_io::sink> snk,
                               audio::opus_encoder enc, bool modern, int threshold, clock::time_point now,
                               int complexity)
    : src_(std::move(src)),
      snk_(std::move(snk)),
      enc_(std::move(enc)),
      modern_(modern),
      threshold_(threshold),
      complexity_(complexity),
      t0_(now),
      frame_(static_cast<std::size_t>(enc_.frame_samples())) {}

// -- receive ------------------------------------------------------------------------------------------------

void audio_pipeline::on_audio(std::span<const std::uint8_t> packet, clock::time_point) {
  if (!legacy_rx_) {
    auto dec = audio::opus_decoder::create(audio::profile::legacy);
    if (!dec)
      return;
    legacy_dec_.emplace(std::move(*dec));
    legacy_rx_.emplace();
  }
  rx_ = rx_kind::legacy;  // the peer's latest format is what we play
  ++stats_.packets_received;
  if (!legacy_rx_->push(packet))
    ++stats_.packets_rejected;
}

void audio_pipeline::on_voice(std::uint32_t seq, std::uint32_t ts, std::span<const std::uint8_t> packet,
                              clock::time_point now) {
  // A peer that sends VOICE speaks the modern format. If the call started before its MKCAPS reached us (a call
  // placed right after connecting), we chose the original's 2.5 ms AUDIO: switch our sending to 20 ms frames too.
  if (!modern_) {
    if (auto enc = audio::opus_encoder::create(audio::profile::modern, -1, complexity_)) {
      enc_ = std::move(*enc);
      modern_ = true;
      frame_.assign(static_cast<std::size_t>(enc_.frame_samples()), 0);
    }
  }
  if (!modern_rx_) {
    auto rx = audio::voice_receiver::create();
    if (!rx)
      return;
    modern_rx_.emplace(std::move(*rx));
  }
  rx_ = rx_kind::modern;
  ++stats_.packets_received;
  auto r = modern_rx_->insert(seq, ts, packet, now);
  if (r != audio::insert_result::accepted && r != audio::insert_result::resync)
    ++stats_.packets_rejected;
}

// -- the clock ------------------------------------------------------------------------------------------------

std::int64_t audio_pipeline::due_samples(clock::time_point now) const noexcept {
  if (now <= t0_)
    return 0;
  return duration_cast<microseconds>(now - t0_).count() * rate / 1'000'000;
}

int audio_pipeline::play_frame_samples() const noexcept {
  if (rx_ == rx_kind::modern)
    return modern_rx_->frame_samples();
  // Before the peer's first packet play short silence frames: the first real frame then starts within a tick of
  // its arrival, instead of up to 20 ms later at an arbitrary frame boundary (latency, issue target < 60 ms).
  return limits::legacy_frame_samples;
}

void audio_pipeline::count_rejected(std::uint64_t n) noexcept {
  stats_.packets_received += n;
  stats_.packets_rejected += n;
}

// How late a playback frame may be handed to the sink so that it shares the wake-up of the next capture tick.
// Only while modern frames flow (during a start or refill the jitter buffer is asked every 2.5 ms, so playout starts
// promptly) and only between clock-paced ends: a device sink is drained in real time and a device source is polled
// anyway. The sink's timeline (played_) does not move, so the latency a WAV output shows is unchanged, and a late
// pop only gives the jitter buffer more time. (Early pops were tried: they took that margin away and underran.)
audio_pipeline::clock::duration audio_pipeline::play_slack() const noexcept {
  const bool flowing = rx_ == rx_kind::modern && modern_rx_->playing();
  if (!flowing || src_->device_paced() || snk_->device_paced())
    return clock::duration::zero();
  return microseconds{static_cast<std::int64_t>(frame_.size()) * 1'000'000 / rate};
}

void audio_pipeline::tick(clock::time_point now, std::vector<std::string>& out) {
  const auto due = due_samples(now);
  const auto max_lag = static_cast<std::int64_t>(duration_cast<microseconds>(limits::audio_max_catch_up).count()) *
                       rate / 1'000'000;
  const auto fs = static_cast<std::int64_t>(frame_.size());

  // Capture: a frame is ready once its last sample has been "recorded" (clock-paced) or the device has it.
  if (src_->device_paced()) {
    while (src_->read(frame_))
      capture_frame(out);
  } else {
    if (due - captured_ > max_lag) {  // a stall: skip rather than burst a backlog onto the wire
      auto skip = (due - captured_ - fs) / fs * fs;
      stats_.skipped_samples += static_cast<std::uint64_t>(skip);
      captured_ += skip;
      ts_ += static_cast<std::uint32_t>(skip);
    }
    while (captured_ + fs <= due) {
      src_->read(frame_);
      captured_ += fs;
      capture_frame(out);
    }
  }

  // Playback: a frame is written when its first sample is due (the sink's timeline is the call's clock).
  if (due - played_ > max_lag) {
    auto skip = due - played_ - max_lag;
    stats_.skipped_samples += static_cast<std::uint64_t>(skip);
    std::vector<std::int16_t> zeros(static_cast<std::size_t>(skip), 0);  // keep a WAV timeline continuous
    snk_->write(zeros);
    played_ += skip;
  }
  while (played_ <= due)
    play_frame(now);
}

audio_pipeline::clock::time_point audio_pipeline::next_wake(clock::time_point now) const {
  auto at = [this](std::int64_t sample) { return t0_ + microseconds{sample * 1'000'000 / rate}; };
  const auto capture = at(captured_ + static_cast<std::int64_t>(frame_.size()));
  const auto play = at(played_);
  // The capture tick serves the next playback frame too if it comes within the frame's slack.
  const auto next = capture <= play + play_slack() ? capture : std::min(capture, play);
  return std::max(next, now + limits::audio_tick_floor);
}

// -- capture -------------------------------------------------------------------------------------------------

void audio_pipeline::capture_frame(std::vector<std::string>& out) {
  ++stats_.frames_captured;
  const auto ts = ts_;
  ts_ += static_cast<std::uint32_t>(frame_.size());
  // §9: voice activation (threshold 0 = always send)
  if (!audio::should_send(frame_, threshold_)) {
    ++stats_.frames_suppressed;
    return;
  }
  auto packet = enc_.encode(frame_);
  if (!packet) {
    ++stats_.encode_errors;
    return;
  }
  stats_.bytes_sent += packet->size();
  ++stats_.packets_sent;
  if (modern_)
    out.push_back(wire::serialize(wire::voice_msg{seq_++, ts, std::move(*packet)}));
  else  // §9: one 60-byte packet per AUDIO
    out.push_back(wire::serialize(wire::audio_msg{std::move(*packet)}));
}

// -- playback ------------------------------------------------------------------------------------------------

std::vector<std::int16_t> audio_pipeline::legacy_frame() {
  const auto fs = static_cast<std::size_t>(limits::legacy_frame_samples);
  std::vector<std::int16_t> pcm;
  // The FIFO holds the prebuffer back and sheds standing excess delay (legacy_fifo.hpp): nullopt means conceal.
  if (auto p = legacy_rx_->pop()) {
    if (auto d = legacy_dec_->decode(*p); d && !d->empty()) {
      pcm = std::move(*d);
      legacy_decoded_any_ = true;
      legacy_underrun_run_ = 0;
    }
  }
  // §14 FIX: the original played silence for a missing packet; we conceal a short gap.
  if (pcm.empty() && legacy_decoded_any_ && legacy_underrun_run_ < max_legacy_plc) {
    ++legacy_underrun_run_;
    if (auto d = legacy_dec_->decode_plc(static_cast<int>(fs)))
      pcm = std::move(*d);
  }
  pcm.resize(fs, 0);
  return pcm;
}

void audio_pipeline::play_frame(clock::time_point now) {
  std::vector<std::int16_t> pcm;
  if (rx_ == rx_kind::modern) {
    auto progress = [](const audio::jitter_stats& j) { return j.played + j.lost + j.underruns; };
    const auto before = progress(modern_rx_->stats());
    pcm = modern_rx_->next_frame(now);
    // While the jitter buffer waits (start or refill) it consumes nothing: play only 2.5 ms of that and ask again
    // soon, so playout starts within a tick of the buffer being ready instead of up to a whole frame later.
    if (progress(modern_rx_->stats()) == before)
      pcm.resize(static_cast<std::size_t>(limits::legacy_frame_samples));
  } else if (rx_ == rx_kind::legacy)
    pcm = legacy_frame();
  else
    pcm.assign(static_cast<std::size_t>(play_frame_samples()), 0);
  snk_->write(pcm);
  played_ += static_cast<std::int64_t>(pcm.size());
  ++stats_.frames_played;
}

// -- end and reports -----------------------------------------------------------------------------------------

result<void> audio_pipeline::finish() {
  if (finished_)
    return {};
  finished_ = true;
  return snk_->finish();
}

audio::jitter_stats audio_pipeline::jitter() const { return modern_rx_ ? modern_rx_->stats() : audio::jitter_stats{}; }

audio::legacy_fifo_stats audio_pipeline::legacy() const {
  return legacy_rx_ ? legacy_rx_->stats() : audio::legacy_fifo_stats{};
}

std::string audio_pipeline::describe() const {
  return std::string{modern_ ? "20 ms VOICE frames" : "legacy 2.5 ms AUDIO frames"} + ", input " + src_->describe() +
         ", output " + snk_->describe();
}

}  // namespace mk
