// Issue 13, item 6: one peer can never take every prompt slot. Its file offers beyond limits::max_prompts_per_peer
// pending questions are answered "no" at once (counted), and another peer's offer is still asked.
#include <doctest/doctest.h>

#include <botan/auto_rng.h>

#include "core/crypto/random.hpp"
#include "core/limits.hpp"
#include "core/wire/base64.hpp"
#include "core/wire/messages.hpp"
#include "support/file_harness.hpp"

using namespace mk;
using namespace mk::test;
namespace w = mk::wire;

namespace {

// A plaintext peer connected to `node` under `user` (it never answers CRYPTSTART: an original without encryption).
void connect_raw(raw_peer& sock, test_node& node, const std::string& user, Botan::RandomNumberGenerator& rng) {
  auto id = crypto::identity::generate(rng);
  w::connect_msg c{user, crypto::make_nonce(rng), id.public_key().base64(), {}};
  c.signature = id.sign(w::signed_text(c), rng);
  sock.send_line(node.port(), w::serialize(c));
  auto hs = sock.receive("HANDSHAKE");
  REQUIRE(hs);
  w::connected_msg done{std::get<w::handshake_msg>(*w::parse_line(*hs)).nonce, {}};
  done.signature = id.sign(w::signed_text(done), rng);
  sock.send_line(node.port(), w::serialize(done));
  REQUIRE(node.events->wait_kind(event_kind::connected, user));
}

std::string offer(Botan::RandomNumberGenerator& rng, int i) {
  auto hash = w::base64_encode(rng.random_vec(limits::hash_bytes));
  std::string name = "offer";
  name += std::to_string(i);
  return w::serialize(w::file_init_msg{hash, 1000, name});
}

}  // namespace

TEST_CASE("attack: one peer's file offers hold at most its share of the questions, another peer is still asked") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  scratch_dir dir;
  auto bob = start_file_node(sys, make_config("bob"), dir / "in");  // connections accepted, file offers asked
  Botan::AutoSeeded_RNG rng;
  raw_peer mallory, carol;
  connect_raw(mallory, bob, "mallory", rng);
  connect_raw(carol, bob, "carol", rng);
  constexpr int flood = static_cast<int>(limits::max_prompts_per_peer) * 3;
  for (int i = 0; i < flood; ++i)
    mallory.send_line(bob.port(), offer(rng, i));
  auto asked = [&](const std::string& peer) {
    return bob.events->count([&](const event& e) { return e.kind == event_kind::prompt && e.peer == peer; });
  };
  auto refused = [&] { return ask<node_stats>(sys, bob.handle.node, stats_atom::value).prompts_refused; };
  // Every offer was decided: asked, or refused at once.
  auto until = std::chrono::steady_clock::now() + 10s;
  while (asked("mallory") + refused() < static_cast<std::size_t>(flood) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  CHECK(asked("mallory") == limits::max_prompts_per_peer);
  CHECK(refused() == flood - limits::max_prompts_per_peer);
  carol.send_line(bob.port(), offer(rng, 0));
  CHECK_MESSAGE(bob.events->wait_for([](const event& e) { return e.kind == event_kind::prompt && e.peer == "carol"; }),
                bob.events->dump());
  stop_node(bob);
}
