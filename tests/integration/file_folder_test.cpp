// Issue 15: folders. Between mokaccino nodes a folder is one offer (FOLDEROFFER, one question) and arrives as the
// same tree under the download directory; a hostile peer's paths never leave it; toward an original node (the
// emulation of support/legacy_file_peer.hpp) the files are offered one by one, each asked about once.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <sstream>

#include "core/crypto/file_hash.hpp"
#include "core/transfer/folder_path.hpp"
#include "support/fault_relay.hpp"
#include "support/file_harness.hpp"
#include "support/legacy_file_peer.hpp"

using namespace mk;
using namespace mk::test;

namespace {

// `count` files under `root`, in nested directories, with the names people and hostile peers use: spaces,
// unicode, leading dots, several dots. Returns path inside the folder -> size.
std::map<std::string, std::uint64_t> make_tree(const fs::path& root, int count, std::uint32_t seed) {
  const std::vector<std::string> dirs{"", "a b", "ünïcödé", ".hidden", "deep/er/still", "deep/er", "x..y", "2026 (1)"};
  const std::vector<std::string> stems{"photo", " lead space", ".dot", "été", "a b c", "x..y", "日本"};
  std::mt19937 rng{seed};
  std::map<std::string, std::uint64_t> out;
  for (int i = 0; i < count; ++i) {
    auto dir = dirs[static_cast<std::size_t>(i) % dirs.size()];
    auto name = stems[static_cast<std::size_t>(i) % stems.size()] + "-" + std::to_string(i) + ".bin";
    auto inside = dir.empty() ? name : dir + "/" + name;
    std::uint64_t size = i % 97 == 0 ? 300000 + rng() % 200000 : rng() % 4096;  // a few larger files
    fs::create_directories((root / inside).parent_path());
    make_file(root / inside, size, seed + static_cast<std::uint32_t>(i));
    out[inside] = size;
  }
  return out;
}

bool transfer_finished_state(const std::string& s) {
  return s == "done" || s == "failed" || s == "cancelled" || s == "refused";
}

bool is_folder_end(const event& e, const std::string& name, const std::string& direction) {
  if (e.kind != event_kind::transfer || event_field(e, "folder") != name || event_field(e, "name") != name ||
      event_field(e, "direction") != direction)
    return false;
  auto s = event_field(e, "state");
  return s == "done" || s == "failed" || s == "cancelled" || s == "refused";
}

// The error events of a node (what a failing test prints).
std::string errors_of(test_node& n) {
  std::string out;
  std::istringstream in{n.events->dump()};
  int shown = 0;
  for (std::string line; std::getline(in, line) && shown < 20;)
    if (line.rfind("error", 0) == 0 || line.find("failed") != std::string::npos) {
      out += line + "\n";
      ++shown;
    }
  return out;
}

bool eventually(const std::function<bool()>& pred) {
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!pred() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  return pred();
}

std::size_t regular_files(const fs::path& dir) {
  std::size_t n = 0;
  for (auto& e : fs::recursive_directory_iterator{dir})
    n += e.is_regular_file() ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("folders: 1,000 files in nested directories with awkward names arrive intact after one question") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, true, config::action::prompt};
  t.connect(sys, connect_line(t.bob), true);
  auto src = t.out_dir / "photos";
  auto tree = make_tree(src, 1000, 7);
  std::uint64_t total = 0;
  for (auto& [p, s] : tree)
    total += s;
  fs::create_directories(t.in_dir / "photos");  // already there: the folder must arrive beside it, not into it
  auto r = send_file(sys, t.alice, "bob", src);
  REQUIRE_MESSAGE(r.ok, r.message);
  CHECK(r.message.find("1000 files") != std::string::npos);
  auto q = t.bob.events->wait_for([](const event& e) { return e.kind == event_kind::prompt; }, 20s);
  REQUIRE(q);
  CHECK_MESSAGE(q->text.find("offers folder \"photos/\" (1000 files") != std::string::npos, q->text);
  caf::anon_send(t.bob.handle.node, answer_atom::value, q->id, true);

