// Resume (issue 15): the record beside a partial file, and the state machines starting in the middle of a file.
#include <doctest/doctest.h>

#include "core/limits.hpp"
#include "core/transfer/receiver.hpp"
#include "core/transfer/resume_record.hpp"
#include "core/transfer/sender.hpp"

using namespace mk::transfer;
using namespace std::chrono_literals;

namespace {
const time_point t0 = time_point{} + std::chrono::hours(1);

resume_record sample() { return {"bob", "a \"quoted\" \\ name.bin", 268435456, 134217728, 1764720000, 1764720300}; }
}  // namespace

TEST_CASE("resume record: serialize then parse gives the same record") {
  auto r = sample();
  auto back = parse_resume_record(serialize(r));
  REQUIRE_MESSAGE(back.ok(), back.error().message);
  CHECK(*back == r);
}

TEST_CASE("resume record: a folder's record carries its number of files, a file's record has none") {
  auto folder = sample();
  folder.files = 412;
  auto text = serialize(folder);
  CHECK(text.find("files = 412") != std::string::npos);
  auto back = parse_resume_record(text);
  REQUIRE_MESSAGE(back.ok(), back.error().message);
  CHECK(back->files == 412);
  CHECK(*back == folder);
  CHECK(serialize(sample()).find("files") == std::string::npos);
  CHECK_FALSE(parse_resume_record(serialize(sample()) + "files = 0\n").ok());  // a folder has files
  CHECK_FALSE(parse_resume_record(text + "files = 3\n").ok());                 // once
}

TEST_CASE("resume record: strict parse names the bad line") {
  auto text = serialize(sample());
  auto bad = [](std::string t) { return !parse_resume_record(t).ok(); };
  CHECK(bad(""));
  CHECK(bad(text + "size = 5\n"));                                      // a key twice
  CHECK(bad(text + "colour = 1\n"));                                    // unknown key
  auto replace = [&](std::string from, std::string to) {
    auto t = text;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  CHECK(bad(replace("verified = 134217728", "verified = 300000000")));  // more than the size
  CHECK(bad(replace("size = 268435456", "size = -1")));
  CHECK(bad(replace("size = 268435456", "size = 0x10")));
  CHECK(bad(replace("version = 1", "version = 2")));
  CHECK(bad(replace("peer = \"bob\"", "peer = bob")));
  CHECK(bad(replace("peer = \"bob\"", "peer = \"\"")));
  auto e = parse_resume_record(replace("size = 268435456", "size = many"));
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().message.find("line 5") != std::string::npos);
  CHECK(e.error().message.find("size") != std::string::npos);
}

TEST_CASE("resume record: expiry counts from the last checkpoint") {
  auto r = sample();
  CHECK_FALSE(expired(r, r.updated + 7 * 86400, 7 * 86400));
  CHECK(expired(r, r.updated + 7 * 86400 + 1, 7 * 86400));
}

TEST_CASE("sender: resume_at accepts a pending transfer and sends only from the offset, in chunks from there") {
  const std::uint64_t size = 100000, chunk = 1389, from = 50000;  // a prefix that is not a multiple of the chunk
  sender s(size, peer_mode::extended, t0, true, chunk);
  CHECK_FALSE(s.resume_at(size + 1, t0));
  REQUIRE(s.resume_at(from, t0));
  CHECK(s.state() == sender_state::sending);
  CHECK(s.acked_bytes() == from);
  CHECK(s.resumed_from() == from);
  CHECK_FALSE(s.resume_at(0, t0));  // only while pending
  auto c = s.next_chunk(t0);
  REQUIRE(c);
  CHECK(c->offset == from);
  CHECK(c->length == chunk);
  auto c2 = s.next_chunk(t0);
  REQUIRE(c2);
  CHECK(c2->offset == from + chunk);
  // An ACK inside the second chunk is taken down to its start; a SACK range of whole chunks above counts.
  CHECK(s.on_sack(from + chunk + 10, {}, t0 + 1ms));
  CHECK(s.acked_bytes() == from + chunk);
  std::uint64_t sent = 2 * chunk;
  auto now = t0 + 1ms;
  for (int round = 0; round < 100 && s.state() == sender_state::sending; ++round) {
    while (auto n = s.next_chunk(now)) {
      CHECK(n->offset >= from);
      CHECK((n->offset - from) % chunk == 0);
      sent += n->length;
    }
    now += 1ms;
    CHECK(s.on_sack(s.sent_bytes(), {}, now));
  }
  CHECK(sent == size - from);  // nothing below the offset, nothing twice
  CHECK(s.state() == sender_state::verifying);  // lazy hash: all data in, the verdict is next
  CHECK(s.acked_bytes() == size);
}

TEST_CASE("sender: resuming at the end of the file sends nothing and waits for the verdict") {
  sender s(4096, peer_mode::extended, t0, true, 1024);
  REQUIRE(s.resume_at(4096, t0));
  CHECK(s.state() == sender_state::verifying);
  CHECK_FALSE(s.next_chunk(t0));
}

TEST_CASE("receiver: a resumed transfer starts at its prefix and completes with the rest") {
  receiver r(10000, peer_mode::extended, t0, true, 6000);
  CHECK(r.next() == 6000);
  CHECK(r.ack_state().next == 6000);
  CHECK(r.on_chunk(5000, 1000, t0).duplicate);  // below the prefix: already held
  auto v = r.on_chunk(6000, 4000, t0);
  CHECK(v.store);
  CHECK(r.state() == receiver_state::verifying);
  receiver whole(10000, peer_mode::extended, t0, true, 10000);
  CHECK(whole.state() == receiver_state::verifying);
}
