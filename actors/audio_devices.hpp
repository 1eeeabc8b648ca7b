#pragma once
// The RtAudio half of actors/audio_io (capture and playback devices: a stream whose callback only touches an
// spsc_ring, the device picked by id or the default one, the listing for `voice devices`). Kept apart from the
// file and generated sources so that everything else in audio_io stays plain, device-free C++.

#include <memory>
#include <string_view>

#include "actors/audio_io.hpp"

namespace mk::audio_io {

// `arg`: a device id, or "" for the default device.
result<std::unique_ptr<source>> open_device_source(std::string_view arg, int rate, int frame_samples);
result<std::unique_ptr<sink>> open_device_sink(std::string_view arg, int rate, int frame_samples);

}  // namespace mk::audio_io
