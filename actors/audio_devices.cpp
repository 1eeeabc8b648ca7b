// Audio devices through RtAudio (actors/audio_devices.hpp).
#include "actors/audio_devices.hpp"

#include <unistd.h>

#include <charconv>
#include <string>

#include <RtAudio.h>
#ifdef MK_HAVE_ALSA
#include <alsa/asoundlib.h>
#endif

#include "core/limits.hpp"

namespace mk::audio_io {

namespace {

constexpr std::string_view no_device_hint =
  "voice calls need an audio device or a file source (network.audio.input = \"wav:<path>\", \"tone:<hz>\" or "
  "\"silence\"; network.audio.output = \"wav:<path>\" or \"null\")";

// -- devices (RtAudio) ------------------------------------------------------------------------------------------

#ifdef MK_HAVE_ALSA
void quiet_alsa(const char*, int, const char*, int, const char*, ...) {}
#endif

// The first compiled API that has a device. JACK is not probed: without a server it prints connection noise,
// and a JACK system normally exposes its devices through ALSA or Pulse too.
std::unique_ptr<RtAudio> open_api() {
#ifdef MK_HAVE_ALSA
  static const bool silenced = [] { return snd_lib_error_set_handler(quiet_alsa) == 0; }();
  (void)silenced;
#endif
  for (auto api : {RtAudio::LINUX_ALSA, RtAudio::LINUX_PULSE}) {
    try {
      auto a = std::make_unique<RtAudio>(api);
      a->showWarnings(false);
      if (a->getCurrentApi() == api && a->getDeviceCount() > 0)
        return a;
    } catch (const RtAudioError&) {
    }
  }
  return nullptr;
}

// Picks "device" (default) or "device:<id>" for the given direction.
result<unsigned> pick_device(RtAudio& a, std::string_view arg, bool input) {
  unsigned id = input ? a.getDefaultInputDevice() : a.getDefaultOutputDevice();
  if (!arg.empty()) {
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), id);
    if (ec != std::errc{} || end != arg.data() + arg.size())
      return make_error(errc::config_error, "bad device id \"" + std::string{arg} + "\" (see voice devices)");
  }
  if (id >= a.getDeviceCount())
    return make_error(errc::not_found, "no audio device " + std::to_string(id) + " (see voice devices)");
  auto info = a.getDeviceInfo(id);
  if (!info.probed || (input ? info.inputChannels : info.outputChannels) == 0)
    return make_error(errc::not_found, "audio device " + std::to_string(id) + " has no " +
                                         (input ? "input" : "output") + " (see voice devices)");
  return id;
}

// One RtAudio stream in one direction. The callback touches nothing but the ring.
class device_stream {
 public:
  device_stream(std::unique_ptr<RtAudio> a, std::size_t ring_samples) : api_(std::move(a)), ring_(ring_samples) {}
  ~device_stream() {
    try {
      if (api_->isStreamRunning())
        api_->stopStream();
      if (api_->isStreamOpen())
        api_->closeStream();
    } catch (const RtAudioError&) {
    }
  }
  result<void> open(unsigned id, bool input, int rate, int frame_samples) {
    RtAudio::StreamParameters p;
    p.deviceId = id;
    p.nChannels = 1;
    auto frames = static_cast<unsigned>(frame_samples);
    RtAudio::StreamOptions o;
    o.flags = RTAUDIO_MINIMIZE_LATENCY;
    try {
      api_->openStream(input ? nullptr : &p, input ? &p : nullptr, RTAUDIO_SINT16, static_cast<unsigned>(rate),
                       &frames, input ? &capture_cb : &playback_cb, this, &o);
      api_->startStream();
    } catch (const RtAudioError& e) {
      return make_error(errc::io_error, std::string{"audio device: "} + e.what());
    }
    return {};
  }
  spsc_ring& ring() noexcept { return ring_; }

