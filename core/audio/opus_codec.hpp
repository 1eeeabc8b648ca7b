#pragma once
// RAII wrappers over libopus for the two voice wire formats (PROTOCOL §9).
// - legacy: what an original node can receive: 2.5 ms frames, every packet padded to exactly 60 bytes.
// - modern: between mokaccino nodes: 20 ms frames, in-band FEC, no DTX.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/result.hpp"

struct OpusEncoder;
struct OpusDecoder;

namespace mk::audio {

enum class profile { legacy, modern };

// Samples per frame of a profile at 48 kHz.
int frame_samples(profile p) noexcept;

class opus_encoder {
 public:
  // expected_loss_pct tunes how much the modern profile spends on FEC; complexity (0..10, Opus's speed/quality
  // trade-off) defaults to limits::modern_complexity. Both are ignored by legacy (§9 fixes its settings).
  static result<opus_encoder> create(profile p, int expected_loss_pct = -1, int complexity = -1);

  // Encodes exactly frame_samples() samples. Legacy packets are always exactly 60 bytes (§9 MUST).
  result<std::vector<std::uint8_t>> encode(std::span<const std::int16_t> frame);

  // Changes the FEC loss hint at run time (modern only; legacy returns state_error).
  result<void> set_expected_loss(int pct);

  profile kind() const noexcept { return profile_; }
  int frame_samples() const noexcept { return audio::frame_samples(profile_); }

 private:
  struct deleter {
    void operator()(OpusEncoder* e) const noexcept;
  };
  opus_encoder(profile p, OpusEncoder* e) : profile_(p), enc_(e) {}

  profile profile_;
  std::unique_ptr<OpusEncoder, deleter> enc_;
};

class opus_decoder {
 public:
  static result<opus_decoder> create(profile p);

  // Decodes one packet; the packet's own duration decides the sample count (any legal Opus frame size).
  result<std::vector<std::int16_t>> decode(std::span<const std::uint8_t> packet);
  // Packet-loss concealment for one missing frame of frame_samples samples (a multiple of 2.5 ms).
  result<std::vector<std::int16_t>> decode_plc(int frame_samples);
  // Recovers the frame BEFORE next_packet from its in-band FEC data (falls back to PLC inside libopus
  // when next_packet carries none).
  result<std::vector<std::int16_t>> decode_fec(std::span<const std::uint8_t> next_packet, int frame_samples);

  profile kind() const noexcept { return profile_; }
  int frame_samples() const noexcept { return audio::frame_samples(profile_); }

 private:
  struct deleter {
    void operator()(OpusDecoder* d) const noexcept;
  };
  opus_decoder(profile p, OpusDecoder* d) : profile_(p), dec_(d) {}

  result<std::vector<std::int16_t>> run(const std::uint8_t* data, std::size_t len, int max_samples, int fec);

  profile profile_;
  std::unique_ptr<OpusDecoder, deleter> dec_;
};

}  // namespace mk::audio
