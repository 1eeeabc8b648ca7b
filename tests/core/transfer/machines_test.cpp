// Single-step checks of the sender and receiver against the rules of PROTOCOL §10 and its FIXes.
#include <doctest/doctest.h>

#include "core/limits.hpp"
#include "core/transfer/completed_transfers.hpp"
#include "core/transfer/receiver.hpp"
#include "core/transfer/sender.hpp"

using namespace mk::transfer;
using namespace std::chrono_literals;
namespace limits = mk::limits;

namespace {
const time_point t0 = time_point{} + std::chrono::hours(1);
}

TEST_CASE("sender: zero-byte file is accepted and done by FILEACK 0") {
  sender s(0, peer_mode::legacy, t0);
  CHECK(s.state() == sender_state::pending);
  CHECK_FALSE(s.next_chunk(t0));
  CHECK(s.on_ack(0, t0 + 1s));
  CHECK(s.state() == sender_state::done);
  CHECK(s.next_deadline() == time_point::max());
}

TEST_CASE("sender: accept timeout fails a pending transfer, late ACKs are ignored") {
  sender s(5000, peer_mode::legacy, t0);
  CHECK(s.next_deadline() == t0 + limits::file_accept_timeout);
  s.on_tick(t0 + 10s);
  CHECK(s.state() == sender_state::pending);
  s.on_tick(t0 + limits::file_accept_timeout);
  CHECK(s.state() == sender_state::failed);
  CHECK(s.failure_reason().find("not accepted") != std::string::npos);
  CHECK_FALSE(s.on_ack(0, t0 + 12s));  // the actor answers such a late accept with FILESTOP
}

TEST_CASE("sender: ACK validation (multiple of 1024 or size, not beyond the bytes sent)") {
  sender s(5000, peer_mode::legacy, t0);
  CHECK_FALSE(s.on_ack(1024, t0));  // pending: only 0 accepts
  CHECK(s.on_ack(0, t0));
  std::vector<chunk> sent;
  while (auto c = s.next_chunk(t0)) sent.push_back(*c);
  REQUIRE(sent.size() == 5);  // the initial window (10 chunks) covers the file
  CHECK(sent.back() == chunk{4096, 904, false});
  CHECK(s.sent_bytes() == 5000);
  CHECK_FALSE(s.on_ack(1000, t0 + 10ms));  // not a multiple of 1024
  CHECK_FALSE(s.on_ack(6144, t0 + 10ms));  // beyond the bytes sent
  CHECK(s.on_ack(2048, t0 + 10ms));
  CHECK(s.acked_bytes() == 2048);
  CHECK_FALSE(s.on_ack(1024, t0 + 11ms));  // stale
  CHECK(s.on_ack(5000, t0 + 12ms));       // == size: done
  CHECK(s.state() == sender_state::done);
}

TEST_CASE("sender legacy: a duplicate ACK resends the one chunk at the ACK point") {
  sender s(20 * 1024, peer_mode::legacy, t0);
  (void)s.on_ack(0, t0);
  while (s.next_chunk(t0)) {
  }
  CHECK(s.sent_bytes() == 10 * 1024);
  CHECK(s.on_ack(3 * 1024, t0 + 20ms));  // RTT sample 20 ms
  while (s.next_chunk(t0 + 20ms)) {
  }
  CHECK(s.on_ack(3 * 1024, t0 + 300ms));  // duplicate, the chunk is long overdue
  auto c = s.next_chunk(t0 + 300ms);
  REQUIRE(c);
  CHECK(*c == chunk{3 * 1024, 1024, true});
  CHECK(s.retransmit_count() == 1);
  // Then the ACK probe: the chunk below the ACK point, which makes an original ACK at once (legacy_sender_test).
  auto p = s.next_chunk(t0 + 300ms);
  REQUIRE(p);
  CHECK(*p == chunk{2 * 1024, 1024, true, true});
  // Another duplicate right away does not resend again (the resent chunk may still be on its way).
  CHECK(s.on_ack(3 * 1024, t0 + 301ms));
  auto d = s.next_chunk(t0 + 301ms);
  CHECK((!d || !d->retransmission));
}

