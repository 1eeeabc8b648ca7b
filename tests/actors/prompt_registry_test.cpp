// The node's questions to the user alone (actors/prompt_registry.hpp): no node, no socket, time passed in.
#include <doctest/doctest.h>

#include "actors/prompt_registry.hpp"
#include "core/limits.hpp"

using namespace mk;
using namespace std::chrono_literals;

namespace {

using asker = prompt_registry::asker;
using refusal = prompt_registry::refusal;
const prompt_registry::time_point t0{};

pending_prompt question(prompt_kind kind, std::string user, std::optional<endpoint> source = std::nullopt) {
  pending_prompt p;
  p.kind = kind;
  p.user = std::move(user);
  p.text = "Accept " + p.user + "?";
  p.source = source;
  return p;
}

endpoint at(std::uint32_t ip, std::uint16_t port) {
  return endpoint::v4(ip, port);
}

}  // namespace

TEST_CASE("prompt registry: at most 64 questions wait, the node's own included, and a slot frees with an answer") {
  prompt_registry r;
  std::uint64_t first = 0;
  for (std::size_t i = 0; i < limits::max_pending_prompts; ++i) {
    std::string user = "peer";
    user += std::to_string(i);
    auto a = r.ask(question(prompt_kind::file, user), asker::peer, t0);
    REQUIRE(a.id != 0);
    first = first ? first : a.id;
  }
  CHECK(r.size() == limits::max_pending_prompts);
  auto full = r.ask(question(prompt_kind::connect, "zoe"), asker::node, t0);
  CHECK(full.id == 0);
  CHECK(full.refused == refusal::full);
  CHECK(r.ask(question(prompt_kind::file, "zoe"), asker::peer, t0).refused == refusal::full);
  REQUIRE(r.answer(first, true));
  CHECK(r.ask(question(prompt_kind::file, "zoe"), asker::peer, t0).id != 0);
}

TEST_CASE("prompt registry: one connect question per name and per address from peers, the node's own unlimited") {
  prompt_registry r;
  REQUIRE(r.ask(question(prompt_kind::connect, "carol", at(0x7f000001, 1000)), asker::peer, t0).id != 0);
  // the same address from another port, under another name: refused
  CHECK(r.ask(question(prompt_kind::connect, "dave", at(0x7f000001, 2000)), asker::peer, t0).refused ==
        refusal::flood_guard);
  // the same name from another address: refused
  CHECK(r.ask(question(prompt_kind::connect, "carol", at(0x7f000003, 1000)), asker::peer, t0).refused ==
        refusal::flood_guard);
  CHECK(r.ask(question(prompt_kind::connect, "erin", at(0x7f000002, 1000)), asker::peer, t0).id != 0);
  // the node's own question about carol (an introduction) has no source and no guard
  CHECK(r.ask(question(prompt_kind::connect, "carol"), asker::node, t0).id != 0);
  CHECK(r.size() == 3);
  CHECK(r.open(prompt_kind::connect, "carol").size() == 2);
  CHECK(r.open(prompt_kind::file, "carol").empty());
}

TEST_CASE("prompt registry: a peer has at most 8 file or call questions waiting, other peers are not affected") {
  prompt_registry r;
  std::vector<std::uint64_t> ids;
  for (std::size_t i = 0; i < limits::max_prompts_per_peer; ++i)
    ids.push_back(r.ask(question(i % 2 ? prompt_kind::call : prompt_kind::file, "carol"), asker::peer, t0).id);
  CHECK(std::find(ids.begin(), ids.end(), 0u) == ids.end());
  CHECK(r.ask(question(prompt_kind::file, "carol"), asker::peer, t0).refused == refusal::flood_guard);
  CHECK(r.ask(question(prompt_kind::file, "dave"), asker::peer, t0).id != 0);
  CHECK(r.ask(question(prompt_kind::connect, "carol", at(0x7f000001, 1000)), asker::peer, t0).id != 0);
  REQUIRE(r.answer(ids.front(), false));
  CHECK(r.ask(question(prompt_kind::call, "carol"), asker::peer, t0).id != 0);
}

TEST_CASE("prompt registry: an answer closes its question once, an unknown or expired id is ignored") {
  prompt_registry r;
  CHECK_FALSE(r.answer(12345, true));  // never asked
  bool followed = false;
  auto q = question(prompt_kind::connect, "carol");
  q.on_yes = [&] { followed = true; };
  auto id = r.ask(std::move(q), asker::node, t0).id;
  auto closed = r.answer(id, true);
  REQUIRE(closed);
  CHECK(closed->id == id);
  CHECK(closed->yes);
  CHECK(closed->prompt.user == "carol");
  REQUIRE(closed->prompt.on_yes);  // the node runs it
  closed->prompt.on_yes();
  CHECK(followed);
  CHECK_FALSE(r.answer(id, false));  // answered already
  CHECK(r.size() == 0);

  auto late = r.ask(question(prompt_kind::file, "dave"), asker::peer, t0).id;
  CHECK(r.expire(t0 + limits::handshake_timeout).size() == 1);
  CHECK_FALSE(r.answer(late, true));  // expired: the asker has had its no
}

TEST_CASE("prompt registry: a question unanswered at its deadline ends as no, not a moment before") {
  prompt_registry r;
  auto early = r.ask(question(prompt_kind::file, "carol"), asker::peer, t0).id;
  auto later = r.ask(question(prompt_kind::call, "dave"), asker::peer, t0 + 3s).id;
  CHECK(r.expire(t0 + limits::handshake_timeout - 1ms).empty());
  auto due = r.expire(t0 + limits::handshake_timeout);
  REQUIRE(due.size() == 1);
  CHECK(due.front().id == early);
  CHECK_FALSE(due.front().yes);
  CHECK(r.size() == 1);
  CHECK(r.expire(t0 + limits::handshake_timeout + 2s).empty());
  due = r.expire(t0 + limits::handshake_timeout + 3s);
  REQUIRE(due.size() == 1);
  CHECK(due.front().id == later);
  CHECK(r.size() == 0);
}

TEST_CASE("prompt registry: shutdown takes every open question and leaves none") {
  prompt_registry r;
  r.ask(question(prompt_kind::file, "carol"), asker::peer, t0);
  r.ask(question(prompt_kind::connect, "dave"), asker::node, t0);
  CHECK(r.take_all().size() == 2);
  CHECK(r.size() == 0);
  CHECK(r.expire(t0 + 1h).empty());
}
