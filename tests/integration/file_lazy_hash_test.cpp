// Hash while sending (issue 12, item 5; MKCAPS `lazyhash`): between mokaccino nodes the offer (FILEOFFER) leaves
// before the file is hashed, the sender hashes what it reads for sending and announces the SHA-384 (FILEHASH) after
// the last new chunk, and the receiver names the file only when that hash matches what it wrote. Real nodes, real
// UDP, real files.
#include <doctest/doctest.h>

#include "core/crypto/file_hash.hpp"
#include "support/fault_relay.hpp"
#include "support/file_harness.hpp"

using namespace mk;
using namespace mk::test;

namespace {

// Position of the first event of `n` that satisfies `pred` in the order the node published them; -1 if none.
long first_index(test_node& n, const std::function<bool(const event&)>& pred) {
  long i = 0, found = -1;
  n.events->any([&](const event& e) {
    if (pred(e))
      found = i;
    ++i;
    return found >= 0;
  });
  return found;
}

bool sent_event(const event& e, const std::string& name, const std::string& text) {
  return e.kind == event_kind::transfer && event_field(e, "direction") == "send" && event_field(e, "name") == name &&
         e.text.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("files lazy hash: encrypted mokaccino nodes, 24 MiB byte-identical, offered before the hash was known") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, true};
  t.connect(sys, connect_line(t.bob), true);
  auto src = make_file(t.out_dir / "lazy.bin", 24 * 1024 * 1024 + 321, 77);
  auto real = crypto::hash_file(src);
  REQUIRE(real.ok());
  auto r = send_file(sys, t.alice, "bob", src);
  REQUIRE_MESSAGE(r.ok, r.message);
  CHECK_MESSAGE(r.message.find("hashing while sending") != std::string::npos, r.message);
  auto got = wait_transfer_end(t.bob, "lazy.bin", "receive", 90s);
  REQUIRE(got);
  CHECK_MESSAGE(event_field(*got, "state") == "done", got->text);
  CHECK(same_bytes(src, t.in_dir / "lazy.bin"));
  auto sent = wait_transfer_end(t.alice, "lazy.bin", "send", 30s);
  REQUIRE(sent);
  CHECK_MESSAGE(event_field(*sent, "state") == "done", progress_trace(t.alice, "lazy.bin"));
  CHECK(event_field(*sent, "sha384") == *real);  // the hash computed while sending is the file's SHA-384

  // The offer went out first, under an id that is not the content hash (the old path offers the hash itself, after
  // the hash pool read the whole file); the SHA-384 was announced only after that, once the data had been read.
  auto offer = t.alice.events->wait_for([](const event& e) { return sent_event(e, "lazy.bin", "Offering"); });
  REQUIRE(offer);
  CHECK(event_field(*offer, "hash").size() == 64);
  CHECK(event_field(*offer, "hash") != *real);
  CHECK(event_field(*offer, "sha384").empty());  // not known when the offer left
  long offered = first_index(t.alice, [](const event& e) { return sent_event(e, "lazy.bin", "Offering"); });
  long announced = first_index(t.alice, [](const event& e) { return sent_event(e, "lazy.bin", "Announced the SHA-384"); });
  REQUIRE(offered >= 0);
  REQUIRE(announced >= 0);
  CHECK(offered < announced);
  // Data had been flowing (and acknowledged) before the hash existed: it is announced with the last new chunk.
  auto announce = t.alice.events->wait_for([](const event& e) { return sent_event(e, "lazy.bin", "Announced"); });
  REQUIRE(announce);
  CHECK(event_field(*announce, "sha384") == *real);
  auto acked = std::stoull(event_field(*announce, "bytes"));
  CHECK(acked > 0);
  CHECK(acked < fs::file_size(src));
  CHECK(entries(t.in_dir) == 1);  // no .part left
}

