// Issue 12, items 3 and 4: between mokaccino nodes no datagram exceeds the path MTU, which the nodes find by
// probing (PLPMTUD, MKCAPS `pmtu1`) upward from the 1232 bytes every IPv6 path carries; the chunk size follows the
// datagram budget, and at least 90 % of a full data datagram is file data — encrypted (the sealed envelope) and
// plain (unsealed binary records). Checked on the wire, through an on-path relay that records every datagram and
// drops those larger than its "MTU" silently (a path whose ICMP never arrives), and that shrinks mid-transfer.
#include <doctest/doctest.h>

#include <algorithm>

#include "core/crypto/secure_channel.hpp"
#include "core/session/path_mtu.hpp"
#include "core/wire/record.hpp"
#include "support/attacker.hpp"
#include "support/file_harness.hpp"

using namespace mk;
using namespace mk::test;

namespace {

// The relay forwards datagrams up to `mtu` bytes (UDP payload) and drops the rest, like a tunnel without ICMP.
void limit_path(on_path_relay& relay, std::shared_ptr<std::atomic<std::size_t>> mtu) {
  relay.set_drop([mtu](const recorded& r) { return r.bytes.size() > mtu->load(); });
}

// The search is over once node A's probes of the next size up were lost max_probes times.
bool search_settled(on_path_relay& relay, std::size_t next_size) {
  return relay.count([&](const recorded& r) { return r.dir == direction::a_to_b && r.bytes.size() == next_size; }) >=
         static_cast<std::size_t>(session::path_mtu::max_probes);
}

// Polls `done` until it holds or `timeout` passes.
template <class Pred>
void poll_until(Pred done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
}

}  // namespace

TEST_CASE("files: between mokaccino nodes data datagrams fit the probed path MTU and a full one is >= 90 % file data") {
  for (bool encrypt : {true, false}) {
    CAPTURE(encrypt);
    caf::actor_system_config cfg;
    caf::actor_system sys{configure(cfg)};
    file_pair t{sys, encrypt};
    on_path_relay mitm{t.bob.port()};
    auto mtu = std::make_shared<std::atomic<std::size_t>>(1400);  // a 1428-byte IPv4 path: finds 1372
    limit_path(mitm, mtu);
    t.connect(sys, mitm.address(), encrypt);
    poll_until([&] { return search_settled(mitm, 1452); }, 20s);
    REQUIRE(search_settled(mitm, 1452));
    auto src = make_file(t.out_dir / "chunks.bin", 2 * 1024 * 1024 + 100, 3);
    REQUIRE(ask<command_reply>(sys, t.alice.handle.node, file_send_atom::value, std::string{"bob"}, src.string()).ok);
    auto got = wait_transfer_end(t.bob, "chunks.bin", "receive", 60s);
    REQUIRE(got);
    CHECK(event_field(*got, "state") == "done");
    CHECK(same_bytes(src, t.in_dir / "chunks.bin"));
    auto sent = wait_transfer_end(t.alice, "chunks.bin", "send", 10s);
    REQUIRE(sent);
    const std::size_t chunk = 1372 - wire::file_record_header - crypto::secure_channel::overhead;
    CHECK(event_field(*sent, "chunk") == std::to_string(chunk));
    std::size_t largest = 0, data_datagrams = 0;
    const auto& sizes = session::path_mtu::default_sizes;
    for (auto& r : mitm.records(from_a())) {
      if (!r.delivered) {  // only probes were too large for the path, never data
        CHECK_MESSAGE(std::find(std::begin(sizes), std::end(sizes), r.bytes.size()) != std::end(sizes), r.bytes.size());
        continue;
      }
      largest = std::max(largest, r.bytes.size());
      if (r.bytes.starts_with("MKPROBE "))
        continue;  // plain: a probe is a text line (sealed, it looks like any envelope)
      const bool binary = encrypt ? crypto::secure_channel::is_envelope(r.bytes) : wire::is_plain_record(r.bytes);
      if (r.bytes.size() > chunk) {
        CHECK_MESSAGE(binary, r.bytes.substr(0, 30));  // every big datagram is a binary data record (or a probe)
        ++data_datagrams;
      }
    }
    CHECK(data_datagrams >= (2 * 1024 * 1024) / chunk);
    CHECK(largest == 1372);  // the probes that crossed, and (encrypted) every full data datagram
    const std::size_t full = chunk + wire::file_record_header + (encrypt ? crypto::secure_channel::overhead : 1);
    CHECK(static_cast<double>(chunk) / static_cast<double>(full) >= 0.9);
  }
}