  // The queue: while the folder is sent, never more than limits::folder_files_in_flight of its files run at once.
  std::size_t most_running = 0;
  for (int sample = 0; sample < 200; ++sample) {
    auto list = ask<std::vector<transfer_info>>(sys, t.alice.handle.node, file_list_atom::value);
    auto running = std::count_if(list.begin(), list.end(), [](auto& i) {
      return i.folder == "photos/" && i.files == 0 && !transfer_finished_state(i.state);
    });
    most_running = std::max(most_running, static_cast<std::size_t>(running));
    if (std::any_of(list.begin(), list.end(), [](auto& i) { return i.files > 0 && i.files_done > 900; }))
      break;
    std::this_thread::sleep_for(5ms);
  }
  CHECK(most_running >= 2);  // sampled while files ran
  CHECK(most_running <= limits::folder_files_in_flight);

  auto got = t.bob.events->wait_for([](const event& e) { return is_folder_end(e, "photos (1)/", "receive"); }, 120s);
  REQUIRE_MESSAGE(got, t.bob.events->dump());
  CHECK_MESSAGE(event_field(*got, "state") == "done", errors_of(t.bob) << "\n--- alice\n" << errors_of(t.alice));
  CHECK(event_field(*got, "files_done") == "1000");
  CHECK(event_field(*got, "bytes") == std::to_string(total));
  auto sent = t.alice.events->wait_for([](const event& e) { return is_folder_end(e, "photos/", "send"); }, 30s);
  REQUIRE(sent);
  CHECK(event_field(*sent, "state") == "done");
  // exactly one question for the whole folder
  CHECK(t.bob.events->count([](const event& e) { return e.kind == event_kind::prompt; }) == 1);
  // the same tree, byte-identical, and nothing else (no .part left, nothing in the existing photos/)
  auto dst = t.in_dir / "photos (1)";
  for (auto& [inside, size] : tree) {
    CAPTURE(inside);
    auto parts = transfer::sanitize_folder_path(inside);  // as the receiver names it (" lead" loses its space)
    REQUIRE(parts.ok());
    auto local = dst;
    for (auto& part : *parts)
      local /= fs::u8path(part);
    REQUIRE(fs::exists(local));
    CHECK(same_bytes(src / inside, local));
  }
  CHECK(regular_files(dst) == tree.size());
  CHECK(fs::is_empty(t.in_dir / "photos"));
  // file list shows the folder offer with its counts; its files carry its name
  auto list = ask<std::vector<transfer_info>>(sys, t.bob.handle.node, file_list_atom::value);
  auto row = std::find_if(list.begin(), list.end(), [](auto& i) { return i.name == "photos (1)/"; });
  REQUIRE(row != list.end());
  CHECK(row->files == 1000);
  CHECK(row->files_done == 1000);
  CHECK(row->state == "done");
}

