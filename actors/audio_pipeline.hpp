#pragma once
// The media path of one voice call (PROTOCOL §9), as a plain object driven by a clock the caller passes in:
// capture -> voice activation -> Opus -> protocol lines, and protocol packets -> jitter buffer / legacy FIFO ->
// Opus (with PLC/FEC) -> playback. The audio service actor owns one while a call is up and calls tick() on a timer;
// the benchmark drives it directly. No CAF, no sockets: what to send is returned as lines.
//
// Wire format toward the peer: a mokaccino peer (it sent MKCAPS) gets VOICE <seq> <ts> <20 ms packet>; an original
// gets AUDIO <2.5 ms packet of exactly 60 bytes> (§9 MUST). Whatever the peer sends is played.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "actors/audio_io.hpp"
#include "core/audio/legacy_fifo.hpp"
#include "core/audio/opus_codec.hpp"
#include "core/audio/voice_receiver.hpp"
#include "core/limits.hpp"
#include "core/result.hpp"

namespace mk {

struct call_stats {
  std::uint64_t frames_captured = 0;
  std::uint64_t packets_sent = 0;
  std::uint64_t frames_suppressed = 0;  // below the voice activation threshold (§9)
  std::uint64_t bytes_sent = 0;         // Opus payload bytes
  std::uint64_t packets_received = 0;
  std::uint64_t packets_rejected = 0;   // invalid, duplicate or late
  std::uint64_t frames_played = 0;      // playback frames written to the sink (any kind)
  std::uint64_t encode_errors = 0;
  std::uint64_t skipped_samples = 0;    // clock stalls longer than limits::audio_max_catch_up
};

class audio_pipeline {
 public:
  using clock = std::chrono::steady_clock;

  // send_modern: VOICE 20 ms frames (peer is mokaccino) or AUDIO 2.5 ms (original peer). now = the call's t0.
  static result<audio_pipeline> create(std::unique_ptr<audio_io::source> src, std::unique_ptr<audio_io::sink> snk,
                                       bool send_modern, int threshold, clock::time_point now,
                                       int complexity = limits::modern_complexity);

  // Received packets (only from the call partner; the caller checks that).
  void on_audio(std::span<const std::uint8_t> packet, clock::time_point now);
  void on_voice(std::uint32_t seq, std::uint32_t ts, std::span<const std::uint8_t> packet, clock::time_point now);

  // Packets received but dropped before reaching the pipeline (a full inbox): counted as received and rejected.
  void count_rejected(std::uint64_t n) noexcept;

  // Captures and plays everything due at `now`; appends the protocol lines to send to `out`.
  void tick(clock::time_point now, std::vector<std::string>& out);
  // When tick() has work next (never earlier than limits::audio_tick_floor after `now`). While playout is steady,
  // a playback frame may wait for the next capture tick (at most one capture frame late, see play_slack), so a
  // call wakes once per frame instead of once for capture and once for playback at another phase.
  clock::time_point next_wake(clock::time_point now) const;

  // Finishes the sink (a WAV output gets its header). Idempotent.
  result<void> finish();

  const call_stats& stats() const noexcept { return stats_; }
  // Receive-side counters of the modern path (zero if none was received) and of the legacy path.
  audio::jitter_stats jitter() const;
  audio::legacy_fifo_stats legacy() const;
  bool sends_modern() const noexcept { return modern_; }
  clock::time_point t0() const noexcept { return t0_; }
  std::string describe() const;

 private:
  enum class rx_kind { none, legacy, modern };

  audio_pipeline(std::unique_ptr<audio_io::source> src, std::unique_ptr<audio_io::sink> snk, audio::opus_encoder enc,
                 bool modern, int threshold, clock::time_point now, int complexity);

  void capture_frame(std::vector<std::string>& out);
  void play_frame(clock::time_point now);
  std::vector<std::int16_t> legacy_frame();
  int play_frame_samples() const noexcept;
  clock::duration play_slack() const noexcept;
  std::int64_t due_samples(clock::time_point now) const noexcept;

  std::unique_ptr<audio_io::source> src_;
  std::unique_ptr<audio_io::sink> snk_;
  audio::opus_encoder enc_;
  bool modern_;
  int threshold_;
  int complexity_;  // Opus effort of the modern profile (network.audio.complexity)
  clock::time_point t0_;

  // capture side
  std::vector<std::int16_t> frame_;
  std::int64_t captured_ = 0;  // samples taken from a clock-paced source
  std::uint32_t seq_ = 0;      // VOICE: counts sent packets (a gap is a loss)
  std::uint32_t ts_ = 0;       // VOICE: counts captured samples (moves in silence too)

  // playback side
  std::int64_t played_ = 0;  // samples written to the sink
  rx_kind rx_ = rx_kind::none;
  std::optional<audio::voice_receiver> modern_rx_;
  std::optional<audio::legacy_fifo> legacy_rx_;
  std::optional<audio::opus_decoder> legacy_dec_;
  bool legacy_decoded_any_ = false;
  int legacy_underrun_run_ = 0;

  bool finished_ = false;
  call_stats stats_;
};

}  // namespace mk
