// Issue 15 on real links: a folder crosses a veth pair between two real `mokaccino` processes in two network
// namespaces, encrypted at MTU 1280 over IPv6 and plain at MTU 1500 over IPv4, as one offer, and arrives as the same
// tree, byte-identical.
#include <doctest/doctest.h>

#include <map>
#include <thread>

#include "netns/ns_node.hpp"

using namespace mk::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

void folder_across(int mtu, bool v6, bool encrypted) {
  skip_unless_netns();
  netns_link link{mtu};  // declared first: the nodes end before their namespaces go
  ns_node alice{link.a(), "alice", encrypted};
  ns_node bob{link.b(), "bob", encrypted};
  auto bob_address = v6 ? std::string{"["} + netns_link::v6_b + "]:" + std::to_string(ns_node_port)
                        : std::string{netns_link::v4_b} + ":" + std::to_string(ns_node_port);
  connect_nodes(alice, bob, bob_address, encrypted);
  std::this_thread::sleep_for(1s);  // MKCAPS exchanged: alice knows bob speaks folder1

  temp_dir src{"mk-netns-folder"};
  auto root = src / "tree";
  std::map<std::string, std::string> files;  // path inside the folder -> its bytes
  for (int i = 0; i < 120; ++i) {
    auto inside = std::string{i % 3 == 0 ? "" : i % 3 == 1 ? "a b/" : "deep/er/"} + "f" + std::to_string(i) + ".bin";
    fs::create_directories((root / inside).parent_path());
    random_file(root / inside, static_cast<std::uint64_t>(i) * 997 + (i % 10 == 0 ? 300000 : 0),
                static_cast<std::uint32_t>(i + 1));
    files[inside] = read_all(root / inside);
  }
  alice->write_line("file send bob " + root.string());
  auto at_bob = transfer_end(*bob.proc, "tree/", "receive", 60s);
  REQUIRE_MESSAGE(at_bob, "alice:\n" << alice->transcript() << "bob:\n" << bob->transcript());
  CHECK_MESSAGE(json_field(*at_bob, "state") == "done", *at_bob);
  CHECK(json_field(*at_bob, "files_done") == "120");
  auto at_alice = transfer_end(*alice.proc, "tree/", "send", 10s);
  REQUIRE(at_alice);
  CHECK(json_field(*at_alice, "state") == "done");
  for (auto& [inside, bytes] : files) {
    CAPTURE(inside);
    CHECK(read_all(bob.downloads / "tree" / inside) == bytes);
  }
  MESSAGE("folder of 120 files at MTU " << mtu << (v6 ? " IPv6 " : " IPv4 ") << (encrypted ? "encrypted" : "plain")
                                        << ": " << json_field(*at_bob, "rate") << " B/s");
}

}  // namespace

TEST_CASE("netns folders: a folder crosses a veth encrypted at MTU 1280 over IPv6") { folder_across(1280, true, true); }

TEST_CASE("netns folders: a folder crosses a veth plain at MTU 1500 over IPv4") { folder_across(1500, false, false); }