TEST_CASE("folders: a hostile peer's paths never leave the folder: .., absolute, empty parts, beyond the totals") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  scratch_dir dir;
  auto bob = start_file_node(sys, file_config("bob", false), dir / "in");
  legacy_file_peer mallory{legacy_peer_options{"mallory"}};
  REQUIRE(mallory.connect_node(bob.port()));
  REQUIRE(bob.events->wait_kind(event_kind::connected));
  Botan::AutoSeeded_RNG rng;
  auto fid = crypto::make_transfer_id(rng);
  mallory.inject(wire::serialize(wire::folder_offer_msg{fid, 6, 60, "loot"}));
  auto saw = [&](const std::string& line) {
    auto lines = mallory.other_lines();
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  REQUIRE(eventually([&] { return saw("FOLDERACCEPT " + fid); }));  // accepted by policy
  std::vector<std::string> hostile{"../escape.txt", "/etc/owned", "a/../../up.txt", "a//b", "./here", "ok/.."};
  for (auto& path : hostile)
    mallory.inject(wire::serialize(wire::folder_file_msg{fid, crypto::make_transfer_id(rng), 10, path}));
  // every one refused with FILESTOP, and the folder ends as failed once all its announced files are accounted for
  CHECK(mallory.wait([&](const legacy_file_peer& s) { return s.stops_received() >= hostile.size(); }, 10s));
  auto end = bob.events->wait_for([](const event& e) { return is_folder_end(e, "loot/", "receive"); }, 10s);
  REQUIRE_MESSAGE(end, bob.events->dump());
  CHECK(event_field(*end, "state") == "failed");
  CHECK(event_field(*end, "files_failed") == "6");
  // nothing written anywhere: the scratch dir holds only the empty folder
  CHECK(fs::is_empty(dir / "in" / "loot"));
  CHECK(!fs::exists(dir / "escape.txt"));
  CHECK(!fs::exists(dir / "up.txt"));
  CHECK(!fs::exists(dir / "in" / "up.txt"));
  // a FOLDERFILE of a folder never offered, or beyond the totals, is refused as well
  auto stops = mallory.stops_received();
  mallory.inject(wire::serialize(wire::folder_file_msg{crypto::make_transfer_id(rng), crypto::make_transfer_id(rng),
                                                       10, "x.txt"}));
  CHECK(mallory.wait([&](const legacy_file_peer& s) { return s.stops_received() > stops; }, 10s));
  auto fid2 = crypto::make_transfer_id(rng);
  mallory.inject(wire::serialize(wire::folder_offer_msg{fid2, 1, 5, "small"}));
  CHECK(eventually([&] { return saw("FOLDERACCEPT " + fid2); }));
  stops = mallory.stops_received();
  mallory.inject(wire::serialize(wire::folder_file_msg{fid2, crypto::make_transfer_id(rng), 6, "big.txt"}));
  CHECK(mallory.wait([&](const legacy_file_peer& s) { return s.stops_received() > stops; }, 10s));
  CHECK(regular_files(dir / "in") == 0);
  stop_node(bob);
}

TEST_CASE("folders: toward an original node the files are offered one by one, each asked about once") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  scratch_dir dir;
  auto bob = start_file_node(sys, file_config("bob", false), dir / "in");
  legacy_file_peer old;
  REQUIRE(old.connect_node(bob.port()));
  REQUIRE(bob.events->wait_kind(event_kind::connected));
  auto src = dir / "docs";
  auto tree = make_tree(src, 6, 11);
  std::map<std::string, std::string> hash_of;  // name -> hash
  for (auto& [inside, size] : tree)
    hash_of[fs::u8path(inside).filename().string()] = *crypto::hash_file(src / fs::u8path(inside));
  auto r = ask<command_reply>(sys, bob.handle.node, file_send_atom::value, std::string{"olda"}, src.string());
  REQUIRE_MESSAGE(r.ok, r.message);
  CHECK(r.message.find("one by one") != std::string::npos);
  auto end = bob.events->wait_for([](const event& e) { return is_folder_end(e, "docs/", "send"); }, 60s);
  REQUIRE_MESSAGE(end, bob.events->dump());
  CHECK(event_field(*end, "state") == "done");
  std::vector<legacy_file_peer::incoming> got;
  for (auto& [name, hash] : hash_of) {
    CAPTURE(name);
    auto in = old.received(hash);
    REQUIRE(in);
    CHECK(in->complete);
    CHECK(in->name == name);  // its own name: the original has no folders
    CHECK(in->fileinits == 1);
    CHECK(in->prompts == 1);
    got.push_back(*in);
  }
  // one at a time: each offer came after the previous file was complete
  std::sort(got.begin(), got.end(), [](auto& a, auto& b) { return a.accepted_at < b.accepted_at; });
  for (std::size_t i = 1; i < got.size(); ++i)
    CHECK(got[i].accepted_at >= got[i - 1].completed_at);
  auto others = old.other_lines();  // (a copy: begin and end of one vector)
  CHECK(std::none_of(others.begin(), others.end(),
                     [](auto& l) { return l.rfind("FOLDER", 0) == 0; }));  // no folder lines to an original
  stop_node(bob);
}

