// Two real mokaccino processes in two network namespaces joined by a veth pair (issue 12): files cross it
// byte-identical, plain and encrypted, in both directions, at MTU 1500 and 1280, over IPv4 and IPv6.
// Encrypted FILE datagrams (~1.9 KB) exceed both MTUs and plain ones (~1.45 KB) exceed 1280: they must cross as
// IP fragments (before the fix these transfers stalled).
#include <doctest/doctest.h>

#include "netns/ns_node.hpp"

using namespace mk::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t file_size = 6u << 20;

void transfer_both_ways(int mtu, bool v6, bool encrypted) {
  skip_unless_netns();
  netns_link link{mtu};  // declared first: the nodes end before their namespaces go
  ns_node alice{link.a(), "alice", encrypted};
  ns_node bob{link.b(), "bob", encrypted};
  auto bob_address = v6 ? std::string{"["} + netns_link::v6_b + "]:" + std::to_string(ns_node_port)
                        : std::string{netns_link::v4_b} + ":" + std::to_string(ns_node_port);
  connect_nodes(alice, bob, bob_address, encrypted);

  temp_dir src{"mk-netns-src"};
  auto to_bob = random_file(src / "to-bob.bin", file_size, 1201);
  auto to_alice = random_file(src / "to-alice.bin", file_size + 777, 1202);
  alice->write_line("file send bob " + to_bob.string());
  bob->write_line("file send alice " + to_alice.string());

  auto at_bob = transfer_end(*bob.proc, "to-bob.bin", "receive", 60s);
  auto at_alice = transfer_end(*alice.proc, "to-alice.bin", "receive", 60s);
  REQUIRE_MESSAGE(at_bob, "alice:\n" << alice->transcript() << "bob:\n" << bob->transcript());
  REQUIRE_MESSAGE(at_alice, "alice:\n" << alice->transcript() << "bob:\n" << bob->transcript());
  CHECK_MESSAGE(json_field(*at_bob, "state") == "done", *at_bob);
  CHECK_MESSAGE(json_field(*at_alice, "state") == "done", *at_alice);
  CHECK(read_all(bob.downloads / "to-bob.bin") == read_all(to_bob));
  CHECK(read_all(alice.downloads / "to-alice.bin") == read_all(to_alice));
  MESSAGE("MTU " << mtu << std::string{v6 ? " IPv6 " : " IPv4 "} << std::string{encrypted ? "encrypted" : "plain"}
                 << ", both ways at once: alice->bob " << json_field(*at_bob, "average_rate") << " B/s, bob->alice "
                 << json_field(*at_alice, "average_rate") << " B/s");
  MESSAGE(netns_link::exec(link.a(), "ip -s link show mk0").output);
}

}  // namespace

TEST_CASE("netns nodes: plain transfers both ways at MTU 1500 over IPv4") { transfer_both_ways(1500, false, false); }

TEST_CASE("netns nodes: encrypted transfers both ways at MTU 1500 over IPv4") { transfer_both_ways(1500, false, true); }

TEST_CASE("netns nodes: plain transfers both ways at MTU 1280 over IPv4") { transfer_both_ways(1280, false, false); }

TEST_CASE("netns nodes: encrypted transfers both ways at MTU 1280 over IPv4") { transfer_both_ways(1280, false, true); }

TEST_CASE("netns nodes: encrypted transfers both ways at MTU 1280 over IPv6") { transfer_both_ways(1280, true, true); }

TEST_CASE("netns nodes: plain transfers both ways at MTU 1500 over IPv6") { transfer_both_ways(1500, true, false); }