TEST_CASE("sender: no resend storm: at most one timeout retransmission per RTO, with backoff, then a stall fails") {
  sender s(100 * 1024, peer_mode::extended, t0);
  (void)s.on_ack(0, t0);
  while (s.next_chunk(t0)) {
  }
  time_point now = t0;
  std::vector<time_point> resends;
  while (s.state() == sender_state::sending && now < t0 + 60s) {
    now = s.next_deadline();
    s.on_tick(now);
    while (auto c = s.next_chunk(now)) {
      CHECK(c->retransmission);
      resends.push_back(now);
    }
  }
  CHECK(s.state() == sender_state::failed);
  CHECK(s.failure_reason().find("no acknowledgement progress") != std::string::npos);
  CHECK(now - t0 == limits::transfer_stall_timeout);
  REQUIRE(resends.size() >= 3);
  CHECK(resends.size() < 15);  // the original would have resent every 10 ms: 3000 times
  for (std::size_t i = 2; i < resends.size(); ++i)
    CHECK(resends[i] - resends[i - 1] >= std::min<duration>(resends[i - 1] - resends[i - 2], limits::transfer_max_rto));
}

TEST_CASE("sender extended: SACK ranges mark holes for retransmission") {
  sender s(10 * 1024, peer_mode::extended, t0);
  (void)s.on_ack(0, t0);
  while (s.next_chunk(t0)) {
  }
  std::vector<byte_range> ranges{{2048, 10240}};
  CHECK(s.on_sack(1024, ranges, t0 + 20ms));  // chunk 1 missing, everything after arrived
  // RACK: all were sent together, so chunk 1 is declared lost one RTT + min_rtt/4 after it was sent.
  CHECK_FALSE(s.next_chunk(t0 + 20ms));
  CHECK(s.next_deadline() == t0 + 25ms);
  s.on_tick(t0 + 25ms);
  auto c = s.next_chunk(t0 + 25ms);
  REQUIRE(c);
  CHECK(*c == chunk{1024, 1024, true});
  std::vector<byte_range> bogus{{1000, 2000}, {9216, 20480}};  // unaligned; beyond the sent bytes
  CHECK(s.on_sack(1024, bogus, t0 + 21ms));
  CHECK(s.on_sack(10240, {}, t0 + 40ms));
  CHECK(s.state() == sender_state::done);
}

TEST_CASE("receiver: chunk validation per §10 and its FIXes") {
  receiver r(5000, peer_mode::legacy, t0);
  CHECK(r.on_chunk(100, 1024, t0).error);
  CHECK(r.on_chunk(5120, 1024, t0).error);   // offset >= size (the original wrote out of bounds)
  CHECK(r.on_chunk(4096, 1024, t0).error);   // last chunk must be 904 bytes
  CHECK(r.on_chunk(0, 1000, t0).error);
  auto v = r.on_chunk(4096, 904, t0);
  CHECK_FALSE(v.error);
  CHECK(v.store);
  CHECK(v.ack_now);  // legacy: first out-of-order arrival acts as a duplicate ACK
  CHECK_FALSE(v.duplicate);
  CHECK(r.ack_state() == ack_info{0, {}});
  v = r.on_chunk(4096, 904, t0);
  CHECK_FALSE(v.store);
  CHECK(v.ack_now);  // duplicate: ACK at once
  CHECK(v.duplicate);  // (between mokaccino nodes the actor also sends FILEDUP)
  CHECK(r.duplicate_count() == 1);
}

TEST_CASE("receiver legacy: ACKs every 100 ms even if nothing changed, completion repeats FILEACK size") {
  receiver r(3 * 1024, peer_mode::legacy, t0);
  CHECK_FALSE(r.on_tick(t0 + 50ms));
  auto a = r.on_tick(t0 + 100ms);
  REQUIRE(a);
  CHECK(a->next == 0);
  CHECK(r.on_tick(t0 + 200ms));  // unchanged, still sent
  CHECK(r.on_chunk(0, 1024, t0 + 210ms).store);
  CHECK(r.on_chunk(1024, 1024, t0 + 211ms).store);
  auto v = r.on_chunk(2048, 1024, t0 + 212ms);
  CHECK(v.ack_now);
  CHECK(r.complete());
  CHECK(r.ack_state().next == 3 * 1024);
  int repeats = 0;
  for (time_point now = t0 + 212ms; now < t0 + 5s; now += 10ms)
    if (auto f = r.on_tick(now)) {
      CHECK(f->next == 3 * 1024);
      ++repeats;
    }
  CHECK(repeats == limits::transfer_final_ack_repeats);
  CHECK(r.finished());
  CHECK(r.on_chunk(0, 1024, t0 + 6s).ack_now);  // a late chunk is still answered with FILEACK size
}

