// A real path with delay and loss (issue 12): `tc netem` is not available here, so the project's userspace fault
// relay sits on the path inside bob's namespace. alice (namespace a) reaches bob only through it, across the
// veth; every datagram is delayed 20 ms each way and 1% are lost in each direction. The encrypted transfer
// (datagrams above the MTU, so IP fragments on the veth) must still complete byte-identical.
#include <doctest/doctest.h>

#include "netns/ns_node.hpp"
#include "support/fault_relay.hpp"

using namespace mk::test;
using namespace std::chrono_literals;

TEST_CASE("netns relay: an encrypted transfer over a veth at MTU 1500 with 40 ms RTT and 1% loss completes intact") {
  skip_unless_netns();
  netns_link link{1500};
  ns_node alice{link.a(), "alice", true};
  ns_node bob{link.b(), "bob", true};
  auto relay = in_netns(link.b(), [] { return std::make_unique<fault_relay>(ns_node_port, 1204, true); });
  fault_config f;
  f.delay = 20ms;
  f.drop = 0.01;
  relay->set_faults(f);
  connect_nodes(alice, bob, std::string{netns_link::v4_b} + ":" + std::to_string(relay->port()), true);

  temp_dir src{"mk-netns-src"};
  auto file = random_file(src / "lossy.bin", 3u << 20, 1205);
  alice->write_line("file send bob " + file.string());
  auto end = transfer_end(*bob.proc, "lossy.bin", "receive", 90s);
  REQUIRE_MESSAGE(end, "alice:\n" << alice->transcript() << "bob:\n" << bob->transcript());
  CHECK_MESSAGE(json_field(*end, "state") == "done", *end);
  CHECK(read_all(bob.downloads / "lossy.bin") == read_all(file));
  CHECK(relay->dropped() > 0);  // the loss really happened
  MESSAGE("40 ms RTT, 1% loss, encrypted: " << json_field(*end, "average_rate") << " B/s, relay forwarded "
                                            << relay->forwarded() << ", dropped " << relay->dropped());
}
