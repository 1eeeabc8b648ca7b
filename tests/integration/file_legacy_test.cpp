// Transfers with a raw test peer that behaves like the original program (PROTOCOL §10, legacy mode): it speaks
// only FILEINIT/FILEACK/FILE/FILESTOP with cumulative ACKs and the fixed 10-chunk window, ignores MKCAPS and
// FILESACK. Both directions must work, and toward it we may send only cumulative FILEACKs.
#include <doctest/doctest.h>

#include "core/crypto/file_hash.hpp"
#include "core/crypto/random.hpp"
#include "core/wire/base64.hpp"
#include "core/wire/messages.hpp"
#include "support/file_harness.hpp"

using namespace mk;
using namespace mk::test;
namespace w = mk::wire;

namespace {

// The raw peer connects to `node` as `user` (§5) and answers PINGs while it waits for lines.
struct legacy_peer {
  raw_peer sock;
  std::uint16_t node_port;
  std::vector<std::string> seen;  // every line received

  legacy_peer(const test_node& node, const std::string& user, const crypto::identity& id) : node_port(node.port()) {
    Botan::AutoSeeded_RNG rng;
    w::connect_msg c{user, crypto::make_nonce(rng), id.public_key().base64(), {}};
    c.signature = id.sign(w::signed_text(c), rng);
    sock.send_line(node_port, w::serialize(c));
    auto hs = sock.receive("HANDSHAKE");
    REQUIRE(hs);
    auto parsed = w::parse_line(*hs);
    REQUIRE(parsed.ok());
    auto& h = std::get<w::handshake_msg>(*parsed);
    w::connected_msg done{h.nonce, {}};
    done.signature = id.sign(w::signed_text(done), rng);
    sock.send_line(node_port, w::serialize(done));
  }

  void send(const std::string& line) { sock.send_line(node_port, line); }

  // The next FILE* line (answering PINGs on the way), or nullopt after `timeout`.
  std::optional<w::message> next_file_line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto line = sock.receive("", 20ms);
      if (!line)
        continue;
      seen.push_back(*line);
      auto m = w::parse_line(*line);
      if (!m.ok())
        continue;
      if (auto* p = std::get_if<w::ping_msg>(&*m)) {
        send(w::serialize(w::pong_msg{p->id}));
        continue;
      }
      if (std::holds_alternative<w::file_init_msg>(*m) || std::holds_alternative<w::file_ack_msg>(*m) ||
          std::holds_alternative<w::file_msg>(*m) || std::holds_alternative<w::file_stop_msg>(*m) ||
          std::holds_alternative<w::file_sack_msg>(*m))
        return *m;
    }
    return std::nullopt;
  }
};

std::vector<std::uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

}  // namespace

TEST_CASE("files legacy: an original-style sender (window 10, cumulative ACKs) delivers to a mokaccino node") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  scratch_dir dir;
  auto bob = start_file_node(sys, file_config("bob", false), dir / "in");
  Botan::AutoSeeded_RNG rng;
  auto id = crypto::identity::generate(rng);
  legacy_peer old{bob, "olda", id};
  REQUIRE(bob.events->wait_kind(event_kind::connected));
  auto src = make_file(dir / "legacy.bin", 200 * 1024 + 300, 61);
  auto data = read_bytes(src);
  auto hash = crypto::hash_file(src);
  REQUIRE(hash.ok());
  const std::uint64_t size = data.size();
  old.send(w::serialize(w::file_init_msg{*hash, size, "legacy.bin"}));
  // The original: wait for FILEACK 0, then keep next - last_acked < 10240; duplicate ACK -> resend that chunk.
  std::uint64_t last_acked = 0, next = 0;
  bool accepted = false, complete = false;
  auto send_chunk = [&](std::uint64_t off) {
    auto len = std::min<std::uint64_t>(1024, size - off);
    w::file_msg f{*hash, off, {data.begin() + static_cast<std::ptrdiff_t>(off),
                               data.begin() + static_cast<std::ptrdiff_t>(off + len)}};
    old.send(w::serialize(f));
  };
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!complete && std::chrono::steady_clock::now() < deadline) {
    if (accepted)
      while (next < size && next - last_acked < 10240) {
        send_chunk(next);
        next += 1024;
      }
    auto m = old.next_file_line(300ms);
    if (!m) {
      if (accepted && last_acked < size)
        send_chunk(last_acked);  // §10: resend after 200 ms without an ACK
      continue;
    }
    REQUIRE_FALSE(std::holds_alternative<w::file_sack_msg>(*m));  // never FILESACK to an original
    REQUIRE_FALSE(std::holds_alternative<w::file_stop_msg>(*m));
    if (auto* a = std::get_if<w::file_ack_msg>(&*m)) {
      CHECK(a->hash == *hash);
      if (!accepted) {
        CHECK(a->next == 0);
        accepted = true;
        continue;
      }
      if (a->next == size)
        complete = true;
      else if (a->next == last_acked && last_acked < size)
        send_chunk(last_acked);
      else if (a->next > last_acked)
        last_acked = a->next;
    }
  }
  REQUIRE(complete);
  auto got = wait_transfer_end(bob, "legacy.bin", "receive", 10s);
  REQUIRE(got);
  CHECK(event_field(*got, "state") == "done");
  CHECK(same_bytes(src, dir / "in" / "legacy.bin"));
  stop_node(bob);
}

