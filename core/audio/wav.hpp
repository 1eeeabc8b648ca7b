#pragma once
// 16-bit PCM WAV for headless calls and tests: a WAV file as an audio source or sink (issue "Voice calls").
// Pure functions on byte buffers, plus thin file helpers.

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "core/result.hpp"

namespace mk::audio {

struct wav_audio {
  std::uint32_t sample_rate = 48000;
  std::vector<std::int16_t> samples;  // mono
};

// Accepts RIFF/WAVE with PCM (or EXTENSIBLE PCM) 16-bit, 1 or 2 channels; stereo is mixed down to mono.
// Anything else is rejected with a message naming what was found.
result<wav_audio> parse_wav(std::span<const std::uint8_t> bytes);

// A canonical 44-byte header + data; valid for 0 samples too.
std::vector<std::uint8_t> serialize_wav(const wav_audio& audio);

result<wav_audio> read_wav_file(const std::filesystem::path& path);
// Writes to "<path>.tmp" and renames it over path, so a reader never sees a half-written file.
result<void> write_wav_file(const std::filesystem::path& path, const wav_audio& audio);

}  // namespace mk::audio
