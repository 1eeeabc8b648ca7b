#include "core/audio/opus_codec.hpp"

#include <opus.h>

#include <string>

#include "core/limits.hpp"

namespace mk::audio {

namespace {

// Longest frame Opus can carry: 120 ms at 48 kHz (RFC 6716 §3.2.5).
constexpr int max_frame_samples = limits::audio_sample_rate * 120 / 1000;

mk::error opus_failure(const char* what, int code) {
  return make_error(errc::malformed, std::string{what} + ": " + opus_strerror(code));
}

bool valid_frame_size(int samples) {
  // Opus frames are 2.5, 5, 10, 20, 40 or 60 ms; PLC/FEC accept any multiple of 2.5 ms up to 120 ms.
  constexpr int quantum = limits::audio_sample_rate / 400;
  return samples > 0 && samples <= max_frame_samples && samples % quantum == 0;
}

}  // namespace

int frame_samples(profile p) noexcept {
  return p == profile::legacy ? limits::legacy_frame_samples : limits::modern_frame_samples;
}

// -- encoder --

void opus_encoder::deleter::operator()(OpusEncoder* e) const noexcept { opus_encoder_destroy(e); }

result<opus_encoder> opus_encoder::create(profile p, int expected_loss_pct, int complexity) {
  int err = OPUS_OK;
  OpusEncoder* raw = opus_encoder_create(limits::audio_sample_rate, 1, OPUS_APPLICATION_VOIP, &err);
  if (err != OPUS_OK || raw == nullptr) return opus_failure("opus_encoder_create", err);
  opus_encoder enc{p, raw};
  if (p == profile::legacy) {
    // PROTOCOL §9: exactly the original's settings; VBR stays at its default.
    err = opus_encoder_ctl(raw, OPUS_SET_BITRATE(OPUS_BITRATE_MAX));
    if (err != OPUS_OK) return opus_failure("OPUS_SET_BITRATE", err);
    return enc;
  }
  const int loss = expected_loss_pct < 0 ? limits::modern_expected_loss_pct : expected_loss_pct;
  if (loss > 100) return make_error(errc::bad_number, "expected loss percentage must be 0..100");
  const int effort = complexity < 0 ? limits::modern_complexity : complexity;
  if (effort > 10) return make_error(errc::bad_number, "Opus complexity must be 0..10");
  if ((err = opus_encoder_ctl(raw, OPUS_SET_BITRATE(limits::modern_bitrate))) != OPUS_OK)
    return opus_failure("OPUS_SET_BITRATE", err);
  if ((err = opus_encoder_ctl(raw, OPUS_SET_COMPLEXITY(effort))) != OPUS_OK)
    return opus_failure("OPUS_SET_COMPLEXITY", err);
  if ((err = opus_encoder_ctl(raw, OPUS_SET_INBAND_FEC(1))) != OPUS_OK)
    return opus_failure("OPUS_SET_INBAND_FEC", err);
  if ((err = opus_encoder_ctl(raw, OPUS_SET_PACKET_LOSS_PERC(loss))) != OPUS_OK)
    return opus_failure("OPUS_SET_PACKET_LOSS_PERC", err);
  // DTX off: the jitter buffer expects one packet per frame while talking; silence is handled by the VAD.
  if ((err = opus_encoder_ctl(raw, OPUS_SET_DTX(0))) != OPUS_OK) return opus_failure("OPUS_SET_DTX", err);
  return enc;
}

result<std::vector<std::uint8_t>> opus_encoder::encode(std::span<const std::int16_t> frame) {
  if (frame.size() != static_cast<std::size_t>(frame_samples()))
    return make_error(errc::malformed, "opus encode: frame must hold exactly " +
                                           std::to_string(frame_samples()) + " samples, got " +
                                           std::to_string(frame.size()));
  const std::size_t cap = profile_ == profile::legacy ? limits::legacy_audio_packet : limits::max_audio_packet;
  std::vector<std::uint8_t> out(cap);
  const opus_int32 n = opus_encode(enc_.get(), frame.data(), frame_samples(), out.data(),
                                   static_cast<opus_int32>(cap));
  if (n < 0) return opus_failure("opus_encode", n);
  if (profile_ == profile::legacy) {
    // PROTOCOL §9 MUST: the original decodes 3*len/4 bytes of its buffer, so the length must be a multiple
    // of 3; padding every packet to the full 60 bytes satisfies that and the 60-byte cap at once.
    const int err = opus_packet_pad(out.data(), n, static_cast<opus_int32>(limits::legacy_audio_packet));
    if (err != OPUS_OK) return opus_failure("opus_packet_pad", err);
    return out;
  }
  out.resize(static_cast<std::size_t>(n));
  return out;
}

result<void> opus_encoder::set_expected_loss(int pct) {
  if (profile_ == profile::legacy) return make_error(errc::state_error, "the legacy profile has no FEC");
  if (pct < 0 || pct > 100) return make_error(errc::bad_number, "expected loss percentage must be 0..100");
  const int err = opus_encoder_ctl(enc_.get(), OPUS_SET_PACKET_LOSS_PERC(pct));
  if (err != OPUS_OK) return opus_failure("OPUS_SET_PACKET_LOSS_PERC", err);
  return {};
}

// -- decoder --

void opus_decoder::deleter::operator()(OpusDecoder* d) const noexcept { opus_decoder_destroy(d); }

result<opus_decoder> opus_decoder::create(profile p) {
  int err = OPUS_OK;
  OpusDecoder* raw = opus_decoder_create(limits::audio_sample_rate, 1, &err);
  if (err != OPUS_OK || raw == nullptr) return opus_failure("opus_decoder_create", err);
  return opus_decoder{p, raw};
}

result<std::vector<std::int16_t>> opus_decoder::run(const std::uint8_t* data, std::size_t len, int max_samples,
                                                     int fec) {
  std::vector<std::int16_t> pcm(static_cast<std::size_t>(max_samples));
  const int n = opus_decode(dec_.get(), data, static_cast<opus_int32>(len), pcm.data(), max_samples, fec);
  if (n < 0) return opus_failure("opus_decode", n);
  pcm.resize(static_cast<std::size_t>(n));
  return pcm;
}

result<std::vector<std::int16_t>> opus_decoder::decode(std::span<const std::uint8_t> packet) {
  // An empty packet would silently mean "conceal" to libopus; callers must say so explicitly.
  if (packet.empty()) return make_error(errc::malformed, "opus decode: empty packet");
  if (packet.size() > limits::max_audio_packet)
    return make_error(errc::too_long, "opus decode: packet over 1275 bytes");
  return run(packet.data(), packet.size(), max_frame_samples, 0);
}

result<std::vector<std::int16_t>> opus_decoder::decode_plc(int samples) {
  if (!valid_frame_size(samples))
    return make_error(errc::bad_number, "opus PLC: frame size must be a multiple of 2.5 ms up to 120 ms");
  return run(nullptr, 0, samples, 0);
}

result<std::vector<std::int16_t>> opus_decoder::decode_fec(std::span<const std::uint8_t> next_packet, int samples) {
  if (!valid_frame_size(samples))
    return make_error(errc::bad_number, "opus FEC: frame size must be a multiple of 2.5 ms up to 120 ms");
  if (next_packet.empty()) return make_error(errc::malformed, "opus FEC: empty packet");
  if (next_packet.size() > limits::max_audio_packet)
    return make_error(errc::too_long, "opus FEC: packet over 1275 bytes");
  // With decode_fec=1, frame_size must be exactly the duration of the missing frame.
  return run(next_packet.data(), next_packet.size(), samples, 1);
}

}  // namespace mk::audio
