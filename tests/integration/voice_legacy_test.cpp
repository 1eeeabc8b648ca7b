// A voice call with an original Mokaccino node (PROTOCOL §9), played byte by byte by a raw UDP peer that never
// sends MKCAPS: it must get legacy AUDIO (one 2.5 ms Opus packet of exactly 60 bytes per message) and its own
// AUDIO must play on the mokaccino side. Both directions are judged against the known signal.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "core/audio/opus_codec.hpp"
#include "core/crypto/random.hpp"
#include "core/wire/messages.hpp"
#include "support/voice_harness.hpp"

using namespace mk;
using namespace mk::test;
namespace w = mk::wire;

namespace {

// The original's side of a direct connection (§5) from a raw socket.
void raw_handshake(raw_peer& peer, const test_node& node, const crypto::identity& id, const std::string& user) {
  Botan::AutoSeeded_RNG rng;
  w::connect_msg c{user, crypto::make_nonce(rng), id.public_key().base64(), {}};
  c.signature = id.sign(w::signed_text(c), rng);
  peer.send_line(node.port(), w::serialize(c));
  auto hs_line = peer.receive("HANDSHAKE");
  REQUIRE(hs_line);
  auto hs = w::parse_line(*hs_line);
  REQUIRE(hs.ok());
  w::connected_msg done{std::get<w::handshake_msg>(*hs).nonce, {}};
  done.signature = id.sign(w::signed_text(done), rng);
  peer.send_line(node.port(), w::serialize(done));
  REQUIRE(node.events->wait_kind(event_kind::connected));
}

}  // namespace

