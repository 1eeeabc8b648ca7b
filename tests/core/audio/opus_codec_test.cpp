#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "core/audio/opus_codec.hpp"
#include "core/audio/signals.hpp"
#include "core/limits.hpp"

using namespace mk::audio;

namespace {

constexpr int rate = mk::limits::audio_sample_rate;

struct round_trip {
  std::vector<std::int16_t> decoded;
  std::vector<std::size_t> sizes;
  double encode_us = 0;
  double decode_us = 0;
};

round_trip encode_decode(profile p, const std::vector<std::int16_t>& input) {
  auto enc = opus_encoder::create(p);
  auto dec = opus_decoder::create(p);
  REQUIRE(enc.ok());
  REQUIRE(dec.ok());
  const auto fs = static_cast<std::size_t>(frame_samples(p));
  round_trip out;
  std::chrono::nanoseconds enc_t{0}, dec_t{0};
  std::size_t frames = 0;
  for (std::size_t at = 0; at + fs <= input.size(); at += fs, ++frames) {
    const auto t0 = std::chrono::steady_clock::now();
    auto pkt = enc->encode(std::span{input}.subspan(at, fs));
    const auto t1 = std::chrono::steady_clock::now();
    REQUIRE(pkt.ok());
    auto pcm = dec->decode(*pkt);
    const auto t2 = std::chrono::steady_clock::now();
    REQUIRE(pcm.ok());
    REQUIRE(pcm->size() == fs);
    enc_t += t1 - t0;
    dec_t += t2 - t1;
    out.sizes.push_back(pkt->size());
    out.decoded.insert(out.decoded.end(), pcm->begin(), pcm->end());
  }
  out.encode_us = std::chrono::duration<double, std::micro>(enc_t).count() / static_cast<double>(frames);
  out.decode_us = std::chrono::duration<double, std::micro>(dec_t).count() / static_cast<double>(frames);
  return out;
}

}  // namespace

TEST_CASE("legacy encoder: every packet is exactly 60 bytes and the tone survives") {
  const auto input = tone(1000, 2.0, rate, 0.5);
  const auto rt = encode_decode(profile::legacy, input);
  REQUIRE(rt.sizes.size() == 800);  // 2 s of 2.5 ms frames
  for (auto s : rt.sizes) {
    CHECK(s == mk::limits::legacy_audio_packet);
    CHECK(s % 3 == 0);  // PROTOCOL §9 MUST: a multiple of 3
  }
  const double f = dominant_frequency(rt.decoded, rate);
  CHECK(f == doctest::Approx(1000).epsilon(0.003));  // within 3 Hz
  const auto al = best_alignment(input, rt.decoded, 2000);
  const auto pair = align(input, rt.decoded, al.lag);
  MESSAGE("legacy: lag " << al.lag << " samples, correlation " << al.correlation << ", SNR "
                         << snr_db(pair.reference, pair.received) << " dB, encode " << rt.encode_us
                         << " us/frame, decode " << rt.decode_us << " us/frame");
  // At ~192 kbps a steady tone is reproduced almost exactly.
  CHECK(al.correlation > 0.95);
}

TEST_CASE("legacy encoder pads quiet and silent frames too") {
  auto enc = opus_encoder::create(profile::legacy);
  REQUIRE(enc.ok());
  const auto quiet = silence(0.1, rate);
  for (std::size_t at = 0; at + 120 <= quiet.size(); at += 120) {
    auto pkt = enc->encode(std::span{quiet}.subspan(at, 120));
    REQUIRE(pkt.ok());
    CHECK(pkt->size() == 60);
  }
}

