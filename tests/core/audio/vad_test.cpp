#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "core/audio/signals.hpp"
#include "core/audio/vad.hpp"

using namespace mk::audio;

TEST_CASE("VAD volume is the integer mean of |sample|") {
  CHECK(volume(std::vector<std::int16_t>{}) == 0);
  CHECK(volume(std::vector<std::int16_t>{10, -10, 10, -10}) == 10);
  CHECK(volume(std::vector<std::int16_t>{1, 2}) == 1);  // 1.5 truncates
  CHECK(volume(std::vector<std::int16_t>{-32768, -32768}) == 32768);
  CHECK(volume(std::vector<std::int16_t>(120, -32768)) == 32768);
}

TEST_CASE("VAD threshold semantics (PROTOCOL §9)") {
  const std::vector<std::int16_t> quiet(120, 39);
  const std::vector<std::int16_t> edge(120, -40);
  const std::vector<std::int16_t> zero(120, 0);
  CHECK_FALSE(should_send(quiet, 40));  // volume < threshold: not sent
  CHECK(should_send(edge, 40));         // volume == threshold: sent
  CHECK(should_send(zero, 0));          // 0 = voice activation off: always sent
  CHECK_FALSE(should_send(zero, 1));
  const auto loud = tone(440, 0.0025, 48000, 0.1);
  CHECK(loud.size() == 120);
  CHECK(should_send(loud, 40));
}
