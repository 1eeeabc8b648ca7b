#include "actors/audio_io.hpp"
#include "actors/audio_devices.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <optional>

#include "core/audio/wav.hpp"
#include "core/limits.hpp"

namespace mk::audio_io {

// -- spsc_ring -----------------------------------------------------------------------------------------------

spsc_ring::spsc_ring(std::size_t capacity)
    : buf_(std::bit_ceil(std::max<std::size_t>(capacity, 2))), mask_(buf_.size() - 1) {}

std::size_t spsc_ring::write(std::span<const std::int16_t> in) noexcept {
  auto h = head_.load(std::memory_order_relaxed);
  auto t = tail_.load(std::memory_order_acquire);
  auto n = std::min(in.size(), capacity() - (h - t));
  for (std::size_t i = 0; i < n; ++i)
    buf_[(h + i) & mask_] = in[i];
  head_.store(h + n, std::memory_order_release);
  return n;
}

std::size_t spsc_ring::read(std::span<std::int16_t> out) noexcept {
  auto t = tail_.load(std::memory_order_relaxed);
  auto h = head_.load(std::memory_order_acquire);
  auto n = std::min(out.size(), h - t);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = buf_[(t + i) & mask_];
  tail_.store(t + n, std::memory_order_release);
  return n;
}

std::size_t spsc_ring::size() const noexcept {
  return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire);
}

namespace {


// -- clock-paced sources ---------------------------------------------------------------------------------------

class silence_source final : public source {
 public:
  bool read(std::span<std::int16_t> out) override {
    std::fill(out.begin(), out.end(), std::int16_t{0});
    return true;
  }
  std::string describe() const override { return "silence"; }
};

class tone_source final : public source {
 public:
  tone_source(double hz, int rate) : step_(2 * std::numbers::pi * hz / rate), hz_(hz) {}
  bool read(std::span<std::int16_t> out) override {
    for (auto& s : out) {
      s = static_cast<std::int16_t>(std::lround(limits::audio_tone_amplitude * std::sin(phase_)));
      phase_ = std::fmod(phase_ + step_, 2 * std::numbers::pi);  // bounded phase: no precision drift in long calls
    }
    return true;
  }
  std::string describe() const override { return "tone " + std::to_string(static_cast<int>(hz_)) + " Hz"; }

 private:
  double phase_ = 0, step_, hz_;
};

// Plays the file once, then silence (voice activation then stops sending).
class wav_source final : public source {
 public:
  wav_source(std::vector<std::int16_t> s, std::string path) : samples_(std::move(s)), path_(std::move(path)) {}
  bool read(std::span<std::int16_t> out) override {
    auto n = std::min(out.size(), samples_.size() - pos_);
    std::copy_n(samples_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out.begin());
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), std::int16_t{0});
    pos_ += n;
    return true;
  }
  std::string describe() const override { return "WAV file " + path_; }

 private:
  std::vector<std::int16_t> samples_;
  std::size_t pos_ = 0;
  std::string path_;
};

// -- sinks ------------------------------------------------------------------------------------------------------

class null_sink final : public sink {
 public:
  void write(std::span<const std::int16_t>) override {}
  std::string describe() const override { return "null"; }
};