TEST_CASE("files legacy: a mokaccino sender delivers to an original-style receiver (cumulative FILEACK only)") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  scratch_dir dir;
  auto bob = start_file_node(sys, file_config("bob", false), dir / "bob-dl");
  Botan::AutoSeeded_RNG rng;
  auto id = crypto::identity::generate(rng);
  legacy_peer old{bob, "olda", id};
  REQUIRE(bob.events->wait_kind(event_kind::connected));
  auto src = make_file(dir / "to-old.bin", 300 * 1024 + 77, 62);
  auto r = ask<command_reply>(sys, bob.handle.node, file_send_atom::value, std::string{"olda"}, src.string());
  REQUIRE_MESSAGE(r.ok, r.message);
  // The original receiver: FILEACK 0 on accept; store chunks; ACK at once on a duplicate, when complete or
  // 10240 bytes past the last ACK, and every 100 ms even if nothing changed.
  std::optional<w::file_init_msg> init;
  for (int i = 0; i < 3 && !init; ++i) {
    auto m = old.next_file_line(3s);
    REQUIRE(m);
    if (auto* f = std::get_if<w::file_init_msg>(&*m))
      init = *f;
  }
  REQUIRE(init);
  CHECK(init->name == "to-old.bin");
  std::vector<std::uint8_t> buf(init->size);
  std::vector<bool> have((init->size + 1023) / 1024, false);
  std::uint64_t next = 0, last_acked = 0;
  auto ack = [&] {
    old.send(w::serialize(w::file_ack_msg{init->hash, next}));
    last_acked = next;
  };
  ack();  // accept: FILEACK 0
  auto last_ack_time = std::chrono::steady_clock::now();
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (next < init->size && std::chrono::steady_clock::now() < deadline) {
    auto m = old.next_file_line(20ms);
    if (m) {
      REQUIRE_FALSE(std::holds_alternative<w::file_stop_msg>(*m));
      if (auto* f = std::get_if<w::file_msg>(&*m)) {
        REQUIRE(f->offset % 1024 == 0);
        REQUIRE(f->offset < init->size);
        auto idx = f->offset / 1024;
        if (have[idx]) {
          ack();  // duplicate: ACK at once
        } else {
          std::copy(f->data.begin(), f->data.end(), buf.begin() + static_cast<std::ptrdiff_t>(f->offset));
          have[idx] = true;
          while (next < init->size && have[next / 1024])
            next = std::min<std::uint64_t>(next + 1024, init->size);
          if (next == init->size || next >= last_acked + 10240)
            ack();
        }
      }
    }
    if (std::chrono::steady_clock::now() - last_ack_time > 100ms) {
      ack();
      last_ack_time = std::chrono::steady_clock::now();
    }
  }
  REQUIRE(next == init->size);
  ack();
  auto sent = wait_transfer_end(bob, "to-old.bin", "send", 10s);
  REQUIRE(sent);
  CHECK(event_field(*sent, "state") == "done");
  auto data = read_bytes(src);
  CHECK(data == buf);
  stop_node(bob);
}
