// Issue 15: a folder interrupted part-way resumes. The receiver keeps a record beside the folder's directory; the
// same folder offered again (here by the sender itself, when the receiver is back) goes on in that directory,
// without a second question: files saved before are checked (FILERESUME of all of it) and not sent again, partial
// ones continue where they stopped, the rest arrive as usual.
#include <doctest/doctest.h>

#include <fstream>

#include "actors/partial_files.hpp"
#include "support/fault_relay.hpp"
#include "support/file_harness.hpp"

using namespace mk;
using namespace mk::test;

namespace {

bool contains(const event& e, const std::string& s) { return e.text.find(s) != std::string::npos; }

bool is_folder_end(const event& e, const std::string& name, const std::string& direction) {
  if (e.kind != event_kind::transfer || event_field(e, "name") != name || event_field(e, "files").empty() ||
      event_field(e, "direction") != direction)
    return false;
  auto s = event_field(e, "state");
  return s == "done" || s == "failed" || s == "cancelled" || s == "refused";
}

struct tally {
  std::size_t whole = 0, part = 0, record = 0;
};

tally count(const fs::path& dir) {
  tally t;
  for (auto& e : fs::recursive_directory_iterator{dir}) {
    auto ext = e.path().extension();
    if (ext == ".part")
      ++t.part;
    else if (ext == ".resume")
      ++t.record;
    else if (e.is_regular_file())
      ++t.whole;
  }
  return t;
}

std::string file_name(const char* stem, int i) {
  std::string n = stem;  // built with += (GCC 12 warns falsely about "lit" + to_string, -Wrestrict)
  n += std::to_string(i);
  n += ".bin";
  return n;
}

}  // namespace

