#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "core/audio/jitter_buffer.hpp"
#include "core/audio/legacy_fifo.hpp"

using namespace mk::audio;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t frame = 960;
const time_point t0{};

// A fake packet whose first byte names its seq, so tests can see which packet came out.
std::vector<std::uint8_t> pkt(std::uint32_t seq) { return {static_cast<std::uint8_t>(seq), 0xAA, 0xBB}; }

time_point at_ms(int ms) { return t0 + std::chrono::milliseconds{ms}; }

}  // namespace

TEST_CASE("jitter buffer: idle before the first packet, then in-order playout") {
  jitter_buffer jb;
  CHECK(jb.pop_frame(t0).kind == playout_kind::idle);
  // Start target is 40 ms = 2 frames: the first pop after one packet waits, after two it plays.
  CHECK(jb.insert(100, 100 * frame, pkt(100), at_ms(0)) == insert_result::accepted);
  CHECK(jb.pop_frame(at_ms(1)).kind == playout_kind::idle);
  jb.insert(101, 101 * frame, pkt(101), at_ms(20));
  for (std::uint32_t s = 100; s < 140; ++s) {
    const int now = static_cast<int>((s - 100) * 20) + 21;
    auto p = jb.pop_frame(at_ms(now));
    REQUIRE(p.kind == playout_kind::packet);
    CHECK(p.seq == s);
    CHECK(p.packet == pkt(s));
    jb.insert(s + 2, (s + 2) * frame, pkt(s + 2), at_ms(now + 19));
  }
  CHECK(jb.stats().played == 40);
  CHECK(jb.stats().lost == 0);
  CHECK(jb.stats().late == 0);
  CHECK(jb.stats().underruns == 0);
}

TEST_CASE("jitter buffer: a single packet still plays after the start delay") {
  jitter_buffer jb;
  jb.insert(7, 0, pkt(7), at_ms(0));
  CHECK(jb.pop_frame(at_ms(5)).kind == playout_kind::idle);
  auto p = jb.pop_frame(at_ms(20));
  CHECK(p.kind == playout_kind::packet);
  CHECK(p.seq == 7);
  CHECK(jb.pop_frame(at_ms(40)).kind == playout_kind::underrun);
  CHECK(jb.stats().underruns == 1);
  CHECK(jb.pop_frame(at_ms(60)).kind == playout_kind::idle);  // refilling: no second underrun counted
  CHECK(jb.stats().underruns == 1);
}

TEST_CASE("jitter buffer: reordering inside the buffer is undone") {
  jitter_buffer jb;
  // 3 before 2 before 1, all before the first playout (also extends the stream backwards).
  jb.insert(3, 3 * frame, pkt(3), at_ms(0));
  jb.insert(2, 2 * frame, pkt(2), at_ms(1));
  jb.insert(1, 1 * frame, pkt(1), at_ms(2));
  jb.insert(5, 5 * frame, pkt(5), at_ms(3));
  jb.insert(4, 4 * frame, pkt(4), at_ms(4));
  for (std::uint32_t s = 1; s <= 5; ++s) {
    auto p = jb.pop_frame(at_ms(20 * static_cast<int>(s)));
    REQUIRE(p.kind == playout_kind::packet);
    CHECK(p.seq == s);
  }
  CHECK(jb.stats().played == 5);
  CHECK(jb.stats().lost == 0);
}

TEST_CASE("jitter buffer: duplicates are counted and not played twice") {
  jitter_buffer jb;
  jb.insert(10, 0, pkt(10), at_ms(0));
  CHECK(jb.insert(10, 0, pkt(10), at_ms(1)) == insert_result::duplicate);
  jb.insert(11, frame, pkt(11), at_ms(20));
  CHECK(jb.pop_frame(at_ms(20)).seq == 10);
  // A duplicate of an already played packet is still a duplicate (not "late").
  CHECK(jb.insert(10, 0, pkt(10), at_ms(25)) == insert_result::duplicate);
  CHECK(jb.insert(11, frame, pkt(11), at_ms(26)) == insert_result::duplicate);
  CHECK(jb.stats().duplicates == 3);
  CHECK(jb.stats().late == 0);
  CHECK(jb.pop_frame(at_ms(40)).seq == 11);
  CHECK(jb.stats().played == 2);
}

