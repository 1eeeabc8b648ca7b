// The parts under the voice service, without actors: the lock-free ring the device callbacks use, the sources and
// sinks (tone, silence, WAV in/out, null, devices), and the media pipeline on a simulated clock (wire format of
// each profile, voice activation).
#include <doctest/doctest.h>

#include <fstream>
#include <thread>

#include "actors/audio_io.hpp"
#include "actors/audio_pipeline.hpp"
#include "core/audio/opus_codec.hpp"
#include "core/limits.hpp"
#include "core/wire/messages.hpp"
#include "support/voice_harness.hpp"

using namespace mk;
using namespace mk::test;

TEST_CASE("spsc_ring: bounded, wraps around, and hands samples across threads in order") {
  audio_io::spsc_ring r{100};
  CHECK(r.capacity() == 128);
  std::vector<std::int16_t> in(200);
  for (std::size_t i = 0; i < in.size(); ++i)
    in[i] = static_cast<std::int16_t>(i);
  CHECK(r.write(in) == 128);  // full: the rest is refused, not overwritten
  CHECK(r.size() == 128);
  std::vector<std::int16_t> out(100);
  CHECK(r.read(out) == 100);
  CHECK(out[0] == 0);
  CHECK(out[99] == 99);
  CHECK(r.write(std::span{in}.subspan(128, 72)) == 72);  // wraps
  std::vector<std::int16_t> rest(200);
  CHECK(r.read(rest) == 100);
  for (std::size_t i = 0; i < 100; ++i)
    REQUIRE(rest[i] == static_cast<std::int16_t>(100 + i));

  // one producer thread, one consumer: every sample arrives once, in order
  audio_io::spsc_ring ring{1024};
  constexpr int total = 2'000'000;
  std::thread producer([&] {
    std::int16_t chunk[97];
    int next = 0;
    while (next < total) {
      int n = std::min<int>(97, total - next);
      for (int i = 0; i < n; ++i)
        chunk[i] = static_cast<std::int16_t>(next + i);
      std::size_t done = 0;
      while (done < static_cast<std::size_t>(n))
        done += ring.write(std::span<const std::int16_t>{chunk + done, static_cast<std::size_t>(n) - done});
      next += n;
    }
  });
  int expect = 0;
  bool in_order = true;
  std::vector<std::int16_t> buf(61);
  while (expect < total) {
    auto n = ring.read(buf);
    for (std::size_t i = 0; i < n; ++i, ++expect)
      in_order &= buf[i] == static_cast<std::int16_t>(expect);
  }
  producer.join();
  CHECK(in_order);
  CHECK(ring.size() == 0);
}

TEST_CASE("sources: tone, silence, WAV (then silence), and clear errors for bad specs") {
  temp_dir dir;
  auto tone = audio_io::open_source("tone:1000", voice_rate, 960);
  REQUIRE(tone.ok());
  std::vector<std::int16_t> s(voice_rate);
  CHECK((*tone)->read(s));
  CHECK(audio::dominant_frequency(s, voice_rate) == doctest::Approx(1000).epsilon(0.001));
  CHECK(audio::rms(s) == doctest::Approx(limits::audio_tone_amplitude / std::sqrt(2.0)).epsilon(0.01));

  auto sil = audio_io::open_source("silence", voice_rate, 960);
  REQUIRE(sil.ok());
  CHECK((*sil)->read(s));
  CHECK(audio::rms(s) == 0);

  auto sig = audio::tone(440, 0.01, voice_rate, 0.5);  // 480 samples
  write_signal(file_in(dir, "in.wav"), sig);
  auto wav = audio_io::open_source("wav:" + file_in(dir, "in.wav"), voice_rate, 960);
  REQUIRE(wav.ok());
  std::vector<std::int16_t> frame(400);
  CHECK((*wav)->read(frame));
  CHECK(std::equal(frame.begin(), frame.end(), sig.begin()));
  CHECK((*wav)->read(frame));  // 80 samples left, then zeros
  CHECK(std::equal(frame.begin(), frame.begin() + 80, sig.begin() + 400));
  CHECK(std::all_of(frame.begin() + 80, frame.end(), [](auto v) { return v == 0; }));

  REQUIRE(audio::write_wav_file(file_in(dir, "low.wav"), audio::wav_audio{8000, sig}).ok());
  for (const std::string& bad : std::vector<std::string>{"wav:" + file_in(dir, "missing.wav"), "wav:" + file_in(dir, "low.wav"),
                                                          "tone:0", "tone:30000", "tone:abc", "microphone", "device:x"}) {
    CAPTURE(bad);
    auto r = audio_io::open_source(bad, voice_rate, 960);
    CHECK_FALSE(r.ok());
    // the error names what was asked for: the file, the device, or the spec itself
    auto named = bad.starts_with("wav:") ? bad.substr(4) : bad.starts_with("device:") ? std::string{"device"} : bad;
    if (!r.ok())
      CHECK_MESSAGE(r.error().message.find(named) != std::string::npos, r.error().message);
  }
  CHECK_FALSE(audio_io::open_sink("speaker", voice_rate, 960).ok());
  CHECK(audio_io::open_sink("null", voice_rate, 960).ok());
}

