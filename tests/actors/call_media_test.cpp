// A call's media thread and the router that hands it the partner's packets: real Opus frames, a real thread, and
// a CAF actor standing in for the partner's session.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include <caf/all.hpp>

#include "actors/audio_io.hpp"
#include "actors/call_media.hpp"
#include "actors/messages.hpp"
#include "core/audio/opus_codec.hpp"
#include "core/wire/messages.hpp"

using namespace mk;
using namespace std::chrono_literals;

namespace {

audio_pipeline make_pipeline() {
  auto src = audio_io::open_source("tone:440", 48000, 960);
  auto snk = audio_io::open_sink("null", 48000, 960);
  REQUIRE(src.ok());
  REQUIRE(snk.ok());
  auto p = audio_pipeline::create(std::move(*src), std::move(*snk), true, 0, std::chrono::steady_clock::now());
  REQUIRE(p.ok());
  return std::move(*p);
}

}  // namespace

TEST_CASE("call media: sends its frames to the session on its own clock and plays what the router hands it") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor session{sys};
  auto media = std::make_shared<call_media>(make_pipeline(), caf::actor_cast<caf::actor>(session));
  call_router router;
  router.set("bob", media);

  auto enc = audio::opus_encoder::create(audio::profile::modern);
  REQUIRE(enc.ok());
  std::vector<std::int16_t> pcm(960, 1000);
  int taken = 0;
  for (std::uint32_t k = 0; k < 10; ++k) {
    auto packet = enc->encode(pcm);
    REQUIRE(packet.ok());
    wire::message m = wire::voice_msg{k, k * 960, *packet};
    taken += router.deliver("bob", m);
    CHECK_FALSE(router.deliver("eve", m));  // only the partner's media
    std::this_thread::sleep_for(20ms);
  }
  CHECK(taken == 10);
  CHECK_FALSE(router.deliver("bob", wire::message{wire::audio_stop_msg{}}));  // control goes to the service

  // About 200 ms of 20 ms frames reached the session as VOICE lines.
  int lines = 0;
  bool all_voice = true;
  session->receive_while([&] { return lines < 8; })(
    [&](send_line_atom, const std::string& line) {
      ++lines;
      auto m = wire::parse_line(line);
      all_voice = all_voice && m.ok() && std::holds_alternative<wire::voice_msg>(*m);
    },
    caf::after(2s) >> [&] { lines = 100; });
  CHECK(lines == 8);
  CHECK(all_voice);

  router.clear();
  CHECK_FALSE(router.deliver("bob", wire::message{wire::voice_msg{}}));
  auto& p = media->stop();
  CHECK(p.stats().packets_received == 10);
  CHECK(p.stats().packets_rejected == 0);
  CHECK(p.jitter().played >= 1);  // the thread played what it was handed
  media->stop();                  // idempotent
}