TEST_CASE("files: a path that shrinks silently under a transfer is found out, and the transfer completes in pieces") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, true};
  on_path_relay mitm{t.bob.port()};
  auto mtu = std::make_shared<std::atomic<std::size_t>>(1500);
  limit_path(mitm, mtu);
  t.connect(sys, mitm.address(), true);
  poll_until([&] { return search_settled(mitm, 8952); }, 20s);
  REQUIRE(search_settled(mitm, 8952));  // the budget is 1472
  // A file big enough to be running when the path shrinks; the path is slow enough (the relay is one thread
  // recording everything) that it still runs after the shrink.
  auto src = make_file(t.out_dir / "shrink.bin", 64 * 1024 * 1024, 5);
  REQUIRE(ask<command_reply>(sys, t.alice.handle.node, file_send_atom::value, std::string{"bob"}, src.string()).ok);
  auto full = [&] {
    return mitm.count([](const recorded& r) { return r.dir == direction::a_to_b && r.bytes.size() == 1472; });
  };
  poll_until([&] { return full() >= 2000; }, 20s);
  REQUIRE(full() >= 2000);  // ~2.8 MB of full-size data datagrams are through
  mtu->store(1300);  // no ICMP: datagrams above 1300 bytes vanish from now on
  auto shrunk_at = mitm.records().size();
  auto got = wait_transfer_end(t.bob, "shrink.bin", "receive", 120s);
  REQUIRE(got);
  CHECK(event_field(*got, "state") == "done");
  CHECK(same_bytes(src, t.in_dir / "shrink.bin"));
  auto sent = wait_transfer_end(t.alice, "shrink.bin", "send", 10s);
  REQUIRE(sent);
  CHECK(event_field(*sent, "chunk") == std::to_string(1472 - wire::file_record_header - crypto::secure_channel::overhead));
  // After the shrink: pieces no larger than the base budget got through (the chunks were split to fit).
  std::size_t pieces = 0;
  for (auto& r : mitm.records(from_a()))
    if (r.index >= shrunk_at && r.delivered && r.bytes.size() > 1000) {
      CHECK(r.bytes.size() <= session::path_mtu::base_size + 20);  // 1232, or 1252 once the search found it again
      ++pieces;
    }
  CHECK(pieces > 0);
}

TEST_CASE("files: a chunk that arrives twice is reported to the sender with FILEDUP") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, false};  // plain: the receiver's FILEDUP line is visible on the wire
  on_path_relay mitm{t.bob.port()};
  t.connect(sys, mitm.address(), false);
  // The first chunk (a binary record: 0x02 'F' id(48) offset(8) data) is held back once: alice takes it for lost
  // and resends it; the held original then arrives second, a duplicate.
  auto first_chunk = [](const recorded& r) {
    return r.dir == direction::a_to_b && r.bytes.size() > 58 && r.bytes[0] == 0x02 && r.bytes[1] == 'F' &&
           r.bytes.substr(50, 8) == std::string(8, '\0');
  };
  auto held_once = std::make_shared<std::atomic<bool>>(false);
  mitm.hold([first_chunk, held_once](const recorded& r) { return first_chunk(r) && !held_once->exchange(true); });
  auto src = make_file(t.out_dir / "dup.bin", 16 * 1024 * 1024, 9);
  REQUIRE(ask<command_reply>(sys, t.alice.handle.node, file_send_atom::value, std::string{"bob"}, src.string()).ok);
  poll_until([&] { return mitm.count(first_chunk) >= 2; }, 10s);
  REQUIRE(mitm.count(first_chunk) >= 2);  // the resend went through
  CHECK(mitm.release_held() == 1);
  auto dup = mitm.wait_for([](const recorded& r) {
    return r.dir == direction::b_to_a && r.bytes.rfind("FILEDUP ", 0) == 0;
  }, 5s);
  REQUIRE(dup);
  CHECK(dup->bytes.find(" 0\n") != std::string::npos);  // it names the chunk at offset 0
  auto got = wait_transfer_end(t.bob, "dup.bin", "receive", 60s);
  REQUIRE(got);
  CHECK(event_field(*got, "state") == "done");
  CHECK(same_bytes(src, t.in_dir / "dup.bin"));
}
