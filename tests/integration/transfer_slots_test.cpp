// Issue 13 (denial of service): one peer can never take every transfer slot of a node. Its offers beyond
// limits::max_incoming_per_peer are refused (FILESTOP), while another peer's offer is still accepted.
#include <doctest/doctest.h>

#include <set>

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

// A plaintext peer connected to `node` under `user`.
void connect_raw(raw_peer& sock, test_node& node, const std::string& user, Botan::RandomNumberGenerator& rng) {
  auto id = crypto::identity::generate(rng);
  w::connect_msg c{user, crypto::make_nonce(rng), id.public_key().base64(), {}};
  c.signature = id.sign(w::signed_text(c), rng);
  sock.send_line(node.port(), w::serialize(c));
  auto hs = sock.receive("HANDSHAKE");
  REQUIRE(hs);
  auto h = std::get<w::handshake_msg>(*w::parse_line(*hs));
  w::connected_msg done{h.nonce, {}};
  done.signature = id.sign(w::signed_text(done), rng);
  sock.send_line(node.port(), w::serialize(done));
  REQUIRE(node.events->wait_kind(event_kind::connected, user));
}

std::string offer(Botan::RandomNumberGenerator& rng, int i) {
  auto hash = w::base64_encode(rng.random_vec(limits::hash_bytes));
  std::string name = "f";  // not "f" + to_string(i): GCC 12 reports a false -Wrestrict on that
  name += std::to_string(i);
  return w::serialize(w::file_init_msg{hash, 1000, name});
}

}  // namespace

TEST_CASE("transfers: one peer's offers hold at most a quarter of the slots, another peer still gets in") {
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  auto c = make_config("bob");
  c.require_encryption = c.encrypt_by_default = false;
  c.file.default_action = config::action::accept;
  scratch_dir dir;
  auto bob = start_file_node(sys, c, dir / "in");
  Botan::AutoSeeded_RNG rng;
  raw_peer mallory;
  connect_raw(mallory, bob, "mallory", rng);
  const int offers = static_cast<int>(limits::max_incoming_per_peer) + 40;
  for (int i = 0; i < offers; ++i)
    mallory.send_line(bob.port(), offer(rng, i));
  // Counted per offer: toward an original-like peer an accepted transfer repeats its FILEACK every 100 ms (§10),
  // which a slow (sanitizer) build reaches before all offers are answered.
  std::set<std::string> acked, stopped;
  while (static_cast<int>(acked.size() + stopped.size()) < offers) {
    auto l = mallory.receive("", 5s);
    if (!l)
      break;
    auto hash = l->substr(l->find(' ') + 1, 64);
    if (l->rfind("FILEACK ", 0) == 0)
      acked.insert(hash);
    if (l->rfind("FILESTOP ", 0) == 0)
      stopped.insert(hash);
  }
  const int acks = static_cast<int>(acked.size());
  CHECK(acks == static_cast<int>(limits::max_incoming_per_peer));
  CHECK(static_cast<int>(stopped.size()) == offers - acks);
  CHECK(bob.events->wait_kind(event_kind::transfer, "too many transfers from mallory"));
  raw_peer carol;
  connect_raw(carol, bob, "carol", rng);
  carol.send_line(bob.port(), offer(rng, 0));
  auto answer = carol.receive("FILEACK", 5s);
  CHECK_MESSAGE(answer, "carol's offer was not accepted");
  stop_node(bob);
}
