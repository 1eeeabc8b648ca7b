// Resume (issue 15) between real nodes on loopback: an interrupted transfer keeps its partial file and a record
// beside it, and the same file offered again to the same peer continues from there (FILERESUME/FILEFROM); the
// sender re-offers by itself when the peer comes back; a changed source starts over; `file list` shows partial
// files, `file cancel` removes one, and they expire.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "actors/partial_files.hpp"
#include "support/fault_relay.hpp"
#include "support/file_harness.hpp"

using namespace mk;
using namespace mk::test;

namespace {

std::uint64_t size_or_zero(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

std::size_t count_suffix(const fs::path& dir, const std::string& suffix) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto& e : fs::directory_iterator{dir, ec})
    n += e.path().filename().string().ends_with(suffix);
  return n;
}

std::uint64_t field_u64(const event& e, const std::string& key) {
  auto v = event_field(e, key);
  return v.empty() ? 0 : std::stoull(v);
}

// Bob behind a slow relay; stopped (his node shut down) once his partial file holds `fraction` of the file.
struct interrupted_transfer {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, true};
  std::uint64_t size;
  fs::path src;
  crypto::identity bob_id = t.bob.identity;

  explicit interrupted_transfer(std::uint64_t bytes, double fraction = 0.5) : size(bytes) {
    fault_relay relay{t.bob.port(), 5};
    fault_config slow;
    slow.rate_bytes_per_s = 24e6;
    relay.set_faults(slow);
    t.connect(sys, relay.address(), true);
    src = make_file(t.out_dir / "big.bin", size, 77);
    REQUIRE(send_file(sys, t.alice, "bob", src).ok);
    auto part = t.in_dir / "big.bin.part";
    auto until = std::chrono::steady_clock::now() + 60s;
    while (size_or_zero(part) < static_cast<std::uint64_t>(fraction * static_cast<double>(size)) &&
           std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(2ms);
    REQUIRE(size_or_zero(part) > 0);
    stop_node(t.bob);
    auto sent = wait_transfer_end(t.alice, "big.bin", "send", 30s);
    REQUIRE(sent);
    CHECK(event_field(*sent, "state") == "failed");
    // Bob's node wrote its record when it stopped: the partial file stays.
    auto until2 = std::chrono::steady_clock::now() + 10s;
    while (!read_partial(part) && std::chrono::steady_clock::now() < until2)
      std::this_thread::sleep_for(10ms);
    auto pf = read_partial(part);
    REQUIRE(pf);
    CHECK(pf->record.peer == "alice");
    CHECK(pf->record.size == size);
    CHECK(pf->record.verified > 0);
    CHECK(pf->record.verified <= size_or_zero(part));
  }
};

}  // namespace

TEST_CASE("resume: a receiver stopped mid-transfer resumes where it stopped when the sender re-offers by itself") {
  interrupted_transfer x{24ull << 20};
  auto held = read_partial(x.t.in_dir / "big.bin.part")->record.verified;
  auto bob = start_node(x.sys, file_config("bob", true), x.bob_id, {}, x.t.in_dir);
  ask<command_reply>(x.sys, x.t.alice.handle.node, connect_host_atom::value, connect_line(bob));
  // No command: alice offers the interrupted file again once bob's capabilities say he can resume.
  auto got = wait_transfer_end(bob, "big.bin", "receive", 60s);
  INFO("bob: " << bob.events->dump() << "\nalice: " << x.t.alice.events->dump());
  REQUIRE(got);
  CHECK(event_field(*got, "state") == "done");
  CHECK(same_bytes(x.src, x.t.in_dir / "big.bin"));
  auto sent = x.t.alice.events->wait_for([](const event& e) {
    return e.kind == event_kind::transfer && event_field(e, "direction") == "send" && event_field(e, "state") == "done";
  });
  REQUIRE(sent);
  // Only the rest went again: the resumed transfer started at what bob held.
  CHECK(field_u64(*sent, "resumed_from") == held);
  CHECK(field_u64(*got, "resumed_from") == held);
  CHECK(bob.events->any([](const event& e) { return e.text.find("Resuming big.bin from alice") != std::string::npos; }));
  // Nothing is left beside the file: no .part, no record.
  CHECK(count_suffix(x.t.in_dir, ".part") == 0);
  CHECK(count_suffix(x.t.in_dir, ".resume") == 0);
  stop_node(bob);
}