TEST_CASE("without a sound card a device spec fails and says calls need a device or a file source") {
  if (audio_io::have_devices()) {
    MESSAGE("this machine has " << audio_io::list_devices().devices.size() << " audio devices");
    return;
  }
  for (const std::string& spec : std::vector<std::string>{"", "device", "device:0"}) {
    CAPTURE(spec);
    auto s = audio_io::open_source(spec, voice_rate, 480);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.find("need an audio device or a file source") != std::string::npos);
    CHECK_FALSE(audio_io::open_sink(spec, voice_rate, 480).ok());
  }
  auto listed = audio_io::list_devices();
  CHECK(listed.devices.empty());
  CHECK(listed.note.find("No audio device found") == 0);
  CHECK(listed.note.find("file source") != std::string::npos);
}

TEST_CASE("WAV sink: streams to a temp file, renames on finish with correct sizes, an unfinished one leaves nothing") {
  temp_dir dir;
  const auto path = file_in(dir, "out.wav");
  auto sig = audio::sweep(100, 5000, 0.5, voice_rate, 0.4);
  {
    auto snk = audio_io::open_sink("wav:" + path, voice_rate, 960);
    REQUIRE(snk.ok());
    for (std::size_t off = 0; off < sig.size(); off += 1000)
      (*snk)->write(std::span{sig}.subspan(off, std::min<std::size_t>(1000, sig.size() - off)));
    CHECK_FALSE(std::filesystem::exists(path));  // a reader never sees a half-written file
    REQUIRE((*snk)->finish().ok());
    CHECK((*snk)->finish().ok());  // idempotent
  }
  CHECK(read_signal(path) == sig);
  CHECK(std::filesystem::file_size(path) == 44 + 2 * sig.size());
  {
    auto snk = audio_io::open_sink("wav:" + file_in(dir, "dropped.wav"), voice_rate, 960);
    REQUIRE(snk.ok());
    (*snk)->write(sig);
  }
  CHECK_FALSE(std::filesystem::exists(file_in(dir, "dropped.wav")));
  {
    // a new sink for the same path while an older one is still open (a call request replacing a pending one)
    auto older = audio_io::open_sink("wav:" + path, voice_rate, 960);
    auto newer = audio_io::open_sink("wav:" + path, voice_rate, 960);
    REQUIRE(older.ok());
    REQUIRE(newer.ok());
    older->reset();
    (*newer)->write(std::span{sig}.first(480));
    REQUIRE((*newer)->finish().ok());
    CHECK(read_signal(path).size() == 480);
  }
  for (auto& f : std::filesystem::directory_iterator(dir.path()))
    CHECK_MESSAGE(f.path().extension() != ".tmp", f.path());  // no temp file is left behind
  CHECK_FALSE(audio_io::open_sink("wav:" + file_in(dir, "no-such-dir/x.wav"), voice_rate, 960).ok());
}