// Streams to "<path>.tmp" (a long call never sits in memory) and renames it over path when the call ends, with
// the RIFF and data sizes patched in, so a reader never sees a half-written file.
class wav_sink final : public sink {
 public:
  static result<std::unique_ptr<sink>> open(const std::string& path, int rate) {
    auto s = std::unique_ptr<wav_sink>(new wav_sink(path));
    s->out_.open(s->tmp_, std::ios::binary | std::ios::trunc);
    if (!s->out_)
      return make_error(errc::io_error, "cannot write the audio output file " + s->tmp_.string());
    auto header = audio::serialize_wav(audio::wav_audio{static_cast<std::uint32_t>(rate), {}});
    s->out_.write(reinterpret_cast<const char*>(header.data()), static_cast<std::streamsize>(header.size()));
    return std::unique_ptr<sink>(std::move(s));
  }
  ~wav_sink() override {
    if (!finished_) {
      out_.close();
      std::error_code ec;
      std::filesystem::remove(tmp_, ec);
    }
  }
  void write(std::span<const std::int16_t> in) override {
    if (finished_ || bytes_ >= limits::max_wav_sink_bytes)
      return;
    for (auto s : in) {  // little-endian whatever the host
      auto u = static_cast<std::uint16_t>(s);
      buf_.push_back(static_cast<char>(u & 0xff));
      buf_.push_back(static_cast<char>(u >> 8));
    }
    bytes_ += 2 * in.size();
    // libstdc++ hands any write of 1 KiB or more straight to the kernel: gather frames into larger writes.
    if (buf_.size() >= flush_bytes)
      flush();
  }
  result<void> finish() override {
    if (finished_)
      return {};
    finished_ = true;
    flush();
    put_u32(4, static_cast<std::uint32_t>(36 + bytes_));  // RIFF chunk size (canonical 44-byte header)
    put_u32(40, static_cast<std::uint32_t>(bytes_));      // data chunk size
    out_.close();
    if (!out_)
      return make_error(errc::io_error, "cannot finish the audio output file " + tmp_.string());
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec)
      return make_error(errc::io_error, "cannot rename " + tmp_.string() + ": " + ec.message());
    return {};
  }
  std::string describe() const override { return "WAV file " + path_.string(); }

 private:
  // A temp name of its own: a sink opened for the same path before an older one is dropped (a new call request
  // replacing a pending one) must not lose its file to the older one's cleanup.
  explicit wav_sink(std::filesystem::path p)
      : path_(std::move(p)),
        tmp_(path_.string() + "." + std::to_string(::getpid()) + "-" + std::to_string(++serial) + ".tmp") {}
  static inline std::atomic<unsigned> serial{0};
  void put_u32(std::streamoff at, std::uint32_t v) {
    char b[4] = {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff), static_cast<char>((v >> 16) & 0xff),
                 static_cast<char>(v >> 24)};
    out_.seekp(at);
    out_.write(b, 4);
  }

  static constexpr std::size_t flush_bytes = 64 * 1024;  // about 0.7 s of audio
  void flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }

  std::filesystem::path path_, tmp_;
  std::ofstream out_;
  std::vector<char> buf_;
  std::uint64_t bytes_ = 0;
  bool finished_ = false;
};

// "device" / "device:<id>" / "" -> the id text after the colon; nullopt if not a device spec.
std::optional<std::string_view> device_arg(std::string_view spec) {
  if (spec.empty() || spec == "device")
    return std::string_view{};
  if (spec.starts_with("device:"))
    return spec.substr(7);
  return std::nullopt;
}

}  // namespace

result<std::unique_ptr<source>> open_source(const std::string& spec, int rate, int frame_samples) {
  std::string_view s = spec;
  if (auto dev = device_arg(s)) {
    return open_device_source(*dev, rate, frame_samples);
  }
  if (s == "silence")
    return std::unique_ptr<source>(std::make_unique<silence_source>());
  if (s.starts_with("tone:")) {
    double hz = 0;
    auto arg = s.substr(5);
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), hz);
    if (ec != std::errc{} || end != arg.data() + arg.size() || !(hz > 0) || hz >= rate / 2.0)
      return make_error(errc::config_error, "audio input \"" + spec + "\": expected tone:<hz> below " +
                                                  std::to_string(rate / 2) + " Hz");
    return std::unique_ptr<source>(std::make_unique<tone_source>(hz, rate));
  }
  if (s.starts_with("wav:")) {
    auto path = std::string{s.substr(4)};
    auto w = audio::read_wav_file(path);
    if (!w)
      return make_error(errc::io_error, "audio input " + path + ": " + w.error().message);
    if (static_cast<int>(w->sample_rate) != rate)
      return make_error(errc::config_error, "audio input " + path + ": " + std::to_string(w->sample_rate) +
                                                  " Hz, need " + std::to_string(rate) + " Hz");
    return std::unique_ptr<source>(std::make_unique<wav_source>(std::move(w->samples), path));
  }
  return make_error(errc::config_error,
                    "audio input \"" + spec + "\": expected device[:<id>], wav:<path>, tone:<hz> or silence");
}

result<std::unique_ptr<sink>> open_sink(const std::string& spec, int rate, int frame_samples) {
  std::string_view s = spec;
  if (auto dev = device_arg(s)) {
    return open_device_sink(*dev, rate, frame_samples);
  }
  if (s == "null")
    return std::unique_ptr<sink>(std::make_unique<null_sink>());
  if (s.starts_with("wav:"))
    return wav_sink::open(std::string{s.substr(4)}, rate);
  return make_error(errc::config_error,
                    "audio output \"" + spec + "\": expected device[:<id>], wav:<path> or null");
}


}  // namespace mk::audio_io