TEST_CASE("resume: a source file changed since the interruption is sent again from the start, byte-identical") {
  interrupted_transfer x{16ull << 20};
  {  // change one byte near the start: the prefix bob holds no longer matches
    std::fstream f{x.src, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(100);
    f.put('\x5a');
  }
  auto bob = start_node(x.sys, file_config("bob", true), x.bob_id, {}, x.t.in_dir);
  ask<command_reply>(x.sys, x.t.alice.handle.node, connect_host_atom::value, connect_line(bob));
  auto got = wait_transfer_end(bob, "big.bin", "receive", 60s);
  INFO("bob: " << bob.events->dump() << "\nalice: " << x.t.alice.events->dump());
  REQUIRE(got);
  CHECK(event_field(*got, "state") == "done");
  CHECK(field_u64(*got, "resumed_from") == 0);
  CHECK(same_bytes(x.src, x.t.in_dir / "big.bin"));
  CHECK(bob.events->any([](const event& e) { return e.text.find("does not match") != std::string::npos; }));
  CHECK(x.t.alice.events->any([](const event& e) { return e.text.find("does not match") != std::string::npos; }));
  stop_node(bob);
}

TEST_CASE("resume: file list shows a partial file as resumable, file cancel removes it and its record") {
  interrupted_transfer x{16ull << 20};
  auto bob = start_node(x.sys, file_config("bob", true), x.bob_id, {}, x.t.in_dir);
  auto list = ask<std::vector<transfer_info>>(x.sys, bob.handle.node, file_list_atom::value);
  auto it = std::find_if(list.begin(), list.end(), [](auto& i) { return i.state == "resumable"; });
  REQUIRE(it != list.end());
  CHECK(it->name == "big.bin");
  CHECK(it->peer == "alice");
  CHECK(it->size == x.size);
  CHECK(it->done > 0);
  // alice remembers her side too (she would offer it again when bob connects)
  auto alist = ask<std::vector<transfer_info>>(x.sys, x.t.alice.handle.node, file_list_atom::value);
  CHECK(std::any_of(alist.begin(), alist.end(), [](auto& i) { return i.state == "resumable" && i.outgoing; }));
  auto r = ask<command_reply>(x.sys, bob.handle.node, file_cancel_atom::value, std::string{"big.bin"});
  CHECK_MESSAGE(r.ok, r.message);
  CHECK(count_suffix(x.t.in_dir, ".part") == 0);
  CHECK(count_suffix(x.t.in_dir, ".resume") == 0);
  list = ask<std::vector<transfer_info>>(x.sys, bob.handle.node, file_list_atom::value);
  CHECK(std::none_of(list.begin(), list.end(), [](auto& i) { return i.state == "resumable"; }));
  auto ra = ask<command_reply>(x.sys, x.t.alice.handle.node, file_cancel_atom::value, std::string{"big.bin"});
  CHECK_MESSAGE(ra.ok, ra.message);
  alist = ask<std::vector<transfer_info>>(x.sys, x.t.alice.handle.node, file_list_atom::value);
  CHECK(std::none_of(alist.begin(), alist.end(), [](auto& i) { return i.state == "resumable"; }));
  stop_node(bob);
}

TEST_CASE("resume: partial files older than network.file.keep_partial_days are removed when the node starts") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  scratch_dir dir;
  auto in = dir / "in";
  fs::create_directories(in);
  auto old_part = make_file(in / "old.bin.part", 4096, 1);
  auto new_part = make_file(in / "new.bin.part", 4096, 2);
  auto now = unix_now();
  REQUIRE(write_resume_record(old_part, {"alice", "old.bin", 8192, 4096, now - 9 * 86400, now - 8 * 86400}, true));
  REQUIRE(write_resume_record(new_part, {"alice", "new.bin", 8192, 4096, now - 9 * 86400, now - 6 * 86400}, true));
  auto c = file_config("bob", true);
  c.keep_partial_days = 7;
  auto bob = start_file_node(sys, c, in);
  auto list = ask<std::vector<transfer_info>>(sys, bob.handle.node, file_list_atom::value);
  CHECK_FALSE(fs::exists(old_part));
  CHECK_FALSE(fs::exists(record_path_of(old_part)));
  CHECK(fs::exists(new_part));
  CHECK(std::count_if(list.begin(), list.end(), [](auto& i) { return i.state == "resumable"; }) == 1);
  CHECK(bob.events->wait_for([](const event& e) { return e.text.find("Removed the partial file of old.bin") != std::string::npos; }, 5s));
  stop_node(bob);
}