TEST_CASE("folders: a receiver stopped part-way resumes the folder in the same directory, saved files not sent again") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, true, config::action::prompt};
  fault_relay relay{t.bob.port(), 5};
  fault_config slow;
  slow.rate_bytes_per_s = 12e6;
  relay.set_faults(slow);
  t.connect(sys, relay.address(), true);

  // 60 files of 192 KiB and two of 6 MiB in a subdirectory: several seconds behind the relay.
  auto src = t.out_dir / "album";
  fs::create_directories(src / "raw");
  std::uint64_t total = 0;
  for (int i = 0; i < 60; ++i) {
    make_file(src / file_name("img", i), 192 * 1024, static_cast<std::uint32_t>(i + 1));
    total += 192 * 1024;
  }
  for (int i = 0; i < 2; ++i) {
    make_file(src / "raw" / file_name("big", i), 6 << 20, static_cast<std::uint32_t>(100 + i));
    total += 6 << 20;
  }
  auto r = send_file(sys, t.alice, "bob", src);
  REQUIRE_MESSAGE(r.ok, r.message);
  auto q = t.bob.events->wait_for([](const event& e) { return e.kind == event_kind::prompt; }, 20s);
  REQUIRE(q);
  caf::anon_send(t.bob.handle.node, answer_atom::value, q->id, true);

  // Stop bob once a third of the small files are saved (the big ones are still arriving).
  auto saved = [&] {
    return t.bob.events->count([](const event& e) {
      return event_field(e, "folder") == "album/" && event_field(e, "files").empty() &&
             event_field(e, "state") == "done";
    });
  };
  auto until = std::chrono::steady_clock::now() + 60s;
  while (saved() < 20 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  REQUIRE(saved() >= 20);
  auto bob_id = t.bob.identity;
  stop_node(t.bob);
  auto sent = t.alice.events->wait_for([](const event& e) { return is_folder_end(e, "album/", "send"); }, 30s);
  REQUIRE_MESSAGE(sent, t.alice.events->dump());
  CHECK(event_field(*sent, "state") == "failed");

  auto dst = t.in_dir / "album";
  auto before = count(dst);
  INFO("before the restart: " << before.whole << " whole, " << before.part << " partial, " << before.record
                              << " records");
  CHECK(before.whole >= 20);
  CHECK(before.whole < 62);
  CHECK(before.part == before.record);
  // What the receiver holds: whole files, and the verified beginnings of partial ones.
  std::uint64_t held = 0;
  std::size_t partial_with_data = 0;
  for (auto& e : fs::recursive_directory_iterator{dst}) {
    if (e.path().extension() == ".part") {
      auto pf = read_partial(e.path());
      REQUIRE(pf);
      held += pf->record.verified;
      partial_with_data += pf->record.verified > 0;
    } else if (e.is_regular_file() && e.path().extension() != ".resume") {
      held += e.file_size();
    }
  }
  auto rec = read_partial_folder(dst);
  REQUIRE(rec);
  CHECK(rec->record.peer == "alice");
  CHECK(rec->record.files == 62);
  CHECK(rec->record.size == total);

  // Bob is back (same identity, same download directory, still asking about files); alice offers again by herself.
  auto bob = start_node(sys, file_config("bob", true, config::action::prompt), bob_id, {}, t.in_dir);
  ask<command_reply>(sys, t.alice.handle.node, connect_host_atom::value, connect_line(bob));
  auto got = bob.events->wait_for([](const event& e) { return is_folder_end(e, "album/", "receive"); }, 90s);
  INFO("bob: " << bob.events->dump());
  REQUIRE(got);
  CHECK(event_field(*got, "state") == "done");
  CHECK(event_field(*got, "files_done") == "62");
  CHECK(bob.events->any([](const event& e) { return contains(e, "Resuming folder album/ from alice"); }));
  CHECK(bob.events->count([](const event& e) { return e.kind == event_kind::prompt; }) == 0);  // asked once, before
  // Every file saved before was checked, not sent again; the partial ones continued.
  auto checked = bob.events->count([](const event& e) { return contains(e, "saved before, the same as the sender's"); });
  CHECK(checked == before.whole);
  std::size_t resumed = 0;
  std::uint64_t sent_again = 0;  // what crossed the link after the restart: each file's size less its resumed start
  bob.events->any([&](const event& e) {
    if (event_field(e, "folder") != "album/" || !event_field(e, "files").empty() || event_field(e, "state") != "done")
      return false;
    auto from = event_field(e, "resumed_from").empty() ? 0 : std::stoull(event_field(e, "resumed_from"));
    resumed += from > 0 && !contains(e, "saved before");
    sent_again += std::stoull(event_field(e, "size")) - from;
    return false;
  });
  CHECK(resumed == partial_with_data);
  MESSAGE("folder of " << total << " bytes: " << held << " held after the stop, " << sent_again
                       << " sent after the restart");
  CHECK(sent_again == total - held);
  // The same directory, byte-identical, nothing else: no "album (1)", no partial file or record left.
  CHECK_FALSE(fs::exists(t.in_dir / "album (1)"));
  CHECK_FALSE(fs::exists(t.in_dir / "album.folder.resume"));
  auto after = count(dst);
  CHECK(after.whole == 62);
  CHECK(after.part == 0);
  CHECK(after.record == 0);
  for (auto& e : fs::recursive_directory_iterator{src})
    if (e.is_regular_file())
      CHECK(same_bytes(e.path(), dst / fs::relative(e.path(), src)));
  stop_node(bob);
}

