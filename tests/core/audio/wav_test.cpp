#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "core/audio/signals.hpp"
#include "core/audio/wav.hpp"

using namespace mk::audio;
namespace fs = std::filesystem;

namespace {


void put16(std::vector<std::uint8_t>& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void tag(std::vector<std::uint8_t>& b, const char* t) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(t[i]));  // (insert: GCC 12 false warning)
}

// A hand-built WAV: format code, channels, bits, an optional extra chunk before "data".
std::vector<std::uint8_t> make_wav(std::uint16_t format, std::uint16_t channels, std::uint16_t bits,
                                   const std::vector<std::int16_t>& interleaved, bool extra_chunk = false) {
  std::vector<std::uint8_t> b;
  tag(b, "RIFF");
  put32(b, 0);  // not checked by readers; many writers get it wrong
  tag(b, "WAVE");
  tag(b, "fmt ");
  put32(b, 16);
  put16(b, format);
  put16(b, channels);
  put32(b, 44100);
  put32(b, 44100u * channels * bits / 8);
  put16(b, static_cast<std::uint16_t>(channels * bits / 8));
  put16(b, bits);
  if (extra_chunk) {
    tag(b, "LIST");
    put32(b, 3);  // odd size: a pad byte follows
    b.insert(b.end(), {'a', 'b', 'c', 0});
  }
  tag(b, "data");
  put32(b, static_cast<std::uint32_t>(interleaved.size() * 2));
  for (auto s : interleaved) put16(b, static_cast<std::uint16_t>(s));
  return b;
}

}  // namespace

TEST_CASE("WAV write/read round trip through real files") {
  mk::test::temp_dir dir{"mk-audio-wav"};
  const auto file = dir.path() / "tone.wav";
  wav_audio a;
  a.sample_rate = 48000;
  a.samples = sweep(200, 4000, 0.5, 48000, 0.8);
  a.samples.push_back(-32768);
  a.samples.push_back(32767);
  REQUIRE(write_wav_file(file, a).ok());
  CHECK_FALSE(fs::exists(dir.path() / "tone.wav.tmp"));
  CHECK(fs::file_size(file) == 44 + a.samples.size() * 2);
  auto b = read_wav_file(file);
  REQUIRE(b.ok());
  CHECK(b->sample_rate == 48000);
  CHECK(b->samples == a.samples);

  // Overwriting replaces the file as a whole.
  wav_audio c{16000, {1, 2, 3}};
  REQUIRE(write_wav_file(file, c).ok());
  auto d = read_wav_file(file);
  REQUIRE(d.ok());
  CHECK(d->sample_rate == 16000);
  CHECK(d->samples == c.samples);
}

TEST_CASE("WAV with 0 samples has a valid header") {
  mk::test::temp_dir dir{"mk-audio-wav"};
  const auto file = dir.path() / "empty.wav";
  REQUIRE(write_wav_file(file, wav_audio{48000, {}}).ok());
  CHECK(fs::file_size(file) == 44);
  auto r = read_wav_file(file);
  REQUIRE(r.ok());
  CHECK(r->samples.empty());
  CHECK(r->sample_rate == 48000);
  const auto bytes = serialize_wav(wav_audio{8000, {}});
  CHECK(std::string(bytes.begin(), bytes.begin() + 4) == "RIFF");
  CHECK((bytes[4] | bytes[5] << 8) == 36);  // RIFF size = 36 + 0
}

TEST_CASE("WAV reader: stereo is mixed down, extra chunks are skipped") {
  const auto bytes = make_wav(1, 2, 16, {1000, 3000, -100, -300, 32767, 32767, -32768, -32768}, true);
  auto r = parse_wav(bytes);
  REQUIRE(r.ok());
  CHECK(r->sample_rate == 44100);
  CHECK(r->samples == std::vector<std::int16_t>{2000, -200, 32767, -32768});
}

TEST_CASE("WAV reader: a data size left too large by a crashed writer reads what is there") {
  auto bytes = make_wav(1, 1, 16, {5, 6, 7});
  bytes[40] = 0xFF;  // data size = 0xFFFFFFFF (streaming writers)
  bytes[41] = 0xFF;
  bytes[42] = 0xFF;
  bytes[43] = 0xFF;
  bytes.push_back(9);  // a half sample at the end is ignored
  auto r = parse_wav(bytes);
  REQUIRE(r.ok());
  CHECK(r->samples == std::vector<std::int16_t>{5, 6, 7});
}

TEST_CASE("WAV reader rejects other formats with a clear message") {
  auto float_wav = make_wav(3, 1, 32, {0, 0});
  auto r = parse_wav(float_wav);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == mk::errc::malformed);
  CHECK(r.error().message.find("sample format 3") != std::string::npos);

  r = parse_wav(make_wav(1, 1, 8, {0}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("8-bit") != std::string::npos);

  r = parse_wav(make_wav(1, 6, 16, {0, 0, 0, 0, 0, 0}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("channel count 6") != std::string::npos);

  const std::string text = "this is not a wav file at all";
  r = parse_wav(std::vector<std::uint8_t>(text.begin(), text.end()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("RIFF/WAVE") != std::string::npos);

  auto no_data = make_wav(1, 1, 16, {});
  no_data.resize(36);  // cut before the data chunk
  r = parse_wav(no_data);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("no data chunk") != std::string::npos);

  r = parse_wav(std::vector<std::uint8_t>{});
  CHECK_FALSE(r.ok());
}

TEST_CASE("WAV file errors name the file") {
  mk::test::temp_dir dir{"mk-audio-wav"};
  auto r = read_wav_file(dir.path() / "missing.wav");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == mk::errc::io_error);
  CHECK(r.error().message.find("missing.wav") != std::string::npos);

  const auto junk = dir.path() / "junk.wav";
  {
    std::ofstream out(junk, std::ios::binary);
    out << "RIFF\x10\0\0\0WAVEjunk";
  }
  r = read_wav_file(junk);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("junk.wav") != std::string::npos);

  // Writing into a directory that does not exist fails cleanly.
  auto w = write_wav_file(dir.path() / "no" / "such" / "dir.wav", wav_audio{});
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().code == mk::errc::io_error);
}