TEST_CASE("sender extended: FILEDUP of a loss-driven retransmission widens the reordering window, once") {
  sender s(20 * 1024, peer_mode::extended, t0);
  (void)s.on_ack(0, t0);
  while (s.next_chunk(t0)) {
  }
  // Chunk 1 is late (reordered), everything else of the first flight arrives: RACK takes it for lost.
  std::vector<byte_range> ranges{{2048, 10240}};
  REQUIRE(s.on_sack(1024, ranges, t0 + 1ms));
  s.on_tick(s.next_deadline());
  auto rtx = s.next_chunk(s.next_deadline());
  REQUIRE(rtx);
  REQUIRE(*rtx == chunk{1024, 1024, true});
  auto min_rtt = s.congestion().rtt().min_rtt();
  REQUIRE(min_rtt);
  CHECK(s.reorder_window() == duration::zero());
  // FILEDUP names an offset we never resent (or a forged one): nothing learned.
  s.on_duplicate(4096, t0 + 6ms);
  s.on_duplicate(1u << 30, t0 + 6ms);
  CHECK(s.spurious_count() == 0);
  CHECK(s.reorder_window() == duration::zero());
  // The original arrives 6 ms after it was sent: the receiver holds it twice and says so.
  s.on_duplicate(1024, t0 + 6ms);
  CHECK(s.spurious_count() == 1);
  auto learned = 6ms - *min_rtt;
  CHECK(s.reorder_window() == learned + learned / 4);
  // The same duplicate again (FILEDUP repeated, or replayed by the path) teaches nothing more.
  s.on_duplicate(1024, t0 + 50ms);
  CHECK(s.spurious_count() == 1);
  CHECK(s.reorder_window() == learned + learned / 4);
}

TEST_CASE("sender extended: a duplicate of a timeout or tail-probe retransmission is no sign of reordering") {
  sender s(4 * 1024, peer_mode::extended, t0);
  (void)s.on_ack(0, t0);
  while (s.next_chunk(t0)) {
  }
  auto rto_at = s.next_deadline();
  // Nothing is acknowledged: the tail probe goes first, then the RTO resends everything.
  for (time_point now = t0; now <= t0 + 3s; now = s.next_deadline()) {
    s.on_tick(now);
    while (s.next_chunk(now)) {
    }
    if (s.timeout_count() > 0) break;
  }
  REQUIRE(s.timeout_count() >= 1);
  CHECK(rto_at > t0);
  for (std::uint64_t off = 0; off < 4 * 1024; off += 1024) s.on_duplicate(off, t0 + 3s);
  CHECK(s.spurious_count() == 0);
  CHECK(s.reorder_window() == duration::zero());
}

TEST_CASE("receiver extended: SACK ranges, bounded reorder window, idle timeout") {
  receiver r(std::uint64_t{64} << 20, peer_mode::extended, t0);
  CHECK_FALSE(r.on_tick(t0 + 100ms));  // nothing changed: only the slow heartbeat
  CHECK(r.on_tick(t0 + limits::transfer_ack_heartbeat));
  auto v = r.on_chunk(4096, 1024, t0 + 2s);
  CHECK(v.store);
  CHECK(v.ack_now);
  CHECK(r.ack_state() == ack_info{0, {{4096, 5120}}});
  CHECK_FALSE(r.on_chunk(limits::transfer_reorder_window, 1024, t0 + 2s).store);  // too far ahead
  r.on_tick(t0 + 2s + limits::transfer_stall_timeout);
  CHECK(r.state() == receiver_state::failed);  // a vanished sender (or a late accept) cannot stall us
}

TEST_CASE("receiver: zero-byte file is complete at once and ACKs 0 a few times") {
  receiver r(0, peer_mode::legacy, t0);
  CHECK(r.complete());
  CHECK(r.on_tick(t0 + 100ms));  // the original sender needs a second FILEACK 0 to finish (§10)
}