namespace {

struct pipeline_run {
  std::vector<std::string> lines;
  call_stats stats;
};

// One end of a call for `seconds` on a simulated clock (5 ms steps), collecting what it sends.
pipeline_run run_pipeline(const std::string& input, bool modern, int threshold, double seconds) {
  auto src = audio_io::open_source(input, voice_rate, 960);
  auto snk = audio_io::open_sink("null", voice_rate, 960);
  REQUIRE(src.ok());
  REQUIRE(snk.ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto p = audio_pipeline::create(std::move(*src), std::move(*snk), modern, threshold, t0);
  REQUIRE(p.ok());
  pipeline_run r;
  for (auto now = t0; now <= t0 + std::chrono::duration<double>(seconds); now += 5ms) {
    p->tick(now, r.lines);
    CHECK(p->next_wake(now) >= now + limits::audio_tick_floor);
  }
  r.stats = p->stats();
  return r;
}

}  // namespace

TEST_CASE("pipeline: the wire format of each profile, and voice activation") {
  SUBCASE("legacy: one 60-byte AUDIO per 2.5 ms (PROTOCOL §9 MUST)") {
    auto r = run_pipeline("tone:440", false, 40, 1.0);
    CHECK(r.lines.size() == 400);
    for (auto& l : r.lines) {
      auto m = wire::parse_line(l);
      REQUIRE(m.ok());
      REQUIRE(std::holds_alternative<wire::audio_msg>(*m));
      REQUIRE(std::get<wire::audio_msg>(*m).packet.size() == limits::legacy_audio_packet);
    }
  }
  SUBCASE("modern: VOICE with consecutive seq and ts advancing 960 per 20 ms") {
    auto r = run_pipeline("tone:440", true, 40, 1.0);
    CHECK(r.lines.size() == 50);
    std::uint32_t seq = 0, ts = 0;
    for (auto& l : r.lines) {
      auto m = wire::parse_line(l);
      REQUIRE(m.ok());
      REQUIRE(std::holds_alternative<wire::voice_msg>(*m));
      auto& v = std::get<wire::voice_msg>(*m);
      CHECK(v.seq == seq++);
      CHECK(v.timestamp == ts);
      ts += 960;
      CHECK(v.packet.size() <= limits::max_audio_packet);
    }
  }
  SUBCASE("voice activation: silence is not sent at threshold 40, is sent at threshold 0") {
    auto quiet = run_pipeline("silence", true, 40, 1.0);
    CHECK(quiet.lines.empty());
    CHECK(quiet.stats.frames_suppressed == 50);
    auto always = run_pipeline("silence", false, 0, 1.0);
    CHECK(always.lines.size() == 400);
  }
}

TEST_CASE("pipeline: a call that started in the legacy format switches to VOICE once the peer sends VOICE") {
  // The peer's MKCAPS had not arrived when the call started, so this end chose the original's 2.5 ms AUDIO.
  auto src = audio_io::open_source("tone:440", voice_rate, 960);
  auto snk = audio_io::open_sink("null", voice_rate, 960);
  REQUIRE(src.ok());
  REQUIRE(snk.ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto p = audio_pipeline::create(std::move(*src), std::move(*snk), false, 0, t0);
  REQUIRE(p.ok());
  std::vector<std::string> before, after;
  auto now = t0;
  for (; now < t0 + 100ms; now += 5ms)
    p->tick(now, before);
  REQUIRE_FALSE(before.empty());
  CHECK(std::holds_alternative<wire::audio_msg>(*wire::parse_line(before.front())));
  CHECK_FALSE(p->sends_modern());

  auto enc = audio::opus_encoder::create(audio::profile::modern);
  REQUIRE(enc.ok());
  std::vector<std::int16_t> frame(960, 0);
  auto packet = enc->encode(frame);
  REQUIRE(packet.ok());
  p->on_voice(0, 0, *packet, now);
  CHECK(p->sends_modern());
  for (; now < t0 + 300ms; now += 5ms)
    p->tick(now, after);
  REQUIRE(after.size() >= 9);  // 200 ms of 20 ms frames
  CHECK(after.size() <= 11);
  for (auto& l : after) {
    auto m = wire::parse_line(l);
    REQUIRE(m.ok());
    CHECK(std::holds_alternative<wire::voice_msg>(*m));
  }
}

TEST_CASE("pipeline: once playout flows, capture and playback share one wake-up per 20 ms frame") {
  // Two ends on a simulated clock. A's frames reach B 7 ms after A sent them; B's call started 3 ms after A's, so
  // B's playback frames fall due between its capture ticks. B is driven only by its own next_wake(), as the media
  // thread is, and takes the packets that arrived since its last wake-up at each tick.
  auto make = [](const char* input, std::chrono::steady_clock::time_point t0) {
    auto src = audio_io::open_source(input, voice_rate, 960);
    auto snk = audio_io::open_sink("null", voice_rate, 960);
    REQUIRE(src.ok());
    REQUIRE(snk.ok());
    auto p = audio_pipeline::create(std::move(*src), std::move(*snk), true, 0, t0);
    REQUIRE(p.ok());
    return std::move(*p);
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto a = make("tone:440", t0);
  auto b = make("tone:440", t0 + 3ms);

  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> arrivals;
  std::vector<std::string> out;
  for (auto t = t0; t < t0 + 2s; t = a.next_wake(t)) {
    out.clear();
    a.tick(t, out);
    for (auto& l : out)
      arrivals.emplace_back(t + 7ms, std::move(l));
  }
  REQUIRE(arrivals.size() >= 98);

  std::size_t next = 0;
  int wakes_in_last_second = 0;
  for (auto t = t0 + 3ms; t < t0 + 2s; t = b.next_wake(t)) {
    for (; next < arrivals.size() && arrivals[next].first <= t; ++next) {
      auto m = wire::parse_line(arrivals[next].second);
      REQUIRE(m.ok());
      auto& v = std::get<wire::voice_msg>(*m);
      b.on_voice(v.seq, v.timestamp, v.packet, arrivals[next].first);
    }
    out.clear();
    b.tick(t, out);
    if (t >= t0 + 1s)
      ++wakes_in_last_second;
  }
  // 50 frames a second each way: one wake-up per frame (two phases would take 100).
  CHECK(wakes_in_last_second >= 49);
  CHECK(wakes_in_last_second <= 52);
  // ... and playout did not suffer: every frame played, nothing concealed.
  CHECK(b.jitter().played >= 90);
  CHECK(b.jitter().lost == 0);
  CHECK(b.jitter().underruns == 0);
  CHECK(b.jitter().concealed == 0);
}