TEST_CASE("jitter buffer: a lost frame is FEC when the next packet is there, PLC otherwise, late is dropped") {
  jitter_buffer jb;
  jb.insert(0, 0, pkt(0), at_ms(0));
  jb.insert(1, frame, pkt(1), at_ms(20));
  CHECK(jb.pop_frame(at_ms(20)).kind == playout_kind::packet);  // 0
  jb.insert(3, 3 * frame, pkt(3), at_ms(60));                    // 2 missing, 3 present
  CHECK(jb.pop_frame(at_ms(40)).kind == playout_kind::packet);  // 1
  auto p = jb.pop_frame(at_ms(60));
  CHECK(p.kind == playout_kind::fec);
  CHECK(p.seq == 2);
  CHECK(p.packet == pkt(3));  // FEC for 2 lives in packet 3
  jb.insert(6, 6 * frame, pkt(6), at_ms(75));  // 4 and 5 missing
  CHECK(jb.pop_frame(at_ms(80)).seq == 3);
  p = jb.pop_frame(at_ms(100));
  CHECK(p.kind == playout_kind::conceal);
  CHECK(p.seq == 4);
  // 2 and 4 arrive after their playout time: late, dropped.
  CHECK(jb.insert(2, 2 * frame, pkt(2), at_ms(101)) == insert_result::late);
  CHECK(jb.insert(4, 4 * frame, pkt(4), at_ms(102)) == insert_result::late);
  p = jb.pop_frame(at_ms(120));
  CHECK(p.kind == playout_kind::fec);
  CHECK(p.seq == 5);
  CHECK(jb.pop_frame(at_ms(140)).seq == 6);
  const auto& st = jb.stats();
  CHECK(st.lost == 3);
  CHECK(st.fec == 2);
  CHECK(st.concealed == 1);
  CHECK(st.late == 2);
  CHECK(st.played == 4);
}

TEST_CASE("jitter buffer: sequence numbers and timestamps wrap around 2^32") {
  jitter_buffer jb;
  const std::uint32_t start = 0xFFFFFFF0u;
  std::uint32_t ts = 0xFFFFF000u;
  for (std::uint32_t i = 0; i < 2; ++i)
    jb.insert(start + i, ts + i * frame, pkt(start + i), at_ms(20 * static_cast<int>(i)));
  for (std::uint32_t i = 0; i < 40; ++i) {
    const std::uint32_t s = start + i;
    auto p = jb.pop_frame(at_ms(20 * static_cast<int>(i + 1) + 1));
    REQUIRE(p.kind == playout_kind::packet);
    CHECK(p.seq == s);
    jb.insert(s + 2, ts + (i + 2) * frame, pkt(s + 2), at_ms(20 * static_cast<int>(i + 2)));
  }
  CHECK(jb.stats().played == 40);
  CHECK(jb.stats().lost == 0);
  CHECK(jb.stats().resyncs == 0);
  CHECK(jb.stats().jitter == 0us);  // the ts wrap did not look like a jump in transit time
}

