// The lazy-hash paths of the transfer machines (MKCAPS `lazyhash`): the offer goes out before the content is
// hashed, FILEHASH follows the last new chunk, and only a matching verdict completes either side.
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
const std::string real_hash(64, 'A');
const std::string other_hash(64, 'B');

// Sends what the window allows and acknowledges it, until every byte is acknowledged (extended mode).
void send_all(sender& s, std::uint64_t size, time_point& now) {
  while (s.acked_bytes() < size) {
    while (s.next_chunk(now)) {
    }
    now += 1ms;
    REQUIRE(s.on_sack(s.sent_bytes(), {}, now));  // everything sent so far arrived
  }
}

}  // namespace

TEST_CASE("lazy sender: waits in verifying after the last ACK, a matching verdict completes it") {
  const std::uint64_t size = 40 * 1024 + 7;
  sender s(size, peer_mode::extended, t0, true);
  REQUIRE(s.on_ack(0, t0));
  time_point now = t0;
  // Nothing to announce before the hash is ready.
  CHECK_FALSE(s.hash_announcement_due(now));
  while (s.next_chunk(now)) {
  }
  CHECK_FALSE(s.hash_announcement_due(now));  // hash not ready yet
  s.on_hash_ready(now);
  if (s.sent_bytes() < size) CHECK_FALSE(s.hash_announcement_due(now));  // not all new data out yet
  send_all(s, size, now);
  CHECK(s.state() == sender_state::verifying);  // every byte acknowledged, no verdict yet
  CHECK(s.hash_announcement_due(now));
  CHECK(s.next_deadline() <= now);
  s.hash_announced(now);
  CHECK_FALSE(s.hash_announcement_due(now));
  // Repeated once per RTO while no verdict comes (a lost FILEHASH or answer).
  CHECK(s.next_deadline() > now);
  CHECK(s.hash_announcement_due(s.next_deadline()));
  CHECK(s.on_verdict(true, now + 1ms));
  CHECK(s.state() == sender_state::done);
  CHECK(s.announcements() == 1);
}

TEST_CASE("lazy sender: FILESTOP after the announcement means the receiver discarded the file") {
  sender s(3000, peer_mode::extended, t0, true);
  REQUIRE(s.on_ack(0, t0));
  time_point now = t0;
  while (s.next_chunk(now)) {
  }
  s.on_hash_ready(now);
  CHECK_FALSE(s.on_verdict(true, now));  // no announcement yet: an answer cannot be genuine
  REQUIRE(s.hash_announcement_due(now));
  s.hash_announced(now);
  REQUIRE(s.on_sack(3000, {}, now + 1ms));
  REQUIRE(s.state() == sender_state::verifying);
  s.peer_stopped();
  CHECK(s.state() == sender_state::failed);
  CHECK(s.failure_reason().find("discarded the file after the SHA-384 was announced") != std::string::npos);
}

TEST_CASE("lazy sender: an answer naming a different SHA-384 fails, FILESTOP before the announcement is a cancel") {
  sender s(3000, peer_mode::extended, t0, true);
  REQUIRE(s.on_ack(0, t0));
  while (s.next_chunk(t0)) {
  }
  s.on_hash_ready(t0);
  s.hash_announced(t0);
  CHECK(s.on_verdict(false, t0 + 1ms));
  CHECK(s.state() == sender_state::failed);
  CHECK(s.failure_reason().find("differs") != std::string::npos);

  sender c(3000, peer_mode::extended, t0, true);
  REQUIRE(c.on_ack(0, t0));
  c.peer_stopped();
  CHECK(c.failure_reason() == "cancelled by the peer");
  sender p(3000, peer_mode::extended, t0, true);
  p.peer_stopped();
  CHECK(p.failure_reason() == "refused by the peer");
}

TEST_CASE("lazy sender: a verdict before the last ACK completes it as soon as the data is acknowledged") {
  sender s(5 * 1024, peer_mode::extended, t0, true);
  REQUIRE(s.on_ack(0, t0));
  time_point now = t0;
  while (s.next_chunk(now)) {
  }
  s.on_hash_ready(now);
  s.hash_announced(now);
  CHECK(s.on_verdict(true, now));
  CHECK(s.state() == sender_state::sending);
  CHECK(s.on_sack(5 * 1024, {}, now + 1ms));
  CHECK(s.state() == sender_state::done);
}

