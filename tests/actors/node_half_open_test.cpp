// The node's half-open limit per address under the deterministic coordinator (virtual time): what a CONNECT
// over the limit gets (nothing), what other addresses still get (a HANDSHAKE), and when the slots come back.
#include <doctest/doctest.h>

#include <memory>

#include "support/node_actor_fixture.hpp"

using namespace mk;
using namespace mk::test;

TEST_CASE("node half-open: one address holds 32 pending handshakes, the 33rd CONNECT is dropped until they time out") {
  node_fixture f{config::action::accept};
  std::vector<std::unique_ptr<remote_peer>> peers;
  for (std::size_t i = 0; i < limits::max_half_open_per_ip; ++i) {
    std::string name = "p";
    name += std::to_string(i);  // (not "p" + ...: GCC 12 reports a false -Wrestrict there)
    peers.push_back(std::make_unique<remote_peer>(name, f.rng));
    f.from(*peers.back(), peers.back()->connect_line(f.rng));
  }
  // each got its HANDSHAKE (and none answers with CONNECTED: all 32 stay half-open)
  for (auto& p : peers)
    CHECK_MESSAGE(p->lines("HANDSHAKE").size() == 1, p->name);

  remote_peer late{"late", f.rng};
  auto late_connect = late.connect_line(f.rng);
  f.from(late, late_connect);
  CHECK(late.all().empty());  // dropped before any work: no verification, no answer
  CHECK(f.ctx->counters->half_open_limit.load() == 1);

  remote_peer elsewhere{"elsewhere", f.rng, 0x7f000002};  // another address is not limited by these
  f.from(elsewhere, elsewhere.connect_line(f.rng));
  CHECK(elsewhere.lines("HANDSHAKE").size() == 1);

  // An established peer from the same address does not count as half-open.
  auto& first = *peers.front();
  auto h = std::get<w::handshake_msg>(*w::parse_line(first.lines("HANDSHAKE").front()));
  w::connected_msg c{h.nonce, {}};
  c.signature = first.id.sign(w::signed_text(c), f.rng);
  f.from(first, w::serialize(c));
  REQUIRE(f.has_event(event_kind::connected, "Connected to \"p0\""));
  f.from(late, late_connect);  // the same CONNECT again (a retransmission): a slot is free now
  CHECK(late.lines("HANDSHAKE").size() == 1);
  CHECK(f.ctx->counters->half_open_limit.load() == 1);

  // The address is full again; after the handshake timeout (10 s, virtual) the pending ones are gone.
  remote_peer later{"later", f.rng};
  f.from(later, later.connect_line(f.rng));
  CHECK(later.all().empty());
  CHECK(f.ctx->counters->half_open_limit.load() == 2);
  f.advance(11s);
  f.from(later, later.connect_line(f.rng));
  CHECK(later.lines("HANDSHAKE").size() == 1);
  CHECK(f.ctx->counters->half_open_limit.load() == 2);
}