TEST_CASE("jitter buffer: depth stays bounded under a flood") {
  jitter_buffer jb;
  // 10 000 packets in one instant, nothing played: only max_delay (120 ms = 6 frames) is kept.
  for (std::uint32_t s = 0; s < 10000; ++s) jb.insert(s, s * frame, pkt(s), at_ms(0));
  CHECK(jb.stats().depth == 6);
  CHECK(jb.stats().dropped == 10000 - 6);
  // The newest packets won.
  auto p = jb.pop_frame(at_ms(0));
  REQUIRE(p.kind == playout_kind::packet);
  CHECK(p.seq == 10000 - 6);
  // Invalid packets are refused.
  CHECK(jb.insert(1, 0, {}, at_ms(1)) == insert_result::invalid);
  std::vector<std::uint8_t> huge(1276, 1);
  CHECK(jb.insert(1, 0, huge, at_ms(1)) == insert_result::invalid);
  CHECK(jb.stats().invalid == 2);
}

TEST_CASE("jitter buffer: surplus latency after a refill is shed") {
  jitter_buffer jb;
  // Steady 20 ms arrivals, but 5 frames arrive at once at the start (a delayed burst).
  for (std::uint32_t s = 0; s < 5; ++s) jb.insert(s, s * frame, pkt(s), at_ms(0));
  std::uint32_t next_send = 5;
  std::size_t depth_late = 0;
  for (int tick = 0; tick < 300; ++tick) {
    const int now = 20 * tick;
    jb.insert(next_send, next_send * frame, pkt(next_send), at_ms(now));
    ++next_send;
    jb.pop_frame(at_ms(now + 1));
    if (tick == 299) depth_late = jb.stats().depth;
  }
  // The burst's 4 extra frames of delay were shed one per second; steady state is the target.
  CHECK(depth_late <= 2);
  CHECK(jb.stats().dropped >= 3);
  CHECK(jb.stats().underruns == 0);
}

TEST_CASE("jitter buffer: a new stream (seq jump) and a long silence resync") {
  jitter_buffer jb;
  jb.insert(0, 0, pkt(0), at_ms(0));
  jb.insert(1, frame, pkt(1), at_ms(20));
  CHECK(jb.pop_frame(at_ms(20)).seq == 0);
  CHECK(jb.pop_frame(at_ms(40)).seq == 1);
  // Sender restarted with a random seq base.
  CHECK(jb.insert(123456, 77, pkt(64), at_ms(50)) == insert_result::resync);
  jb.insert(123457, 77 + frame, pkt(65), at_ms(70));
  auto p = jb.pop_frame(at_ms(70));
  CHECK(p.kind == playout_kind::packet);
  CHECK(p.seq == 123456);
  CHECK(jb.stats().resyncs == 1);
  CHECK(jb.stats().late == 0);
  CHECK(jb.pop_frame(at_ms(90)).seq == 123457);
  CHECK(jb.pop_frame(at_ms(110)).kind == playout_kind::underrun);
  // A talker pause (voice activation): seq continues after 5 s, no resync and no loss.
  // The timestamp moved with the sender's clock during the pause (48 samples per ms).
  jb.insert(123458, 77 + 4950 * 48, pkt(66), at_ms(5000));
  jb.insert(123459, 77 + 4970 * 48, pkt(67), at_ms(5020));
  CHECK(jb.pop_frame(at_ms(5021)).seq == 123458);
  CHECK(jb.stats().resyncs == 1);
  CHECK(jb.stats().lost == 0);
  CHECK(jb.pop_frame(at_ms(5041)).seq == 123459);
  CHECK(jb.pop_frame(at_ms(5061)).kind == playout_kind::underrun);
  // A long silence then a seq that skips ahead a little: a fresh spurt, not 40 lost frames.
  CHECK(jb.insert(123500, 0, pkt(1), at_ms(9000)) == insert_result::resync);
  CHECK(jb.stats().lost == 0);
}

