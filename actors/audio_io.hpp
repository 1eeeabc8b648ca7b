#pragma once
// Audio sources and sinks of the voice pipeline behind one small interface (issue "Voice calls"):
//   input:  ""  or "device[:<id>]" (RtAudio capture), "wav:<path>", "tone:<hz>", "silence"
//   output: ""  or "device[:<id>]" (RtAudio playback), "wav:<path>", "null"
// The pipeline actor pulls and pushes whole frames on its own timer. Device callbacks run on RtAudio's thread and
// only touch an spsc_ring (lock-free, no allocation), so a device never blocks an actor and an actor never blocks
// a device. No CAF here: this layer is plain C++ (and testable alone).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "mokaccino/types.hpp"

namespace mk::audio_io {

// Single-producer single-consumer ring of int16 samples. One thread writes, another reads; no locks.
class spsc_ring {
 public:
  explicit spsc_ring(std::size_t capacity);  // rounded up to a power of two

  // Producer side: copies as many samples as fit; returns how many were written.
  std::size_t write(std::span<const std::int16_t> in) noexcept;
  // Consumer side: copies up to out.size() samples; returns how many were read.
  std::size_t read(std::span<std::int16_t> out) noexcept;

  std::size_t size() const noexcept;  // samples readable now (a snapshot)
  std::size_t capacity() const noexcept { return mask_ + 1; }

 private:
  std::vector<std::int16_t> buf_;
  std::size_t mask_;
  alignas(64) std::atomic<std::size_t> head_{0};  // next write position (producer owns)
  alignas(64) std::atomic<std::size_t> tail_{0};  // next read position (consumer owns)
};

class source {
 public:
  virtual ~source() = default;
  // true: a device delivers samples at its own pace (read() may say "not yet"); false: the caller's clock paces it.
  virtual bool device_paced() const noexcept { return false; }
  // Fills `out` completely and returns true, or returns false (device not ready: nothing consumed).
  virtual bool read(std::span<std::int16_t> out) = 0;
  virtual std::string describe() const = 0;
};

class sink {
 public:
  virtual ~sink() = default;
  // true: a device drains what is written in real time; false: a file or nothing, written at the caller's pace.
  virtual bool device_paced() const noexcept { return false; }
  virtual void write(std::span<const std::int16_t> in) = 0;
  // Flushes and closes (a WAV gets its final header). Called once at the end of a call.
  virtual result<void> finish() { return {}; }
  virtual std::string describe() const = 0;
};

// Parse a spec (see above) and open it for `rate` Hz mono. Errors name the spec and say what failed; with no sound
// card a device spec fails with a message that calls need a device or a file source.
result<std::unique_ptr<source>> open_source(const std::string& spec, int rate, int frame_samples);
result<std::unique_ptr<sink>> open_sink(const std::string& spec, int rate, int frame_samples);

// The capture/playback devices RtAudio can probe, or (in `note`) why there are none and what to use instead.
mokaccino::audio_devices list_devices();
// Whether any audio device exists (quietly: ALSA/Pulse noise is silenced).
bool have_devices();

}  // namespace mk::audio_io