TEST_CASE("resume: toward a peer without resume1 an interrupted transfer leaves no partial file") {
  // The legacy emulation of the original never announces capabilities; the existing peer-disconnect tests cover
  // it. Here: a node whose keep_partial_days is 0 keeps nothing even between mokaccino nodes.
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  scratch_dir dir;
  auto a = start_file_node(sys, file_config("alice", true), dir / "a");
  auto bc = file_config("bob", true);
  bc.keep_partial_days = 0;
  auto b = start_file_node(sys, bc, dir / "in");
  fault_relay relay{b.port(), 6};
  fault_config slow;
  slow.rate_bytes_per_s = 8e6;
  relay.set_faults(slow);
  ask<command_reply>(sys, a.handle.node, connect_host_atom::value, relay.address());
  REQUIRE(a.events->wait_kind(event_kind::connected));
  REQUIRE(b.events->wait_kind(event_kind::encryption, "now encrypted"));
  fs::create_directories(dir / "out");
  auto src = make_file(dir / "out" / "x.bin", 8 << 20, 3);
  std::this_thread::sleep_for(200ms);
  REQUIRE(send_file(sys, a, "bob", src).ok);
  auto until = std::chrono::steady_clock::now() + 30s;
  while (size_or_zero(dir / "in" / "x.bin.part") < (1u << 20) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(2ms);
  REQUIRE(size_or_zero(dir / "in" / "x.bin.part") > 0);
  stop_node(b);
  REQUIRE(wait_transfer_end(a, "x.bin", "send", 30s));
  std::this_thread::sleep_for(300ms);
  CHECK(count_suffix(dir / "in", ".part") == 0);
  CHECK(count_suffix(dir / "in", ".resume") == 0);
  stop_node(a);
}

TEST_CASE("resume: a network outage longer than the keep-alive interrupts a transfer, and after reconnecting it resumes") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, true};
  fault_relay relay{t.bob.port(), 9};
  fault_config slow;
  slow.rate_bytes_per_s = 12e6;
  relay.set_faults(slow);
  t.connect(sys, relay.address(), true);
  constexpr std::uint64_t size = 24ull << 20;
  auto src = make_file(t.out_dir / "big.bin", size, 31);
  REQUIRE(send_file(sys, t.alice, "bob", src).ok);
  auto part = t.in_dir / "big.bin.part";
  auto until = std::chrono::steady_clock::now() + 60s;
  while (size_or_zero(part) < size * 2 / 5 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(2ms);
  REQUIRE(size_or_zero(part) >= size * 2 / 5);

  auto outage = slow;
  outage.drop = 1.0;  // the path goes dark: both keep-alives time out (§6: six strikes)
  relay.set_faults(outage);
  REQUIRE(t.alice.events->wait_kind(event_kind::disconnected, "", 20s));
  REQUIRE(t.bob.events->wait_kind(event_kind::disconnected, "", 20s));
  auto sent = wait_transfer_end(t.alice, "big.bin", "send", 30s);
  REQUIRE(sent);
  CHECK(event_field(*sent, "state") == "failed");
  auto cut = wait_transfer_end(t.bob, "big.bin", "receive", 30s);
  REQUIRE(cut);
  CHECK(event_field(*cut, "state") == "failed");
  auto held = read_partial(part);
  REQUIRE(held);
  CHECK(held->record.verified > 0);

  relay.set_faults(slow);  // the path is back; alice connects again and offers the file again by herself
  ask<command_reply>(sys, t.alice.handle.node, connect_host_atom::value, relay.address());
  auto got = t.bob.events->wait_for(
    [&](const event& e) {
      return e.kind == event_kind::transfer && event_field(e, "direction") == "receive" &&
             event_field(e, "name") == "big.bin" && event_field(e, "state") == "done";
    },
    90s);
  INFO("bob: " << t.bob.events->dump() << "\nalice: " << t.alice.events->dump());
  REQUIRE(got);
  CHECK(field_u64(*got, "resumed_from") > 0);
  CHECK(field_u64(*got, "resumed_from") <= held->record.verified);
  CHECK(same_bytes(src, t.in_dir / "big.bin"));
  CHECK(t.alice.events->any([](const event& e) {
    return e.text.find("Offering big.bin to bob again") != std::string::npos;
  }));
}