TEST_CASE("files lazy hash: a sender announcing a wrong SHA-384 makes the receiver fail, no file is kept") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, false};
  fault_relay relay{t.bob.port()};
  t.connect(sys, relay.address(), false);
  auto src = make_file(t.out_dir / "liar.bin", 3 * 1024 * 1024 + 99, 43);
  auto real = crypto::hash_file(src);
  REQUIRE(real.ok());
  // The relay plays the lying sender: every FILEHASH alice sends bob names a different (well-formed) hash.
  const std::string lie(64, 'Q');
  std::atomic<int> lies{0};
  relay.set_hook([&](const std::string& d, bool from_a) -> std::optional<std::string> {
    if (!from_a)
      return std::nullopt;
    // Between mokaccino nodes a plain line may travel as the record 0x02 'L' line.
    std::size_t at = d.rfind("FILEHASH ", 0) == 0 ? 0 : (d.size() > 2 && d[0] == 0x02 && d[1] == 'L' &&
                                                          d.compare(2, 9, "FILEHASH ") == 0)
                                                           ? 2
                                                           : std::string::npos;
    if (at == std::string::npos)
      return std::nullopt;
    auto line = d.substr(at);
    auto sp = line.rfind(' ');
    REQUIRE(sp != std::string::npos);
    REQUIRE(line.compare(sp + 1, 64, *real) == 0);  // alice announces the real hash
    ++lies;
    bool lf = !line.empty() && line.back() == '\n';
    return d.substr(0, at) + line.substr(0, sp + 1) + lie + (lf ? "\n" : "");
  });
  auto r = send_file(sys, t.alice, "bob", src);
  REQUIRE_MESSAGE(r.ok, r.message);
  CHECK(r.message.find("hashing while sending") != std::string::npos);
  auto got = wait_transfer_end(t.bob, "liar.bin", "receive", 60s);
  REQUIRE(got);
  CHECK(lies >= 1);
  CHECK(event_field(*got, "state") == "failed");
  CHECK_MESSAGE(got->text.find("hash mismatch") != std::string::npos, got->text);
  auto sent = wait_transfer_end(t.alice, "liar.bin", "send", 30s);
  REQUIRE(sent);
  CHECK(event_field(*sent, "state") == "failed");
  CHECK_MESSAGE(sent->text.find("discarded the file after the SHA-384 was announced") != std::string::npos, sent->text);
  std::this_thread::sleep_for(100ms);
  CHECK(entries(t.in_dir) == 0);  // neither the final name nor the .part
}

TEST_CASE("files lazy hash: a chunk corrupted in transit is caught at the end, a zero-byte file still arrives") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, false};
  fault_relay relay{t.bob.port()};
  t.connect(sys, relay.address(), false);
  std::atomic<int> corrupted{0};
  relay.set_hook([&](const std::string& d, bool from_a) -> std::optional<std::string> {
    return from_a ? flip_plain_chunk(d, 4096, 7, corrupted) : std::nullopt;
  });
  auto src = make_file(t.out_dir / "flip.bin", 200000, 5);
  auto empty = make_file(t.out_dir / "none.bin", 0);
  REQUIRE(send_file(sys, t.alice, "bob", src).ok);
  REQUIRE(send_file(sys, t.alice, "bob", empty).ok);
  check_hash_mismatch(t.alice, t.bob, "flip.bin");
  CHECK(corrupted == 1);
  auto e = wait_transfer_end(t.bob, "none.bin", "receive", 30s);
  REQUIRE(e);
  CHECK_MESSAGE(event_field(*e, "state") == "done", e->text);
  CHECK(fs::exists(t.in_dir / "none.bin"));
  auto e2 = wait_transfer_end(t.alice, "none.bin", "send", 30s);
  REQUIRE(e2);
  CHECK(event_field(*e2, "state") == "done");
  std::this_thread::sleep_for(100ms);
  CHECK(entries(t.in_dir) == 1);  // only the empty file: nothing of flip.bin
}

TEST_CASE("files lazy hash: the same file twice to one peer is refused while the first is in flight") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, false};
  t.connect(sys, connect_line(t.bob), false);
  auto src = make_file(t.out_dir / "twice.bin", 8 * 1024 * 1024, 9);
  REQUIRE(send_file(sys, t.alice, "bob", src).ok);
  REQUIRE(send_file(sys, t.alice, "bob", src).ok);  // answered once open; the duplicate is refused on offering
  auto dup = t.alice.events->wait_kind(event_kind::error, "Already sending this file", 10s);
  CHECK(dup);
  auto got = wait_transfer_end(t.bob, "twice.bin", "receive", 60s);
  REQUIRE(got);
  CHECK(event_field(*got, "state") == "done");
  CHECK(same_bytes(src, t.in_dir / "twice.bin"));
  std::this_thread::sleep_for(200ms);
  CHECK(entries(t.in_dir) == 1);
}
