// A real mokaccino node sends a file across a veth link to the emulation of an original node (issue 12). The
// original's format is fixed: encrypted, each FILE datagram is ~1.9 KB and must cross MTU 1500 and 1280 as IP
// fragments, as the original's own datagrams do (before the fix the node's GSO runs were refused by the kernel
// and dropped: the transfer stalled after a few dozen KB).
#include <doctest/doctest.h>

#include <algorithm>

#include "core/crypto/file_hash.hpp"
#include "netns/ns_legacy_peer.hpp"
#include "netns/ns_node.hpp"

using namespace mk;
using namespace mk::test;
using namespace std::chrono_literals;
namespace w = mk::wire;

namespace {

// The original receiver (PROTOCOL §10): FILEACK 0 on accept; store chunks; ACK at once on a duplicate, when
// complete or 10240 bytes past the last ACK, and every 100 ms even if nothing changed. Returns the bytes.
std::string receive_like_original(ns_legacy_peer& old, const w::file_init_msg& init) {
  std::string buf(init.size, '\0');
  std::vector<bool> have((init.size + 1023) / 1024, false);
  std::uint64_t next = 0, last_acked = 0;
  auto last_ack_time = std::chrono::steady_clock::now();
  auto ack = [&] {
    old.send(w::serialize(w::file_ack_msg{init.hash, next}));
    last_acked = next;
    last_ack_time = std::chrono::steady_clock::now();
  };
  ack();
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (next < init.size && std::chrono::steady_clock::now() < deadline) {
    auto m = old.next(10ms);
    if (m) {
      REQUIRE_FALSE(std::holds_alternative<w::file_stop_msg>(*m));
      if (auto* f = std::get_if<w::file_msg>(&*m); f && f->hash == init.hash) {
        REQUIRE(f->offset % 1024 == 0);
        REQUIRE(f->offset < init.size);
        auto idx = f->offset / 1024;
        if (have[idx]) {
          ack();
        } else {
          std::copy(f->data.begin(), f->data.end(), buf.begin() + static_cast<std::ptrdiff_t>(f->offset));
          have[idx] = true;
          while (next < init.size && have[next / 1024])
            next = std::min<std::uint64_t>(next + 1024, init.size);
          if (next == init.size || next >= last_acked + 10240)
            ack();
        }
      }
    }
    if (std::chrono::steady_clock::now() - last_ack_time > 100ms)
      ack();
  }
  REQUIRE_MESSAGE(next == init.size, "stalled at " << next << " of " << init.size);
  ack();
  return buf;
}

void send_to_original(int mtu, bool encrypted) {
  skip_unless_netns();
  netns_link link{mtu};
  ns_node node{link.a(), "moka", encrypted};
  REQUIRE_MESSAGE(node->saw("Listening on UDP port", 10s), node->transcript());
  ns_legacy_peer old{link.b(), netns_link::v4_a, ns_node_port};
  old.connect("olda");
  REQUIRE_MESSAGE(node->saw("\"type\":\"connected\"", 10s), node->transcript());
  if (encrypted) {  // the node starts encryption (encrypt_by_default); the emulation answers as the original
    auto until = std::chrono::steady_clock::now() + 15s;
    while (!old.encrypting() && std::chrono::steady_clock::now() < until)
      old.next(50ms);
    REQUIRE_MESSAGE(old.encrypting(), node->transcript());
    REQUIRE_MESSAGE(node->saw(R"("type":"encryption")", 10s), node->transcript());
  }

  auto frags_before = fragments_created(link.a());
  temp_dir src{"mk-netns-src"};
  auto file = random_file(src / "to-old.bin", (1u << 20) + 333, 1203);
  node->write_line("file send olda " + file.string());
  std::optional<w::file_init_msg> init;
  for (auto until = std::chrono::steady_clock::now() + 10s; !init && std::chrono::steady_clock::now() < until;)
    if (auto m = old.next(100ms))
      if (auto* f = std::get_if<w::file_init_msg>(&*m))
        init = *f;
  REQUIRE_MESSAGE(init, node->transcript());
  CHECK(init->name == "to-old.bin");
  auto started = std::chrono::steady_clock::now();
  auto got = receive_like_original(old, *init);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CHECK(got == read_all(file));
  auto hash = crypto::hash_file(file);
  REQUIRE(hash.ok());
  CHECK(init->hash == *hash);
  if (encrypted)
    CHECK(old.opened > init->size / 1024);  // every chunk came sealed
  auto end = transfer_end(*node.proc, "to-old.bin", "send", 15s);
  REQUIRE_MESSAGE(end, node->transcript());
  CHECK(json_field(*end, "state") == "done");
  // The original's format (a base64 chunk in a FILE line, sealed and base64-coded again) exceeds this MTU: it
  // crosses as IP fragments, as between two originals (and the counter the node tests read does count them).
  CHECK(fragments_created(link.a()) > frags_before);
  MESSAGE("to an original, MTU " << mtu << std::string{encrypted ? " encrypted: " : " plain: "}
                                 << static_cast<double>(init->size) / seconds / 1e6 << " MB/s");
}

}  // namespace

TEST_CASE("netns legacy: a node sends an encrypted file to an original at MTU 1500") { send_to_original(1500, true); }

TEST_CASE("netns legacy: a node sends an encrypted file to an original at MTU 1280") { send_to_original(1280, true); }

TEST_CASE("netns legacy: a node sends a plain file to an original at MTU 1280") { send_to_original(1280, false); }