TEST_CASE("modern encoder + decoder round trip keeps 440 Hz and 1 kHz tones") {
  for (double freq : {440.0, 1000.0}) {
    CAPTURE(freq);
    const auto input = tone(freq, 3.0, rate, 0.3);
    const auto rt = encode_decode(profile::modern, input);
    REQUIRE(rt.sizes.size() == 150);
    std::size_t total = 0;
    for (auto s : rt.sizes) {
      CHECK(s <= mk::limits::max_audio_packet);
      total += s;
    }
    const double f = dominant_frequency(rt.decoded, rate);
    CHECK(f == doctest::Approx(freq).epsilon(0.005));
    const auto al = best_alignment(input, rt.decoded, 4000);
    const auto pair = align(input, rt.decoded, al.lag);
    // Skip the first 100 ms: the encoder's start-up (mode decision, gain ramp) is not steady state.
    const auto skip = static_cast<std::size_t>(rate / 10);
    const double snr = snr_db(pair.reference.subspan(skip), pair.received.subspan(skip));
    MESSAGE("modern " << freq << " Hz: " << (total * 8 / 3) / 1000 << " kbps, lag " << al.lag << ", correlation "
                      << al.correlation << ", SNR " << snr << " dB, encode " << rt.encode_us
                      << " us/frame, decode " << rt.decode_us << " us/frame");
    // Opus is a perceptual codec, not waveform-exact, yet a clean steady tone at 32 kbps comes back at
    // 25-29 dB SNR (correlation 0.998). The thresholds leave 10 dB of margin for other libopus builds and
    // remain far above what a wrong lag, a wrong frequency or noise gives (correlation ~0, SNR <= 0 dB).
    CHECK(al.correlation > 0.98);
    CHECK(snr > 15.0);
  }
}

TEST_CASE("PLC and FEC produce a frame of the requested length") {
  auto enc = opus_encoder::create(profile::modern, 20);
  auto dec = opus_decoder::create(profile::modern);
  REQUIRE(enc.ok());
  REQUIRE(dec.ok());
  const auto input = tone(440, 0.2, rate, 0.3);
  std::vector<std::vector<std::uint8_t>> pkts;
  for (std::size_t at = 0; at + 960 <= input.size(); at += 960) {
    auto p = enc->encode(std::span{input}.subspan(at, 960));
    REQUIRE(p.ok());
    pkts.push_back(std::move(*p));
  }
  REQUIRE(dec->decode(pkts[0]).ok());
  auto plc = dec->decode_plc(960);
  REQUIRE(plc.ok());
  CHECK(plc->size() == 960);
  CHECK(rms(*plc) > 100);  // concealment continues the tone rather than going silent at once
  auto fec = dec->decode_fec(pkts[3], 960);
  REQUIRE(fec.ok());
  CHECK(fec->size() == 960);
  auto next = dec->decode(pkts[3]);
  REQUIRE(next.ok());
  CHECK(next->size() == 960);
}

TEST_CASE("codec errors are values") {
  auto enc = opus_encoder::create(profile::modern);
  auto dec = opus_decoder::create(profile::legacy);
  REQUIRE(enc.ok());
  REQUIRE(dec.ok());
  std::vector<std::int16_t> short_frame(100);
  auto r = enc->encode(short_frame);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == mk::errc::malformed);
  CHECK_FALSE(dec->decode(std::span<const std::uint8_t>{}).ok());
  std::vector<std::uint8_t> huge(1276, 0);
  CHECK(dec->decode(huge).error().code == mk::errc::too_long);
  CHECK_FALSE(dec->decode_plc(100).ok());  // not a multiple of 2.5 ms
  CHECK_FALSE(opus_encoder::create(profile::modern, 101).ok());
  CHECK(opus_encoder::create(profile::modern, -1, 11).error().code == mk::errc::bad_number);
  auto legacy = opus_encoder::create(profile::legacy);
  REQUIRE(legacy.ok());
  CHECK(legacy->set_expected_loss(5).error().code == mk::errc::state_error);
  CHECK(enc->set_expected_loss(5).ok());
  // A legacy decoder (toward an original peer) still decodes a 20 ms packet: the packet decides its duration.
  auto modern = opus_encoder::create(profile::modern);
  REQUIRE(modern.ok());
  std::vector<std::int16_t> frame(960, 0);
  auto pkt = modern->encode(frame);
  REQUIRE(pkt.ok());
  auto pcm = dec->decode(*pkt);
  REQUIRE(pcm.ok());
  CHECK(pcm->size() == 960);
}
