// Two real mokaccino processes in two network namespaces joined by a veth pair (issue 12): files cross it
// byte-identical, plain and encrypted, in both directions, at MTU 1500 and 1280, over IPv4 and IPv6. Between
// mokaccino nodes no datagram exceeds the path MTU: the nodes probe it (PLPMTUD, don't-fragment probes), size their
// chunks to it, and neither kernel fragments a single datagram (its fragmentation counters stay at zero).
#include <doctest/doctest.h>

#include <thread>

#include "netns/ns_node.hpp"

using namespace mk::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t file_size = 6u << 20;

// The chunk a node sizes for this link once it has probed it: the largest UDP payload that fits the MTU among the
// probe sizes, minus a sealed data record's 83 bytes.
std::string expected_chunk(int mtu, bool v6) {
  std::size_t budget = 1232;
  for (std::size_t s : {1252, 1372, 1452, 1472})
    if (s + (v6 ? 48 : 28) <= static_cast<std::size_t>(mtu))
      budget = s;
  return std::to_string(budget - 83);
}

void transfer_both_ways(int mtu, bool v6, bool encrypted) {
  skip_unless_netns();
  ns_pair nodes{mtu, v6, encrypted};
  auto& [link, alice, bob] = nodes;

  // The probe search takes a few round trips from the first keep-alive tick after MKCAPS (its largest steps are
  // refused by the sender's own kernel at once); let it finish so the transfers use the link's chunk size.
  std::this_thread::sleep_for(2s);
  auto frags_a = fragments_created(link.a()), frags_b = fragments_created(link.b());
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
  auto sent_by_alice = transfer_end(*alice.proc, "to-bob.bin", "send", 10s);
  REQUIRE(sent_by_alice);
  CHECK_MESSAGE(json_field(*sent_by_alice, "chunk") == expected_chunk(mtu, v6), *sent_by_alice);
  CHECK(fragments_created(link.a()) == frags_a);
  CHECK(fragments_created(link.b()) == frags_b);
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