TEST_CASE("lazy sender: no verdict within the stall timeout fails, a zero-byte file still waits for one") {
  sender s(0, peer_mode::extended, t0, true);
  REQUIRE(s.on_ack(0, t0));
  CHECK(s.state() == sender_state::verifying);
  s.on_hash_ready(t0);
  CHECK(s.hash_announcement_due(t0));
  s.hash_announced(t0);
  s.on_tick(t0 + limits::transfer_stall_timeout - 1ms);
  CHECK(s.state() == sender_state::verifying);
  s.on_tick(t0 + limits::transfer_stall_timeout);
  CHECK(s.state() == sender_state::failed);
  CHECK(s.failure_reason().find("did not answer") != std::string::npos);
}

TEST_CASE("eager sender: the lazy-hash calls change nothing") {
  sender s(1024, peer_mode::extended, t0);
  REQUIRE(s.on_ack(0, t0));
  while (s.next_chunk(t0)) {
  }
  s.on_hash_ready(t0);
  CHECK_FALSE(s.hash_announcement_due(t0));
  CHECK_FALSE(s.on_verdict(true, t0));
  CHECK(s.on_sack(1024, {}, t0 + 1ms));
  CHECK(s.state() == sender_state::done);
}

TEST_CASE("lazy receiver: all data in -> verifying, a matching hash completes it, the announcement may come first") {
  receiver r(3 * 1024, peer_mode::extended, t0, true);
  CHECK(r.on_hash_announced(real_hash, t0));  // FILEHASH overtook the last chunks
  CHECK_FALSE(r.verification_due());
  CHECK(r.on_chunk(0, 1024, t0).store);
  CHECK(r.on_chunk(1024, 1024, t0).store);
  auto last = r.on_chunk(2048, 1024, t0 + 1ms);
  CHECK(last.store);
  CHECK(last.ack_now);  // FILEACK size: the sender stops sending data
  CHECK(r.state() == receiver_state::verifying);
  CHECK(r.data_complete());
  CHECK_FALSE(r.complete());  // the .part must not be renamed yet
  CHECK(r.ack_state().next == 3 * 1024);
  // A duplicate chunk while verifying is answered at once, as after completion.
  auto dup = r.on_chunk(0, 1024, t0 + 2ms);
  CHECK_FALSE(dup.store);
  CHECK(dup.ack_now);
  CHECK(r.verification_due());
  CHECK_FALSE(r.on_hash_announced(other_hash, t0 + 2ms));  // the first announcement counts
  r.on_computed_hash(real_hash, t0 + 3ms);
  CHECK(r.complete());
  CHECK_FALSE(r.finished());  // the final ACK repeats still follow
}

TEST_CASE("lazy receiver: a wrong announced hash fails the transfer") {
  receiver r(1500, peer_mode::extended, t0, true);
  (void)r.on_chunk(0, 1024, t0);
  (void)r.on_chunk(1024, 476, t0);
  REQUIRE(r.state() == receiver_state::verifying);
  CHECK(r.on_hash_announced(other_hash, t0 + 1ms));
  REQUIRE(r.verification_due());
  r.on_computed_hash(real_hash, t0 + 2ms);
  CHECK(r.state() == receiver_state::failed);
  CHECK(r.failure_reason().find("hash mismatch") != std::string::npos);
  CHECK_FALSE(r.complete());
}

TEST_CASE("lazy receiver: no announcement within the stall timeout fails, zero bytes also wait for the hash") {
  receiver r(0, peer_mode::extended, t0, true);
  CHECK(r.state() == receiver_state::verifying);
  CHECK(r.next_deadline() == t0 + limits::transfer_stall_timeout);
  CHECK_FALSE(r.on_tick(t0 + 1s));
  CHECK(r.state() == receiver_state::verifying);
  (void)r.on_tick(t0 + limits::transfer_stall_timeout);
  CHECK(r.state() == receiver_state::failed);
  CHECK(r.failure_reason().find("did not announce") != std::string::npos);
}

TEST_CASE("eager receiver: completes without an announcement and ignores one") {
  receiver r(1024, peer_mode::extended, t0);
  CHECK_FALSE(r.on_hash_announced(real_hash, t0));
  (void)r.on_chunk(0, 1024, t0);
  CHECK(r.complete());
  CHECK_FALSE(r.verification_due());
}

TEST_CASE("completed_transfers keeps a lazy transfer's verified SHA-384 to answer a late FILEHASH, for ttl") {
  completed_transfers done(4, 60s);
  done.remember("eager", 10, t0);
  done.remember("lazy", 20, t0, real_hash);
  CHECK_FALSE(done.content_hash("eager", t0 + 1s));
  REQUIRE(done.content_hash("lazy", t0 + 1s));
  CHECK(*done.content_hash("lazy", t0 + 1s) == real_hash);
  CHECK(done.lookup("lazy", t0 + 1s) == 20u);
  CHECK_FALSE(done.content_hash("lazy", t0 + 60s));  // forgotten after ttl
}
