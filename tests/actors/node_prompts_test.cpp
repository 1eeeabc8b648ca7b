// The node's prompt registry under the deterministic coordinator (virtual time): which questions reach the user,
// which are refused at once (issue 13's flood guards), what an answer or the 10 s timeout sends the peer.
#include <doctest/doctest.h>

#include "support/node_actor_fixture.hpp"

using namespace mk;
using namespace mk::test;

namespace {

// The prompt events asked so far, by user.
std::vector<std::string> prompted_users(const node_fixture& f) {
  std::vector<std::string> out;
  for (auto& e : f.events_of(event_kind::prompt))
    out.push_back(e.peer);
  return out;
}

std::uint64_t prompt_id(const node_fixture& f, const std::string& user) {
  for (auto& e : f.events_of(event_kind::prompt))
    if (e.peer == user)
      return e.id;
  FAIL("no prompt for " << user);
  return 0;
}

std::string closed_text(const node_fixture& f, std::uint64_t id) {
  for (auto& e : f.events_of(event_kind::prompt_closed))
    if (e.id == id)
      return e.text;
  return {};
}

const std::string refused = "DISCONNECT connection\\ refused";

// Asks the node questions as a session would (prompt_atom) and records each answer as (user, yes).
using answers = std::vector<std::pair<std::string, bool>>;
caf::behavior asker(caf::event_based_actor* self, caf::actor node, std::shared_ptr<answers> got) {
  return {[=](prompt_atom a, const std::string& kind, const std::string& user) {
    self->request(node, caf::infinite, a, *prompt_kind_of(kind), user, "Accept a file from " + user + "?")
      .then([got, user](bool yes) { got->emplace_back(user, yes); });
  }};
}

}  // namespace

TEST_CASE("node prompts: one connect question per address and per name, others refused at once with DISCONNECT") {
  node_fixture f{config::action::prompt};
  remote_peer carol{"carol", f.rng}, dave{"dave", f.rng};                  // 127.0.0.1, two ports
  remote_peer erin{"erin", f.rng, 0x7f000002}, carol2{"carol", f.rng, 0x7f000003};  // other addresses
  f.from(carol, carol.connect_line(f.rng));
  CHECK(prompted_users(f) == std::vector<std::string>{"carol"});
  CHECK(carol.all().empty());  // nothing is sent while the user decides

  f.from(dave, dave.connect_line(f.rng));  // same address as carol's pending question
  CHECK(prompted_users(f) == std::vector<std::string>{"carol"});
  CHECK(dave.all() == std::vector<std::string>{refused + "\n"});

  f.from(erin, erin.connect_line(f.rng));  // another address: asked
  f.from(carol2, carol2.connect_line(f.rng));  // the name "carol" is being asked about already
  CHECK(prompted_users(f) == std::vector<std::string>{"carol", "erin"});
  CHECK(carol2.all() == std::vector<std::string>{refused + "\n"});
  CHECK(f.ctx->counters->prompts_refused.load() == 2);

  // The user says yes to carol: her session answers with a HANDSHAKE to her nonce, signed by the node.
  auto carol_id = prompt_id(f, "carol");
  caf::anon_send(f.node, answer_atom::value, carol_id, true);
  f.sched.run();
  auto hs = carol.lines("HANDSHAKE");
  REQUIRE(hs.size() == 1);
  auto h = std::get<w::handshake_msg>(*w::parse_line(hs.front()));
  CHECK(h.username == "bob");
  CHECK(h.peer_nonce == carol.connect_nonce);
  CHECK(f.identity.public_key().verify(w::signed_text(h), h.signature));
  CHECK(closed_text(f, carol_id) == "yes");

  // carol's question is closed: the next newcomer from her address is asked again
  remote_peer frank{"frank", f.rng};
  f.from(frank, frank.connect_line(f.rng));
  CHECK(prompted_users(f) == std::vector<std::string>{"carol", "erin", "frank"});

  // erin's question is never answered: at 10 s (virtual) it counts as no and erin is told
  auto erin_id = prompt_id(f, "erin");
  f.advance(9500ms);
  CHECK(erin.all().empty());
  CHECK(closed_text(f, erin_id).empty());
  f.advance(1000ms);
  CHECK(erin.all() == std::vector<std::string>{refused + "\n"});
  CHECK(closed_text(f, erin_id) == "no");
}

TEST_CASE("node prompts: at most 8 file or call questions per peer and 64 in all, the rest answered no at once") {
  node_fixture f{config::action::accept};
  auto got = std::make_shared<answers>();
  auto a = f.sys.spawn(asker, f.node, got);
  auto ask = [&](const std::string& kind, const std::string& user) {
    caf::anon_send(a, prompt_atom::value, kind, user);
    f.sched.run();
  };
  for (int i = 0; i < 8; ++i)
    ask("file", "carol");
  CHECK(f.events_of(event_kind::prompt).size() == 8);
  CHECK(got->empty());  // all eight wait for the user
  ask("call", "carol");  // a ninth question from carol: no without asking
  CHECK(f.events_of(event_kind::prompt).size() == 8);
  CHECK(*got == answers{{"carol", false}});
  CHECK(f.ctx->counters->prompts_refused.load() == 1);

  // the user answers one of carol's: she may ask one more
  caf::anon_send(f.node, answer_atom::value, f.events_of(event_kind::prompt).front().id, true);
  f.sched.run();
  CHECK(got->back() == std::make_pair(std::string{"carol"}, true));
  ask("file", "carol");
  CHECK(f.events_of(event_kind::prompt).size() == 9);
  CHECK(got->size() == 2);

  // 7 more peers with 8 questions each fill the registry's 64 slots; the 65th question is refused
  for (int p = 0; p < 7; ++p)
    for (int i = 0; i < 8; ++i)
      ask("file", "peer" + std::to_string(p));
  CHECK(f.events_of(event_kind::prompt).size() == 9 + 56);
  CHECK(got->size() == 2);
  ask("file", "zoe");
  CHECK(f.events_of(event_kind::prompt).size() == 65);
  CHECK(got->back() == std::make_pair(std::string{"zoe"}, false));

  // nobody answers: each of the 64 is a no after 10 s of virtual time, and each question is closed
  f.advance(10500ms);
  CHECK(got->size() == 3 + 64);
  CHECK(std::all_of(got->begin() + 3, got->end(), [](auto& x) { return !x.second; }));
  CHECK(f.events_of(event_kind::prompt_closed).size() == 1 + 64);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}