TEST_CASE("folders: a saved file that changed since is received again beside it, the saved one untouched") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, false};
  t.connect(sys, connect_line(t.bob), false);
  // A first attempt that stopped after two of three files: made by hand, as the receiver leaves it.
  auto src = t.out_dir / "docs";
  fs::create_directories(src);
  for (int i = 0; i < 3; ++i)
    make_file(src / file_name("d", i), 50000, static_cast<std::uint32_t>(i + 1));
  auto dst = t.in_dir / "docs";
  fs::create_directories(dst);
  fs::copy_file(src / "d0.bin", dst / "d0.bin");
  make_file(dst / "d1.bin", 50000, 999);  // same size, other content
  transfer::resume_record r{"alice", "docs", 150000, 100000, unix_now(), unix_now(), 3};
  REQUIRE(write_folder_record_file(dst, r, true));
  // The record is read when the node starts: restart bob.
  auto bob_id = t.bob.identity;
  stop_node(t.bob);
  REQUIRE(t.alice.events->wait_kind(event_kind::disconnected));
  auto bob = start_node(sys, file_config("bob", false), bob_id, {}, t.in_dir);
  ask<command_reply>(sys, t.alice.handle.node, connect_host_atom::value, connect_line(bob));
  REQUIRE(bob.events->wait_kind(event_kind::connected));
  std::this_thread::sleep_for(300ms);  // capabilities exchanged
  auto sent = send_file(sys, t.alice, "bob", src);
  REQUIRE_MESSAGE(sent.ok, sent.message);
  auto got = bob.events->wait_for([](const event& e) { return is_folder_end(e, "docs/", "receive"); }, 30s);
  INFO("bob: " << bob.events->dump());
  REQUIRE(got);
  CHECK(event_field(*got, "state") == "done");
  CHECK(bob.events->any([](const event& e) { return contains(e, "Resuming folder docs/"); }));
  CHECK(bob.events->any([](const event& e) { return contains(e, "Checked d0.bin from alice"); }));
  CHECK(bob.events->any([](const event& e) { return contains(e, "d1.bin from alice: the file saved before differs"); }));
  CHECK(same_bytes(src / "d0.bin", dst / "d0.bin"));
  CHECK(same_bytes(src / "d1.bin", dst / "d1 (1).bin"));  // beside the changed one, which stays as it was
  CHECK(fs::file_size(dst / "d1.bin") == 50000);
  CHECK_FALSE(same_bytes(src / "d1.bin", dst / "d1.bin"));
  CHECK(same_bytes(src / "d2.bin", dst / "d2.bin"));
  CHECK_FALSE(fs::exists(t.in_dir / "docs (1)"));
  stop_node(bob);
}

TEST_CASE("folders: an interrupted folder older than network.file.keep_partial_days loses its partial files, not its saved ones") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  scratch_dir dir;
  auto in = dir / "in";
  auto now = unix_now();
  for (auto [name, age_days] : {std::pair{"old", 8}, std::pair{"new", 6}}) {
    auto root = in / name;
    fs::create_directories(root / "sub");
    make_file(root / "saved.bin", 1000, 1);
    auto part = make_file(root / "sub" / "half.bin.part", 500, 2);
    REQUIRE(write_resume_record(part, {"alice", "half.bin", 1000, 500, now - 9 * 86400, now - age_days * 86400}, true));
    REQUIRE(write_folder_record_file(root, {"alice", name, 2000, 1500, now - 9 * 86400, now - age_days * 86400, 2},
                                     true));
  }
  auto c = file_config("bob", true);
  c.keep_partial_days = 7;
  auto bob = start_file_node(sys, c, in);
  auto list = ask<std::vector<transfer_info>>(sys, bob.handle.node, file_list_atom::value);
  CHECK_FALSE(fs::exists(in / "old.folder.resume"));
  CHECK_FALSE(fs::exists(in / "old" / "sub" / "half.bin.part"));
  CHECK_FALSE(fs::exists(in / "old" / "sub" / "half.bin.part.resume"));
  CHECK(fs::exists(in / "old" / "saved.bin"));
  CHECK(fs::exists(in / "new.folder.resume"));
  CHECK(fs::exists(in / "new" / "sub" / "half.bin.part"));
  // file list shows the one kept, as a folder: one row, not one per partial file inside it
  CHECK(std::count_if(list.begin(), list.end(), [](auto& i) { return i.state == "resumable"; }) == 1);
  CHECK(std::any_of(list.begin(), list.end(), [](auto& i) {
    return i.name == "new/" && i.state == "resumable" && i.files == 2 && i.size == 2000 && i.done == 1500;
  }));
  CHECK(bob.events->wait_for([](const event& e) { return contains(e, "Removed the partial files of folder old/"); }, 5s));
  stop_node(bob);
}
