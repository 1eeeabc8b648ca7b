#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/crypto/replay_window.hpp"
#include "core/crypto/secure_channel.hpp"

using mk::crypto::channel_transcript;
using mk::crypto::replay_window;
using mk::crypto::secure_channel;

namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

const channel_transcript transcript{"alice", "bob", "KEY-A", "KEY-B", "NONCE-A", "NONCE-B"};
const std::vector<std::uint8_t> secret(66, 0x42);

}  // namespace

TEST_CASE("replay window: fresh, replayed, too old, and a far jump forgets the past") {
  replay_window w;
  CHECK(w.check(5) == replay_window::verdict::fresh);
  w.mark(5);
  CHECK(w.check(5) == replay_window::verdict::replayed);
  CHECK(w.check(4) == replay_window::verdict::fresh);
  w.mark(10000);
  CHECK(w.check(10000) == replay_window::verdict::replayed);
  CHECK(w.check(10000 - 8128) == replay_window::verdict::fresh);  // at least 8128 back are kept exactly
  w.mark(10000 - 8128);
  CHECK(w.check(10000 - 8128) == replay_window::verdict::replayed);
  CHECK(w.check(5) == replay_window::verdict::too_old);
  CHECK(w.check(10000 - 8192) == replay_window::verdict::too_old);
  w.mark(1u << 30);  // a jump past the whole window clears it
  CHECK(w.check((1u << 30) - 1) == replay_window::verdict::fresh);
  CHECK(w.check(10000) == replay_window::verdict::too_old);
}

TEST_CASE("replay window: every counter of a long reordered run is accepted once") {
  replay_window w;
  std::vector<std::uint64_t> order;
  for (std::uint64_t base = 0; base < 100000; base += 64)
    for (std::uint64_t i = 64; i-- > 0;)
      order.push_back(base + i);  // each block of 64 arrives backwards
  for (auto c : order) {
    REQUIRE(w.check(c) == replay_window::verdict::fresh);
    w.mark(c);
  }
  for (std::uint64_t c = 100000 - 8000; c < 100000; ++c)
    CHECK(w.check(c) == replay_window::verdict::replayed);
}

TEST_CASE("secure channel: directions use different keys, bound to the transcript") {
  secure_channel a{true, transcript}, b{false, transcript};
  a.reset(secret);
  b.reset(secret);
  std::string d, out;
  a.seal("hello", d);
  CHECK(d.size() == secure_channel::overhead + 5);
  CHECK(b.open(bytes(d), out) == secure_channel::refusal::none);
  CHECK(out == "hello");
  CHECK(a.open(bytes(d), out) == secure_channel::refusal::forged);  // reflected to its sender
  // Another handshake (other nonces), same ECDH secret: nothing opens across sessions.
  auto other = transcript;
  other.responder_nonce = "NONCE-B2";
  secure_channel c{false, other};
  c.reset(secret);
  a.seal("again", d);
  CHECK(c.open(bytes(d), out) == secure_channel::refusal::forged);
  // Header bytes are authenticated: a changed epoch or counter never opens as another datagram.
  a.seal("x", d);
  auto tampered = d;
  tampered[9] ^= 1;
  CHECK(b.open(bytes(tampered), out) == secure_channel::refusal::forged);
  CHECK(b.open(bytes(d), out) == secure_channel::refusal::none);
}

TEST_CASE("secure channel: malformed input is refused without state change") {
  secure_channel b{false, transcript};
  b.reset(secret);
  std::string out;
  CHECK(b.open(bytes(std::string(10, '\x01')), out) == secure_channel::refusal::not_envelope);
  CHECK(b.open(bytes(std::string(40, 'C')), out) == secure_channel::refusal::not_envelope);
  std::string unknown(40, '\0');
  unknown[0] = '\x01';
  unknown[1] = '\x07';
  CHECK(b.open(bytes(unknown), out) == secure_channel::refusal::unknown_epoch);
  CHECK(out.empty());
}