 private:
  static int capture_cb(void*, void* in, unsigned n, double, RtAudioStreamStatus, void* user) {
    auto* self = static_cast<device_stream*>(user);
    self->ring_.write({static_cast<const std::int16_t*>(in), n});  // overflow drops the newest samples
    return 0;
  }
  static int playback_cb(void* out, void*, unsigned n, double, RtAudioStreamStatus, void* user) {
    auto* self = static_cast<device_stream*>(user);
    auto* o = static_cast<std::int16_t*>(out);
    auto got = self->ring_.read({o, n});
    std::fill(o + got, o + n, std::int16_t{0});  // underrun: silence
    return 0;
  }

  std::unique_ptr<RtAudio> api_;
  spsc_ring ring_;
};

class device_source final : public source {
 public:
  explicit device_source(std::unique_ptr<device_stream> s, std::string name) : s_(std::move(s)), name_(std::move(name)) {}
  bool device_paced() const noexcept override { return true; }
  bool read(std::span<std::int16_t> out) override {
    if (s_->ring().size() < out.size())
      return false;
    s_->ring().read(out);
    return true;
  }
  std::string describe() const override { return "device " + name_; }

 private:
  std::unique_ptr<device_stream> s_;
  std::string name_;
};

class device_sink final : public sink {
 public:
  explicit device_sink(std::unique_ptr<device_stream> s, std::string name) : s_(std::move(s)), name_(std::move(name)) {}
  bool device_paced() const noexcept override { return true; }
  void write(std::span<const std::int16_t> in) override {
    // The pipeline's clock and the device's drift apart: never let the queue toward the device grow past
    // limits::audio_device_max_fill (latency), dropping a frame instead.
    constexpr auto max_fill =
      static_cast<std::size_t>(limits::audio_device_max_fill.count() * limits::audio_sample_rate / 1000);
    if (s_->ring().size() + in.size() <= max_fill)
      s_->ring().write(in);
  }
  std::string describe() const override { return "device " + name_; }

 private:
  std::unique_ptr<device_stream> s_;
  std::string name_;
};

template <class T>
result<std::unique_ptr<T>> open_device(std::string_view arg, bool input, int rate, int frame_samples) {
  auto api = open_api();
  if (!api)
    return make_error(errc::not_found, "no audio device found: " + std::string{no_device_hint});
  auto id = pick_device(*api, arg, input);
  if (!id)
    return std::move(id).error();
  auto name = std::to_string(*id) + " (" + api->getDeviceInfo(*id).name + ")";
  auto ring = static_cast<std::size_t>(limits::audio_device_ring.count() * rate / 1000);
  auto s = std::make_unique<device_stream>(std::move(api), ring);
  if (auto r = s->open(*id, input, rate, frame_samples); !r)
    return std::move(r).error();
  return std::make_unique<T>(std::move(s), std::move(name));
}

}  // namespace

result<std::unique_ptr<source>> open_device_source(std::string_view arg, int rate, int frame_samples) {
  auto d = open_device<device_source>(arg, true, rate, frame_samples);
  if (!d)
    return std::move(d).error();
  return std::unique_ptr<source>(std::move(*d));
}

result<std::unique_ptr<sink>> open_device_sink(std::string_view arg, int rate, int frame_samples) {
  auto d = open_device<device_sink>(arg, false, rate, frame_samples);
  if (!d)
    return std::move(d).error();
  return std::unique_ptr<sink>(std::move(*d));
}

mokaccino::audio_devices list_devices() {
  mokaccino::audio_devices out;
  auto api = open_api();
  if (!api) {
    out.note = "No audio device found; " + std::string{no_device_hint};
    return out;
  }
  out.api = RtAudio::getApiDisplayName(api->getCurrentApi());
  auto n = api->getDeviceCount();
  for (unsigned i = 0; i < n; ++i) {
    try {
      auto d = api->getDeviceInfo(i);
      if (d.probed)
        out.devices.push_back({i, d.name, d.inputChannels, d.outputChannels, d.isDefaultInput, d.isDefaultOutput});
    } catch (const RtAudioError&) {
    }
  }
  if (out.devices.empty())
    out.note = "No audio device found (" + out.api + " lists none that can be opened); " + std::string{no_device_hint};
  return out;
}

bool have_devices() { return open_api() != nullptr; }

}  // namespace mk::audio_io
