// A call between two mokaccino nodes through a fault-injecting UDP relay: 5% loss and 0-30 ms of random delay
// (which reorders) on the media. The jitter buffer, FEC and PLC must keep the signal recognisable, with a bounded
// latency.
#include <doctest/doctest.h>

#include <thread>

#include "support/voice_harness.hpp"
#include "support/voice_relay.hpp"

using namespace mk;
using namespace mk::test;

TEST_CASE("a call through 5% loss and 30 ms of jitter stays recognisable with bounded latency") {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  const auto input = test_signal();
  auto make = [&](const std::string& user) {
    auto c = make_config(user);
    c.audio.default_action = config::action::accept;
    c.audio_input = "wav:" + file_in(dir, (user + "-in.wav"));
    c.audio_output = "wav:" + file_in(dir, (user + "-out.wav"));
    write_signal(file_in(dir, (user + "-in.wav")), input);
    return start_node(sys, c);
  };
  auto alice = make("alice");
  auto bob = make("bob");
  voice_relay relay{bob.port()};
  REQUIRE(ask<command_reply>(sys, alice.handle.node, connect_host_atom::value,
                             "127.0.0.1:" + std::to_string(relay.front_port()))
            .ok);
  REQUIRE(alice.events->wait_kind(event_kind::connected));
  REQUIRE(bob.events->wait_kind(event_kind::connected));
  // Both ends must know the other speaks the extended formats (MKCAPS) for this test of the 20 ms path.
  for (int i = 0; i < 100 && !ask<peer_info>(sys, alice.handle.node, user_info_atom::value, std::string{"bob"}).mokaccino; ++i)
    std::this_thread::sleep_for(20ms);
  for (int i = 0; i < 100 && !ask<peer_info>(sys, bob.handle.node, user_info_atom::value, std::string{"alice"}).mokaccino; ++i)
    std::this_thread::sleep_for(20ms);

  REQUIRE(ask<command_reply>(sys, alice.handle.node, voice_start_atom::value, std::string{"bob"}).ok);
  auto a_started = wait_call(*alice.events, "started");
  auto b_started = wait_call(*bob.events, "started");
  REQUIRE(a_started);
  REQUIRE(b_started);
  relay.set_faults(0.05, 30ms);  // the call setup passed cleanly; the media get the faults
  std::this_thread::sleep_for(std::chrono::milliseconds{static_cast<int>((sweep_seconds + tone_seconds) * 1000) + 600});
  relay.set_faults(0, 0ms);  // so that AUDIOSTOP arrives
  std::this_thread::sleep_for(100ms);
  REQUIRE(ask<command_reply>(sys, alice.handle.node, voice_stop_atom::value).ok);
  auto a_end = wait_call(*alice.events, "ended");
  auto b_end = wait_call(*bob.events, "ended");
  REQUIRE(a_end);
  REQUIRE(b_end);
  CHECK(relay.dropped() > 0);

  int lost_total = 0;
  for (auto [sender, receiver, rx_end, who] : {std::tuple{&*a_started, &*b_started, &*b_end, std::string{"bob"}},
                                               std::tuple{&*b_started, &*a_started, &*a_end, std::string{"alice"}}}) {
    CAPTURE(who);
    auto rec = read_signal(file_in(dir, (who + "-out.wav")));
    auto q = measure(input, rec);
    const double origin_ms = std::stod(call_field(*receiver, "playback_t0_us")) / 1000 -
                             std::stod(call_field(*sender, "capture_t0_us")) / 1000;
    const auto pieces = judge_pieces(input, rec, origin_ms);
    MESSAGE("5% loss + 30 ms jitter, to " << who << ": " << pieces.text() << " (global alignment "
                                          << origin_ms + q.lag_ms << " ms), correlation "
                                          << q.correlation << ", SNR " << q.snr << " dB, tone " << q.tone_freq
                                          << " Hz; received " << call_field(*rx_end, "received") << ", lost "
                                          << call_field(*rx_end, "lost") << " (fec " << call_field(*rx_end, "fec") << ", plc "
                                          << call_field(*rx_end, "concealed") << "), late " << call_field(*rx_end, "late")
                                          << ", target delay " << call_field(*rx_end, "target_delay_ms") << " ms, jitter "
                                          << call_field(*rx_end, "jitter_ms") << " ms");
    lost_total += std::stoi(call_field(*rx_end, "lost"));
    CHECK(pieces.mean_correlation > 0.8);  // every piece of the signal is there, well recognisable
    CHECK(q.tone_freq == doctest::Approx(tone_hz).epsilon(0.003));
    CHECK(pieces.min_ms() > 20);
    CHECK(pieces.max_ms() < 200);  // frame + relay delay (<= 30 ms) + jitter buffer (<= 120 ms), for every piece
    CHECK(std::stod(call_field(*rx_end, "target_delay_ms")) <= 120);
  }
  CHECK(lost_total > 0);  // the relay's losses were seen and repaired (FEC or PLC), not silently absent
  stop_node(alice);
  stop_node(bob);
}
