#include "core/audio/wav.hpp"

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

#include "core/limits.hpp"

namespace mk::audio {

namespace {

constexpr std::uint16_t format_pcm = 1;
constexpr std::uint16_t format_extensible = 0xFFFE;

std::uint16_t le16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] | (b[at + 1] << 8));
}
std::uint32_t le32(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | (static_cast<std::uint32_t>(b[at + 1]) << 8) |
         (static_cast<std::uint32_t>(b[at + 2]) << 16) | (static_cast<std::uint32_t>(b[at + 3]) << 24);
}
void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
// (push_back, not vector::insert of a list: GCC 12 warns falsely about the latter at -O2, -Wstringop-overflow)
void put_tag(std::vector<std::uint8_t>& out, const char (&tag)[5]) {
  for (std::size_t i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(tag[i]));
}
bool tag_is(std::span<const std::uint8_t> b, std::size_t at, const char (&tag)[5]) {
  for (std::size_t i = 0; i < 4; ++i)
    if (b[at + i] != static_cast<std::uint8_t>(tag[i])) return false;
  return true;
}
mk::error bad(std::string what) { return make_error(errc::malformed, "WAV: " + std::move(what)); }

struct fmt_chunk {
  std::uint16_t format = 0;
  std::uint16_t channels = 0;
  std::uint32_t rate = 0;
  std::uint16_t block_align = 0;
  std::uint16_t bits = 0;
};

result<fmt_chunk> parse_fmt(std::span<const std::uint8_t> c) {
  if (c.size() < 16) return bad("fmt chunk shorter than 16 bytes");
  fmt_chunk f{le16(c, 0), le16(c, 2), le32(c, 4), le16(c, 12), le16(c, 14)};
  if (f.format == format_extensible) {
    // WAVEFORMATEXTENSIBLE: the real format code is the first 2 bytes of the SubFormat GUID at offset 24.
    if (c.size() < 40) return bad("extensible fmt chunk shorter than 40 bytes");
    f.format = le16(c, 24);
  }
  if (f.format != format_pcm)
    return bad("unsupported sample format " + std::to_string(f.format) + " (only 16-bit integer PCM)");
  if (f.bits != 16) return bad("unsupported " + std::to_string(f.bits) + "-bit samples (only 16-bit PCM)");
  if (f.channels != 1 && f.channels != 2)
    return bad("unsupported channel count " + std::to_string(f.channels) + " (mono or stereo only)");
  if (f.block_align != f.channels * 2) return bad("block align does not match 16-bit samples");
  if (f.rate == 0) return bad("sample rate 0");
  return f;
}

}  // namespace

result<wav_audio> parse_wav(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 12) return bad("shorter than a RIFF header");
  if (!tag_is(bytes, 0, "RIFF") || !tag_is(bytes, 8, "WAVE")) return bad("not a RIFF/WAVE file");
  std::optional<fmt_chunk> fmt;
  std::size_t at = 12;
  while (at + 8 <= bytes.size()) {
    const std::size_t size = le32(bytes, at + 4);
    const std::size_t body = at + 8;
    const std::size_t avail = bytes.size() - body;
    if (tag_is(bytes, at, "fmt ")) {
      if (size > avail) return bad("truncated fmt chunk");
      auto f = parse_fmt(bytes.subspan(body, size));
      if (!f) return std::move(f).error();
      fmt = *f;
    } else if (tag_is(bytes, at, "data")) {
      if (!fmt) return bad("data chunk before fmt chunk");
      // Streaming writers leave the size at 0 or 0xFFFFFFFF; a crashed one leaves it too large. Take what is
      // there, in whole sample frames.
      std::size_t len = (size == 0 || size > avail) ? avail : size;
      const std::size_t frame = fmt->block_align;
      len -= len % frame;
      wav_audio out;
      out.sample_rate = fmt->rate;
      out.samples.reserve(len / frame);
      for (std::size_t i = body; i < body + len; i += frame) {
        const auto l = static_cast<std::int16_t>(le16(bytes, i));
        if (fmt->channels == 1) {
          out.samples.push_back(l);
        } else {
          const auto r = static_cast<std::int16_t>(le16(bytes, i + 2));
          // Mean of the channels: cannot overflow int16 and keeps the level of a centred mono signal.
          out.samples.push_back(static_cast<std::int16_t>((static_cast<int>(l) + r) / 2));
        }
      }
      return out;
    }
    if (size > avail) break;
    at = body + size + (size & 1u);  // chunks are word-aligned
  }
  return bad(fmt ? "no data chunk" : "no fmt chunk");
}

std::vector<std::uint8_t> serialize_wav(const wav_audio& audio) {
  const auto data_bytes = static_cast<std::uint32_t>(audio.samples.size() * 2);
  std::vector<std::uint8_t> out;
  out.reserve(44 + data_bytes);
  put_tag(out, "RIFF");
  put32(out, 36 + data_bytes);
  put_tag(out, "WAVE");
  put_tag(out, "fmt ");
  put32(out, 16);
  put16(out, format_pcm);
  put16(out, 1);  // mono
  put32(out, audio.sample_rate);
  put32(out, audio.sample_rate * 2);  // byte rate
  put16(out, 2);                      // block align
  put16(out, 16);                     // bits per sample
  put_tag(out, "data");
  put32(out, data_bytes);
  for (std::int16_t s : audio.samples) put16(out, static_cast<std::uint16_t>(s));
  return out;
}

result<wav_audio> read_wav_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(errc::io_error, "cannot read " + path.string() + ": " + ec.message());
  if (size > limits::max_wav_bytes)
    return make_error(errc::too_long, path.string() + ": WAV file larger than " +
                                          std::to_string(limits::max_wav_bytes >> 20) + " MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::io_error, "cannot open " + path.string());
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (in.gcount() != static_cast<std::streamsize>(bytes.size()))
    return make_error(errc::io_error, "short read from " + path.string());
  auto wav = parse_wav(bytes);
  if (!wav) return make_error(wav.error().code, path.string() + ": " + wav.error().message);
  return wav;
}

result<void> write_wav_file(const std::filesystem::path& path, const wav_audio& audio) {
  if (audio.samples.size() * 2 > limits::max_wav_bytes)
    return make_error(errc::too_long, "WAV: too many samples to write");
  const auto bytes = serialize_wav(audio);
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return make_error(errc::io_error, "cannot create " + tmp.string());
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ignore;
      std::filesystem::remove(tmp, ignore);
      return make_error(errc::io_error, "cannot write " + tmp.string());
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignore;
    std::filesystem::remove(tmp, ignore);
    return make_error(errc::io_error, "cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  }
  return {};
}

}  // namespace mk::audio
