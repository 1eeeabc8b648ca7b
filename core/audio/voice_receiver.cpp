#include "core/audio/voice_receiver.hpp"

namespace mk::audio {

result<voice_receiver> voice_receiver::create(jitter_config cfg) {
  auto dec = opus_decoder::create(profile::modern);
  if (!dec) return std::move(dec).error();
  return voice_receiver{jitter_buffer{cfg}, std::move(*dec), cfg.frame_samples};
}

std::vector<std::int16_t> voice_receiver::conceal() {
  auto plc = decoder_.decode_plc(frame_samples_);
  if (!plc) {
    ++decode_errors_;
    return std::vector<std::int16_t>(static_cast<std::size_t>(frame_samples_), 0);
  }
  return std::move(*plc);
}

std::vector<std::int16_t> voice_receiver::next_frame(time_point now) {
  auto p = jitter_.pop_frame(now);
  std::vector<std::int16_t> out;
  switch (p.kind) {
    case playout_kind::packet: {
      auto pcm = decoder_.decode(p.packet);
      if (pcm) {
        out = std::move(*pcm);
        decoded_any_ = true;
      } else {
        ++decode_errors_;  // a corrupt packet is a lost frame
        out = conceal();
      }
      underrun_run_ = 0;
      break;
    }
    case playout_kind::fec: {
      auto pcm = decoder_.decode_fec(p.packet, frame_samples_);
      if (pcm) {
        out = std::move(*pcm);
      } else {
        ++decode_errors_;
        out = conceal();
      }
      underrun_run_ = 0;
      break;
    }
    case playout_kind::conceal:
      out = conceal();
      break;
    case playout_kind::underrun:
    case playout_kind::idle:
      // PLC bridges a short gap (a late packet); after a few frames it is silence, which Opus also fades to.
      if (decoded_any_ && underrun_run_ < max_underrun_plc) {
        ++underrun_run_;
        out = conceal();
      }
      break;
  }
  // A peer may send packets of another duration; the player needs fixed frames.
  out.resize(static_cast<std::size_t>(frame_samples_), 0);
  return out;
}

}  // namespace mk::audio