TEST_CASE("legacy FIFO: plays in order and bounds latency to 40 ms") {
  legacy_fifo fifo;
  CHECK(fifo.max_depth() == 16);  // 40 ms of 2.5 ms frames
  CHECK(fifo.prebuffer() == 4);   // 10 ms
  CHECK_FALSE(fifo.pop().has_value());
  CHECK(fifo.stats().underruns == 0);  // not started yet
  for (std::uint32_t i = 0; i < 256; ++i) CHECK(fifo.push(pkt(i)));
  CHECK(fifo.stats().depth == 16);
  CHECK(fifo.stats().dropped == 240);
  for (std::uint32_t i = 240; i < 256; ++i) {
    auto p = fifo.pop();
    REQUIRE(p.has_value());
    CHECK(*p == pkt(i));
  }
  CHECK_FALSE(fifo.pop().has_value());
  CHECK(fifo.stats().underruns == 1);
  CHECK(fifo.stats().played == 16);
  CHECK_FALSE(fifo.push({}));
  CHECK(fifo.stats().invalid == 1);
}

TEST_CASE("legacy FIFO: holds the prebuffer back at the start and after running dry") {
  legacy_fifo fifo;
  for (std::uint32_t i = 0; i < 3; ++i) {
    fifo.push(pkt(i));
    CHECK_FALSE(fifo.pop().has_value());  // under 10 ms queued: the player conceals
  }
  fifo.push(pkt(3));
  for (std::uint32_t i = 0; i < 4; ++i) CHECK(fifo.pop() == pkt(i));
  CHECK_FALSE(fifo.pop().has_value());
  CHECK(fifo.stats().underruns == 1);
  fifo.push(pkt(4));
  CHECK_FALSE(fifo.pop().has_value());  // refilling: one packet is not enough
  CHECK(fifo.stats().underruns == 1);   // and waiting is not another underrun
  for (std::uint32_t i = 5; i < 8; ++i) fifo.push(pkt(i));
  CHECK(fifo.pop() == pkt(4));
}

TEST_CASE("legacy FIFO: a burst after a stall leaves no standing delay, steady jitter keeps every packet") {
  legacy_fifo fifo;
  std::uint32_t next_in = 0;
  // Steady flow with the player taking two packets per 5 ms tick: the queue dips to the prebuffer's margin each
  // tick, so nothing is shed.
  for (int i = 0; i < 4; ++i) fifo.push(pkt(next_in++));
  for (int tick = 0; tick < 400; ++tick) {
    fifo.push(pkt(next_in++));
    fifo.push(pkt(next_in++));
    REQUIRE(fifo.pop().has_value());
    REQUIRE(fifo.pop().has_value());
  }
  CHECK(fifo.stats().shed == 0);
  CHECK(fifo.stats().underruns == 0);
  // A 25 ms stall arrives as a burst: 10 packets more delay than needed, and they stay unless shed.
  for (int i = 0; i < 10; ++i) fifo.push(pkt(next_in++));
  CHECK(fifo.stats().depth == 14);
  const auto dropped_at_cap = fifo.stats().dropped;
  const auto played_before = fifo.stats().played;
  std::uint8_t last = 0;
  bool first = true;
  for (int tick = 0; tick < 800; ++tick) {  // 4 s
    fifo.push(pkt(next_in++));
    fifo.push(pkt(next_in++));
    for (int k = 0; k < 2; ++k) {
      auto p = fifo.pop();
      REQUIRE(p.has_value());
      // in order: the next packet, or the one after it when one was shed
      const auto step = static_cast<std::uint8_t>((*p)[0] - last);
      CHECK((first || step == 1 || step == 2));
      first = false;
      last = (*p)[0];
    }
  }
  CHECK(fifo.stats().shed > 0);
  CHECK(fifo.stats().depth <= fifo.prebuffer() + 2);  // back at the prebuffer plus its margin
  CHECK(fifo.stats().underruns == 0);                 // shedding never ran the queue dry
  CHECK(fifo.stats().dropped == dropped_at_cap);
  CHECK(fifo.stats().played - played_before == 1600);
  CHECK(fifo.stats().depth == 14 - fifo.stats().shed);  // every packet was played or shed, none lost otherwise
  MESSAGE("shed " << fifo.stats().shed << " packets, depth now " << fifo.stats().depth);
}
