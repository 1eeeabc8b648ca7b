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

// The recording judged piece by piece: each 0.5 s piece of the input is aligned in the recording on its own. Under
// loss or a slow machine the jitter buffer may shift the timeline mid-call (a refill, a shed frame); one global
// alignment is then a compromise that undersells what was heard and can even land on a side lobe, while each
// piece says how well and how late that part of the call really played.
struct piece_judgement {
  double mean_correlation = 0;      // over all pieces, each at its own best alignment
  std::vector<double> latency_ms;   // per sweep piece, in order (a tone repeats every period: no unique lag)

  double min_ms() const { return *std::ranges::min_element(latency_ms); }
  double max_ms() const { return *std::ranges::max_element(latency_ms); }
  double median_ms() const {
    auto v = latency_ms;
    std::ranges::sort(v);
    return (v[(v.size() - 1) / 2] + v[v.size() / 2]) / 2;
  }
  std::string text() const {
    std::string t = "latency per sweep piece";
    for (double ms : latency_ms) {
      t += ' ';
      t += std::to_string(static_cast<int>(ms));
    }
    t += " ms, mean correlation per 0.5 s piece ";
    t += std::to_string(mean_correlation);
    return t;
  }
};

// `origin_ms`: the receiver's playback origin minus the sender's capture origin (steady-clock milliseconds), so
// that origin + where the input's first sample lands in the recording is the latency.
inline piece_judgement judge_pieces(const std::vector<std::int16_t>& input, const std::vector<std::int16_t>& rec,
                                    double origin_ms) {
  const std::size_t piece = voice_rate / 2;
  const auto sweep_len = static_cast<std::size_t>(sweep_seconds * voice_rate);
  piece_judgement j;
  int n = 0;
  for (std::size_t off = 0; off + piece <= input.size(); off += piece, ++n) {
    auto al = audio::best_alignment(std::span{input}.subspan(off, piece), rec, rec.size());
    j.mean_correlation += al.correlation;
    if (off + piece <= sweep_len)
      j.latency_ms.push_back(origin_ms +
                             static_cast<double>(al.lag - static_cast<std::ptrdiff_t>(off)) * 1000 / voice_rate);
  }
  REQUIRE(!j.latency_ms.empty());
  j.mean_correlation = n ? j.mean_correlation / n : 0;
  return j;
}

}  // namespace mk::test
