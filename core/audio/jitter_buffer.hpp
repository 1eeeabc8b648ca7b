#pragma once
// Receive-side jitter buffer for the modern voice format (20 ms Opus frames with seq and timestamp), the FIX
// for PROTOCOL §9 "Jitter handling: none" and §14 (latency build-up, no PLC).
//
// Time is passed in; nothing here reads a clock. The player calls pop_frame() once per frame period and turns the
// answer into samples: decode the packet, decode FEC from the next packet, conceal (PLC), or play what the decoder
// makes of an underrun (PLC fading to silence).
//
// Playout order is by seq (seq counts sent packets, so a seq gap is a loss). The timestamp (in samples) only
// feeds the jitter estimate: a sender that stops sending in silence (voice activation) moves ts, not seq.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "core/audio/standing_delay.hpp"
#include "core/limits.hpp"

namespace mk::audio {

using time_point = std::chrono::steady_clock::time_point;

struct jitter_config {
  int frame_samples = limits::modern_frame_samples;
  int sample_rate = limits::audio_sample_rate;
  std::chrono::microseconds min_delay = limits::jitter_min_delay;
  std::chrono::microseconds start_delay = limits::jitter_start_delay;
  std::chrono::microseconds max_delay = limits::jitter_max_delay;
  std::chrono::microseconds resync_gap = limits::jitter_resync_gap;
  std::uint32_t resync_seq = limits::jitter_resync_seq;
};

enum class playout_kind {
  packet,    // decode `packet`
  fec,       // frame `seq` is lost but the next one is here: decode_fec(`packet`) (the NEXT frame's packet)
  conceal,   // frame `seq` is lost: decode_plc
  underrun,  // nothing to play (late packets or the talker paused): PLC, then silence; buffer refills
  idle,      // not started or refilling: play silence
};

struct playout {
  playout_kind kind = playout_kind::idle;
  std::uint32_t seq = 0;               // the frame this playout stands for (packet/fec/conceal)
  std::vector<std::uint8_t> packet;    // packet: its own packet; fec: the next frame's packet
};

enum class insert_result { accepted, duplicate, late, invalid, resync };

struct jitter_stats {
  std::uint64_t received = 0;    // packets offered (valid ones)
  std::uint64_t invalid = 0;     // empty or over 1275 bytes
  std::uint64_t played = 0;      // frames played from their own packet
  std::uint64_t late = 0;        // arrived after their frame was played or concealed (dropped)
  std::uint64_t duplicates = 0;  // the same seq seen twice
  std::uint64_t lost = 0;        // frames with no packet at their playout time (concealed, FEC or skipped)
  std::uint64_t concealed = 0;   // of which played as PLC
  std::uint64_t fec = 0;         // of which recovered from the next packet's FEC
  std::uint64_t underruns = 0;   // times the buffer ran dry while playing
  std::uint64_t dropped = 0;     // packets discarded to keep latency bounded
  std::uint64_t resyncs = 0;     // stream restarts (seq jump or long gap)
  std::size_t depth = 0;         // frames from the next playout to the newest buffered packet
  std::chrono::microseconds target_delay{0};  // current adaptive buffering target
  std::chrono::microseconds jitter{0};        // arrival spread over the recent window
};

class jitter_buffer {
 public:
  explicit jitter_buffer(jitter_config cfg = {});

  insert_result insert(std::uint32_t seq, std::uint32_t ts, std::span<const std::uint8_t> packet, time_point now);
  playout pop_frame(time_point now);

  const jitter_stats& stats() const noexcept { return stats_; }
  // Frames are flowing (started and not refilling after an underrun).
  bool playing() const noexcept { return playing_; }
  std::chrono::microseconds frame_duration() const noexcept { return frame_dur_; }
  void reset();

 private:
  static constexpr std::size_t transit_window = 100;  // 2 s of 20 ms frames for the jitter estimate
  static constexpr std::size_t shrink_window = 50;            // pops (1 s) over which surplus depth is measured

  void start_stream(std::uint32_t seq, time_point now);
  void advance(std::size_t frames);
  void drop_front();
  void note_transit(std::uint32_t ts, time_point now);
  std::size_t target_frames() const noexcept;
  void update_stats();

  jitter_config cfg_;
  std::chrono::microseconds frame_dur_;
  std::size_t max_frames_;

  bool have_stream_ = false;
  bool playing_ = false;
  bool ever_played_ = false;
  std::uint32_t next_ = 0;                                      // seq of slots_.front()
  std::deque<std::optional<std::vector<std::uint8_t>>> slots_;  // back() always holds a packet
  std::uint64_t history_ = 0;  // bit i: seq next_-1-i had arrived (tells duplicates from late packets)
  time_point last_arrival_{};
  time_point refill_since_{};

  // Jitter estimate: transit = arrival - ts/rate, spread = max - min over the window.
  std::array<std::int64_t, transit_window> transits_{};
  std::size_t transit_count_ = 0;
  std::size_t transit_pos_ = 0;
  std::uint32_t last_ts_ = 0;
  std::int64_t ext_ts_ = 0;
  bool have_ts_ = false;

  standing_delay surplus_{shrink_window};

  jitter_stats stats_;
};

}  // namespace mk::audio