TEST_CASE("folders: a folder cancelled by either side stops on both, keeps what can resume, and nothing is left half-written") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, false};
  fault_relay relay{t.bob.port()};
  t.connect(sys, relay.address(), false);
  fault_config slow;
  slow.rate_bytes_per_s = 2e6;  // 24 files of 512 KiB: several seconds
  relay.set_faults(slow);
  for (bool receiver_cancels : {true, false}) {
    CAPTURE(receiver_cancels);
    auto name = std::string{receiver_cancels ? "by-bob" : "by-alice"};
    auto src = t.out_dir / name;
    fs::create_directories(src);
    for (int i = 0; i < 24; ++i) {
      std::string file = "f";  // (not "f" + to_string(i): GCC 12 warns falsely about it, -Wrestrict)
      file += std::to_string(i);
      file += ".bin";
      make_file(src / file, 512 * 1024, static_cast<std::uint32_t>(i + 1));
    }
    auto sent = send_file(sys, t.alice, "bob", src);
    REQUIRE_MESSAGE(sent.ok, sent.message);
    // a few files in, then cancel by the folder's name
    REQUIRE(t.bob.events->wait_for(
      [&](const event& e) { return event_field(e, "folder") == name + "/" && event_field(e, "state") == "done"; }, 30s));
    auto& who = receiver_cancels ? t.bob : t.alice;
    auto r = ask<command_reply>(sys, who.handle.node, file_cancel_atom::value, name);
    CHECK_MESSAGE(r.ok, r.message);
    auto a = t.alice.events->wait_for([&](const event& e) { return is_folder_end(e, name + "/", "send"); }, 20s);
    auto b = t.bob.events->wait_for([&](const event& e) { return is_folder_end(e, name + "/", "receive"); }, 20s);
    REQUIRE_MESSAGE(a, t.alice.events->dump());
    REQUIRE_MESSAGE(b, t.bob.events->dump());
    CHECK(event_field(*b, "state") == "cancelled");
    CHECK(event_field(*a, "state") == (receiver_cancels ? "failed" : "cancelled"));
    std::this_thread::sleep_for(1s);  // anything still in flight has ended
    // Between mokaccino nodes a cancelled folder is resumable (issue 15): the files that were running keep their
    // .part with its record, the folder its record beside it; nothing is under a final name unless whole.
    auto count = [&] {
      std::size_t whole = 0, part = 0, record = 0;
      for (auto& e : fs::recursive_directory_iterator{t.in_dir / name}) {
        auto ext = e.path().extension();
        if (ext == ".part")
          ++part;
        else if (ext == ".resume")
          ++record;
        else if (e.is_regular_file()) {
          ++whole;
          CHECK(same_bytes(src / e.path().filename(), e.path()));
        }
      }
      return std::tuple{whole, part, record};
    };
    auto [whole, part, record] = count();
    CHECK(whole < 24);  // stopped before the end
    CHECK(part == record);
    CHECK(fs::exists(t.in_dir / (name + ".folder.resume")));
    auto list = ask<std::vector<transfer_info>>(sys, t.bob.handle.node, file_list_atom::value);
    CHECK(std::any_of(list.begin(), list.end(), [&](auto& i) {
      return i.name == name + "/" && i.state == "resumable" && i.files == 24;
    }));
    // A second cancel, on the resumable folder, removes what was kept; the saved files stay.
    auto again = ask<command_reply>(sys, t.bob.handle.node, file_cancel_atom::value, name);
    CHECK_MESSAGE(again.ok, again.message);
    auto [whole2, part2, record2] = count();
    CHECK(whole2 == whole);
    CHECK(part2 == 0);
    CHECK(record2 == 0);
    CHECK_FALSE(fs::exists(t.in_dir / (name + ".folder.resume")));
  }
}
