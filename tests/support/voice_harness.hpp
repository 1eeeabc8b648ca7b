#pragma once
// Test support for voice calls: a temporary directory, the test signal (sweep then steady tone), the "call"
// events of a node, and the objective checks of a received recording.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "core/audio/signals.hpp"
#include "core/audio/wav.hpp"
#include "support/node_harness.hpp"
#include "support/temp_dir.hpp"

namespace mk::test {

constexpr int voice_rate = 48000;
constexpr double sweep_seconds = 2.0;  // an unambiguous alignment (a tone alone repeats every period)
constexpr double tone_seconds = 1.5;   // a steady part for the dominant-frequency check
constexpr double tone_hz = 1000;

// A file in a temp dir, as the string a source/sink spec needs.
inline std::string file_in(const temp_dir& d, const std::string& name) { return (d / name).string(); }

// 2 s sweep 300..3400 Hz, then 1.5 s of a 1 kHz tone, at 30% of full scale.
inline std::vector<std::int16_t> test_signal() {
  auto s = audio::sweep(300, 3400, sweep_seconds, voice_rate, 0.3);
  auto t = audio::tone(tone_hz, tone_seconds, voice_rate, 0.3);
  s.insert(s.end(), t.begin(), t.end());
  return s;
}

inline void write_signal(const std::string& path, const std::vector<std::int16_t>& s) {
  REQUIRE(audio::write_wav_file(path, audio::wav_audio{voice_rate, s}).ok());
}

inline std::vector<std::int16_t> read_signal(const std::string& path) {
  auto w = audio::read_wav_file(path);
  REQUIRE_MESSAGE(w.ok(), "cannot read " << path);
  CHECK(w->sample_rate == static_cast<std::uint32_t>(voice_rate));
  return std::move(w->samples);
}

inline std::string call_field(const event& e, const std::string& key) {
  for (auto& [k, v] : e.fields)
    if (k == key)
      return v;
  return {};
}

// On a timeout the node's events so far go to the test output (a call that never starts says why there).
inline std::optional<event> wait_call(event_log& log, const std::string& state, std::chrono::milliseconds t = 10s) {
  auto e =
    log.wait_for([&](const event& e) { return e.kind == event_kind::call && call_field(e, "state") == state; }, t);
  if (!e)
    MESSAGE("no call event \"" << state << "\" within " << t.count() << " ms; the node's events:\n" << log.dump());
  return e;
}

struct quality {
  double lag_ms = 0;         // where the input starts in the recording
  double correlation = 0;    // over the whole aligned signal
  double snr = 0;            // dB, over the aligned signal
  double tone_freq = 0;      // dominant frequency of the steady part
  double tone_rms = 0;
};

// Aligns the input in the recording (lag search up to 1 s) and measures it.
inline quality measure(const std::vector<std::int16_t>& input, const std::vector<std::int16_t>& recorded) {
  quality q;
  auto al = audio::best_alignment(input, recorded, voice_rate);
  q.lag_ms = static_cast<double>(al.lag) * 1000 / voice_rate;
  q.correlation = al.correlation;
  auto pair = audio::align(input, recorded, al.lag);
  q.snr = audio::snr_db(pair.reference, pair.received);
  // The steady tone: skip its first and last 250 ms (codec and buffer transitions).
  auto tone_start = static_cast<std::size_t>((sweep_seconds + 0.25) * voice_rate);
  auto tone_len = static_cast<std::size_t>((tone_seconds - 0.5) * voice_rate);
  if (al.lag >= 0 && pair.received.size() >= tone_start + tone_len) {
    auto part = pair.received.subspan(tone_start, tone_len);
    // The median over four quarters: a timeline edit (a refill, a shed packet) is a phase jump that smears the
    // spectrum of the window it falls in, without changing the pitch that was played.
    std::vector<double> freqs;
    const std::size_t quarter = tone_len / 4;
    for (std::size_t k = 0; k < 4; ++k)
      freqs.push_back(audio::dominant_frequency(part.subspan(k * quarter, quarter), voice_rate));
    std::ranges::sort(freqs);
    q.tone_freq = (freqs[1] + freqs[2]) / 2;
    q.tone_rms = audio::rms(part);
  }
  return q;
}

// Mean over 0.5 s pieces of the input of each piece's best correlation in the recording. Under loss the jitter
// buffer may shift the timeline (a refill, a shed frame); one global lag then undersells what was heard.
inline double segmented_correlation(const std::vector<std::int16_t>& input, const std::vector<std::int16_t>& rec) {
  const std::size_t piece = voice_rate / 2;
  double sum = 0;
  int n = 0;
  for (std::size_t off = 0; off + piece <= input.size(); off += piece, ++n)
    sum += audio::best_alignment(std::span{input}.subspan(off, piece), rec, rec.size()).correlation;
  return n ? sum / n : 0;
}

// Where the input's first sample lands in the recording, judged separately for each 0.5 s piece of the sweep
// (the tone repeats every period, so only the sweep aligns unambiguously). When the jitter buffer shifts the
// timeline mid-call (a refill, a shed frame), one global lag is a compromise that can land on a side lobe; the
// per-piece lags say what latency each part of the call really had.
inline std::vector<double> sweep_piece_lags_ms(const std::vector<std::int16_t>& input,
                                               const std::vector<std::int16_t>& rec) {
  const std::size_t piece = voice_rate / 2;
  const auto sweep_len = static_cast<std::size_t>(sweep_seconds * voice_rate);
  std::vector<double> lags;
  for (std::size_t off = 0; off + piece <= sweep_len && off + piece <= input.size(); off += piece) {
    auto al = audio::best_alignment(std::span{input}.subspan(off, piece), rec, rec.size());
    lags.push_back(static_cast<double>(al.lag - static_cast<std::ptrdiff_t>(off)) * 1000 / voice_rate);
  }
  return lags;
}

}  // namespace mk::test