TEST_CASE("completed_transfers answers late FILEs, bounded in count and time") {
  completed_transfers mem(2, 60s);
  mem.remember("a", 10, t0);
  mem.remember("b", 20, t0 + 1s);
  CHECK(mem.lookup("a", t0 + 2s) == 10u);
  mem.remember("c", 30, t0 + 3s);
  CHECK_FALSE(mem.lookup("a", t0 + 4s));  // evicted: oldest first
  CHECK(mem.lookup("c", t0 + 4s) == 30u);
  CHECK_FALSE(mem.lookup("b", t0 + 62s));  // expired
  CHECK(mem.size() <= 2);
}

TEST_CASE("sender: the window cap (a peer's fair share) bounds the data in flight") {
  sender s{1u << 20, peer_mode::extended, t0};
  REQUIRE(s.on_ack(0, t0));
  s.set_window_cap(12 * chunk_size);
  std::size_t sent = 0;
  while (s.next_chunk(t0)) ++sent;
  CHECK(sent == 10);  // the initial window is below the cap
  // Acknowledge everything in round trips: the window grows, but never past 12 chunks in flight.
  for (int round = 0; round < 10; ++round) {
    auto now = t0 + std::chrono::milliseconds(round + 1);
    REQUIRE(s.on_sack(s.sent_bytes(), {}, now));
    std::size_t n = 0;
    while (s.next_chunk(now)) ++n;
    CHECK(s.bytes_in_flight() <= 12 * chunk_size);
    CHECK(n <= 12);
  }
  CHECK(s.bytes_in_flight() == 12 * chunk_size);
}

TEST_CASE("sender extended: chunks of the path's size, and an ACK inside a chunk counts whole chunks only") {
  const std::uint64_t size = 10000, chunk = 1389;  // a 1500-byte IPv4 path: 1472 - 83
  sender s(size, peer_mode::extended, t0, false, chunk);
  CHECK(s.chunk_bytes() == chunk);
  REQUIRE(s.on_ack(0, t0));
  std::vector<mk::transfer::chunk> sent;
  while (auto c = s.next_chunk(t0)) sent.push_back(*c);
  REQUIRE(sent.size() == 8);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    CHECK(sent[i].offset == i * chunk);
    CHECK(sent[i].length == (i < 7 ? chunk : size - 7 * chunk));
  }
  // The receiver holds [0, 2000) (chunk 1 only in part: a piece of it) and [4000, 5556) (chunk 3 whole, chunk 2's
  // tail): whole chunks only count.
  std::vector<byte_range> ranges{{4000, 5556}};
  REQUIRE(s.on_sack(2000, ranges, t0 + 10ms));
  CHECK(s.acked_bytes() == chunk);
  CHECK(s.bytes_in_flight() == size - 2 * chunk);
  REQUIRE(s.on_sack(size, {}, t0 + 20ms));
  CHECK(s.state() == sender_state::done);
}

TEST_CASE("sender legacy: toward an original the chunk is always 1024") {
  sender s(10000, peer_mode::legacy, t0, false, 1389);
  CHECK(s.chunk_bytes() == 1024);
}

TEST_CASE("receiver extended: pieces of any size inside the file, overlapping what is held") {
  receiver r(10000, peer_mode::extended, t0);
  auto v = r.on_chunk(0, 700, t0);
  CHECK(v.store);
  CHECK(r.next() == 700);
  CHECK(r.on_chunk(700, 689, t0).store);
  CHECK(r.next() == 1389);
  v = r.on_chunk(1000, 1000, t0);  // the same chunk split differently: overlaps the held prefix
  CHECK(v.store);
  CHECK(v.skip == 389);  // only [1389, 2000) is stored: held (and hashed) bytes are never rewritten
  CHECK(r.next() == 2000);
  v = r.on_chunk(0, 100, t0);
  CHECK(v.duplicate);
  CHECK_FALSE(v.store);
  CHECK(r.on_chunk(3000, limits::max_file_piece + 1, t0).error);  // larger than any chunk
  CHECK(r.on_chunk(9990, 11, t0).error);                          // past the end
  CHECK(r.on_chunk(10000, 1, t0).error);
  CHECK(r.on_chunk(9990, 10, t0).store);
  CHECK(r.ack_state() == ack_info{2000, {{9990, 10000}}});
}
