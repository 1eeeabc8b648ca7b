// Issue 15 on real links: between two real `mokaccino` processes in two network namespaces joined by a veth, the
// receiver is killed with SIGKILL part-way through a file, and through a folder, then restarted with the same home;
// it reconnects, the sender offers again by itself, and the transfer resumes (a file from the partial file's
// verified prefix, a folder in its directory) and arrives byte-identical.
#include <doctest/doctest.h>

#include <thread>

#include "netns/ns_node.hpp"
#include "support/disk_usage.hpp"

using namespace mk::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Kills bob once `what` (a .part file or a folder) holds `fraction` of `total`, restarts him, and has him connect
// to alice again: alice's node offers what was interrupted by itself.
void interrupt_bob(ns_pair& nodes, const fs::path& what, std::uint64_t total, bool v6, bool encrypted) {
  auto& [link, alice, bob] = nodes;
  auto until = std::chrono::steady_clock::now() + 60s;
  while (bytes_under(what) < total * 2 / 5 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  REQUIRE_MESSAGE(bytes_under(what) >= total * 2 / 5, bob->transcript());
  REQUIRE(bytes_under(what) < total);
  bob.kill9();
  bob.start();
  auto port = std::to_string(ns_node_port);
  connect_nodes(bob, alice,
                v6 ? std::string{"["} + netns_link::v6_a + "]:" + port : std::string{netns_link::v4_a} + ":" + port,
                encrypted);
}

void file_resumes(int mtu, bool v6, bool encrypted) {
  skip_unless_netns();
  ns_pair nodes{mtu, v6, encrypted};
  auto& [link, alice, bob] = nodes;
  std::this_thread::sleep_for(1s);  // MKCAPS exchanged: alice knows bob can resume
  temp_dir src{"mk-netns-resume"};
  constexpr std::uint64_t size = 192ull << 20;
  auto file = random_file(src / "big.bin", size, 11);
  alice->write_line("file send bob " + file.string());
  interrupt_bob(nodes, bob.downloads / "big.bin.part", size, v6, encrypted);
  auto at_bob = transfer_end(*bob.proc, "big.bin", "receive", 120s);
  REQUIRE_MESSAGE(at_bob, "alice:\n" << alice->transcript() << "bob:\n" << bob->transcript());
  CHECK_MESSAGE(json_field(*at_bob, "state") == "done", *at_bob);
  auto from = json_field(*at_bob, "resumed_from");
  REQUIRE_FALSE(from.empty());
  CHECK(std::stoull(from) > 0);
  CHECK(read_all(bob.downloads / "big.bin") == read_all(file));
  CHECK_FALSE(fs::exists(bob.downloads / "big.bin.part"));
  MESSAGE("file resumed at " << from << " of " << size << " bytes, MTU " << mtu << (v6 ? " IPv6" : " IPv4"));
}

void folder_resumes(int mtu, bool v6, bool encrypted) {
  skip_unless_netns();
  ns_pair nodes{mtu, v6, encrypted};
  auto& [link, alice, bob] = nodes;
  std::this_thread::sleep_for(1s);
  temp_dir src{"mk-netns-resume"};
  auto root = src / "album";
  std::uint64_t total = 0;
  for (int i = 0; i < 48; ++i) {
    std::string inside = i % 2 == 0 ? "" : "sub dir/";
    inside += "p";  // (+=: GCC 12 warns falsely about "lit" + to_string, -Wrestrict)
    inside += std::to_string(i);
    inside += ".jpg";
    fs::create_directories((root / inside).parent_path());
    random_file(root / inside, 1 << 20, static_cast<std::uint32_t>(i + 1));
    total += 1 << 20;
  }
  random_file(root / "video.bin", 96ull << 20, 99);
  total += 96ull << 20;
  alice->write_line("file send bob " + root.string());
  interrupt_bob(nodes, bob.downloads / "album", total, v6, encrypted);
  auto at_bob = transfer_end(*bob.proc, "album/", "receive", 120s);
  REQUIRE_MESSAGE(at_bob, "alice:\n" << alice->transcript() << "bob:\n" << bob->transcript());
  CHECK_MESSAGE(json_field(*at_bob, "state") == "done", *at_bob);
  CHECK(json_field(*at_bob, "files_done") == "49");
  CHECK(bob->saw("Resuming folder album/ from alice", 1s));
  CHECK_FALSE(fs::exists(bob.downloads / "album (1)"));
  CHECK_FALSE(fs::exists(bob.downloads / "album.folder.resume"));
  for (auto& e : fs::recursive_directory_iterator{root})
    if (e.is_regular_file()) {
      CAPTURE(e.path());
      CHECK(read_all(bob.downloads / "album" / fs::relative(e.path(), root)) == read_all(e.path()));
    }
}

}  // namespace

TEST_CASE("netns resume: a file whose receiver was killed -9 resumes across a veth encrypted at MTU 1280 over IPv6") {
  file_resumes(1280, true, true);
}

TEST_CASE("netns resume: a folder whose receiver was killed -9 resumes across a veth encrypted at MTU 1500 over IPv4") {
  folder_resumes(1500, false, true);
}
