// The endpoint -> session table the socket's io thread uses to hand a known peer's lines straight to its session.
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include "actors/session_table.hpp"
#include "actors/udp_socket.hpp"

using namespace mk;

TEST_CASE("session table: a known peer's valid lines go to its session in order, the rest stay for the node") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  // An argument, because CAF 0.17 dereferences a null argument tuple for a function actor without one (UBSan).
  auto idle = [](caf::event_based_actor*, int) -> caf::behavior { return {[](int) {}}; };
  auto s1 = sys.spawn(idle, 1);
  auto s2 = sys.spawn(idle, 2);
  const auto a = endpoint::loopback_v4(1000), b = endpoint::loopback_v4(2000), stranger = endpoint::loopback_v4(3000);
  const std::string nul_inside{"MSG \0 x\n", 8};
  auto backlog = std::make_shared<inbound_backlog>();
  session_table t{backlog};
  t.add(a, s1);
  t.add(b, s2);

  datagram_batch batch{{a, "MSG one\n"},        {stranger, "CONNECT x\n"}, {b, "MSG two\n"},
                       {a, nul_inside},         {a, "MSG three"},          {b, "MSG four\n"},
                       {a, std::string{"\n"}}};
  backlog->queued += static_cast<std::int64_t>(batch.size());  // as the socket counts a batch
  session_table::routed direct;
  t.split(batch, direct);
  REQUIRE(direct.size() == 2);
  CHECK(direct[0].first == s1);
  CHECK(direct[0].second == std::vector<std::string>{"MSG one", "MSG three"});  // the LF is optional (§1)
  CHECK(direct[1].first == s2);
  CHECK(direct[1].second == std::vector<std::string>{"MSG two", "MSG four"});
  // the unknown sender and the malformed datagrams, in their order, for the node actor to handle and count
  REQUIRE(batch.size() == 3);
  CHECK(batch[0].from == stranger);
  CHECK(batch[1].bytes == nul_inside);
  CHECK(batch[2].bytes == "\n");

  // The node processes its 3; s2 processes its 2 lines; s1 processes one of its 2 and then ends: removing its
  // entry takes the unprocessed line off the backlog too (no slow leak toward a deaf node).
  backlog->queued -= 3;
  t.processed(b, 2);
  t.processed(a, 1);
  CHECK(backlog->queued == 1);
  t.remove(a);
  CHECK(backlog->queued == 0);
  t.processed(a, 1);  // a late report of an ended session changes nothing
  CHECK(backlog->queued == 0);

  datagram_batch later{{a, "MSG five\n"}};
  session_table::routed none;
  t.split(later, none);
  CHECK(none.empty());
  CHECK(later.size() == 1);  // a session that ended: the node decides
  for (auto& s : {s1, s2})
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
}