TEST_CASE("a call with an original node uses legacy AUDIO: 60-byte 2.5 ms packets both ways") {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  Botan::AutoSeeded_RNG rng;
  const auto input = test_signal();
  write_signal(file_in(dir, "bob-in.wav"), input);
  auto c = make_config("bob");
  c.encrypt_by_default = false;
  c.require_encryption = false;  // an original does not start encryption by itself
  c.audio.default_action = config::action::accept;
  c.audio_input = "wav:" + file_in(dir, "bob-in.wav");
  c.audio_output = "wav:" + file_in(dir, "bob-out.wav");
  auto bob = start_node(sys, c);
  raw_peer carol;
  auto carol_id = crypto::identity::generate(rng);
  raw_handshake(carol, bob, carol_id, "carol");

  carol.send_line(bob.port(), "AUDIOSTART");
  REQUIRE(carol.receive("AUDIOACCEPT"));
  auto started = wait_call(*bob.events, "started");
  REQUIRE(started);
  CHECK(call_field(*started, "profile") == "legacy");

  // carol talks at the original's pace: one AUDIO every 2.5 ms, each a 60-byte packet of the signal
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<int> carol_sent{0};
  std::thread talker([&] {
    auto enc = audio::opus_encoder::create(audio::profile::legacy);  // (no REQUIRE off the test thread)
    if (!enc.ok())
      return;
    const auto fs = static_cast<std::size_t>(enc->frame_samples());
    for (std::size_t k = 0; (k + 1) * fs <= input.size(); ++k) {
      std::this_thread::sleep_until(t0 + std::chrono::microseconds{static_cast<std::int64_t>((k + 1) * 2500)});
      auto p = enc->encode(std::span{input}.subspan(k * fs, fs));
      if (!p.ok())
        return;
      carol.send_line(bob.port(), w::serialize(w::audio_msg{std::move(*p)}));
      ++carol_sent;
    }
  });

  // ... and listens: every AUDIO from bob must be exactly what an original can take (§9 MUST)
  auto dec = audio::opus_decoder::create(audio::profile::legacy);
  REQUIRE(dec.ok());
  std::vector<std::int16_t> heard;
  int packets = 0, bad_size = 0, other = 0;
  const auto until = t0 + std::chrono::milliseconds{static_cast<int>((sweep_seconds + tone_seconds) * 1000) + 700};
  while (std::chrono::steady_clock::now() < until) {
    auto line = carol.receive("", 100ms);
    if (!line)
      continue;
    if (line->rfind("PING ", 0) == 0) {
      carol.send_line(bob.port(), "PONG " + line->substr(5));
      continue;
    }
    auto m = w::parse_line(*line);
    if (!m.ok() || !std::holds_alternative<w::audio_msg>(*m)) {
      ++other;  // MKCAPS (an original ignores it), nothing else expected
      continue;
    }
    auto& pkt = std::get<w::audio_msg>(*m).packet;
    ++packets;
    if (pkt.size() != 60)
      ++bad_size;
    auto pcm = dec->decode(pkt);
    REQUIRE(pcm.ok());
    CHECK(pcm->size() == 120);  // a 2.5 ms frame
    heard.insert(heard.end(), pcm->begin(), pcm->end());
  }
  talker.join();
  carol.send_line(bob.port(), "AUDIOSTOP");
  auto ended = wait_call(*bob.events, "ended");
  REQUIRE(ended);

  // bob -> carol: the packets, and the signal they carry (in arrival order: the original has no timeline either)
  MESSAGE("legacy, to the original: " << packets << " AUDIO packets, " << bad_size << " not 60 bytes, " << other
                                      << " other lines");
  CHECK(bad_size == 0);
  CHECK(packets >= 1390);  // 3.5 s / 2.5 ms = 1400, the silence after the file is not sent
  CHECK(packets <= 1410);
  auto q_carol = measure(input, heard);
  MESSAGE("legacy, heard by the original: correlation " << q_carol.correlation << ", SNR " << q_carol.snr
                                                        << " dB, tone " << q_carol.tone_freq << " Hz");
  CHECK(q_carol.correlation > 0.8);
  CHECK(q_carol.tone_freq == doctest::Approx(tone_hz).epsilon(0.003));

  // carol -> bob: played on bob's timeline
  auto rec = read_signal(file_in(dir, "bob-out.wav"));
  auto q = measure(input, rec);
  const double t_play = std::stod(call_field(*started, "playback_t0_us")) / 1000;
  const double t_capture =
    static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(t0.time_since_epoch()).count()) / 1000;
  // Per piece (judge_pieces): an underrun and its refill shift the rest of the timeline, and the FIFO then sheds
  // that standing delay again, so latency and correlation are judged where each part of the signal really played.
  const auto pieces = judge_pieces(input, rec, t_play - t_capture);
  REQUIRE(pieces.latency_ms.size() == 4);
  MESSAGE("legacy, played by mokaccino: " << pieces.text() << " (global alignment "
                                                  << t_play + q.lag_ms - t_capture << " ms), correlation " << q.correlation << ", SNR "
                                                  << q.snr << " dB, tone " << q.tone_freq << " Hz, received "
                                                  << call_field(*ended, "received") << ", underruns "
                                                  << call_field(*ended, "underruns") << ", dropped "
                                                  << call_field(*ended, "dropped") << ", shed "
                                                  << call_field(*ended, "shed"));
  CHECK(std::stoi(call_field(*ended, "received")) == carol_sent.load());
  CHECK(pieces.mean_correlation > 0.8);
  // 1 %: the FIFO sheds samples to cut a standing delay (by design, after an underrun on a loaded machine), which
  // shortens the played timeline and raises the measured tone by a few tenths of a percent; a wrong sample rate or
  // frame size would be off by 8 % or more.
  CHECK(q.tone_freq == doctest::Approx(tone_hz).epsilon(0.01));
  CHECK(pieces.min_ms() > 2.5);
  CHECK(pieces.median_ms() < 60);
  // The worst piece is bounded by the FIFO's 40 ms cap on top of the usual delay.
  CHECK(pieces.max_ms() < 100);
  stop_node(bob);
}
