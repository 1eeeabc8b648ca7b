#include <doctest/doctest.h>

#include <botan/aead.h>
#include <botan/auto_rng.h>

#include "core/crypto/ephemeral_key.hpp"
#include "core/crypto/session_cipher.hpp"

using mk::crypto::session_cipher;
using mk::crypto::session_key;

namespace {

using iv_t = std::array<std::uint8_t, 8>;
using tag_t = std::array<std::uint8_t, 16>;

session_key fixed_key() {
  session_key k;
  for (std::size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<std::uint8_t>(0xa0 + i);
  return k;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(i * 7 + 3);
  return s;
}

}  // namespace

TEST_CASE("session_cipher: two ciphers from one agreed key round-trip both ways") {
  Botan::AutoSeeded_RNG rng;
  auto a = mk::crypto::ephemeral_key::generate(rng);
  auto b = mk::crypto::ephemeral_key::generate(rng);
  session_cipher alice{*a.agree(b.public_base64())};
  session_cipher bob{*b.agree(a.public_base64())};
  std::vector<std::uint8_t> ct;
  tag_t tag;
  iv_t iv;
  for (std::size_t n : {0, 1, 15, 16, 17, 31, 32, 33, 100, 1024, 1500, 4096 + 5}) {
    INFO(n);
    const auto text = pattern(n);
    rng.randomize(iv.data(), iv.size());
    alice.seal(text, iv, ct, tag);
    CHECK(ct.size() == n);  // §11: ciphertext has the plaintext's length
    auto back = bob.open(ct, iv, tag);
    REQUIRE(back.ok());
    CHECK(*back == text);
    bob.seal(text, iv, ct, tag);
    auto back2 = alice.open(ct, iv, tag);
    REQUIRE(back2.ok());
    CHECK(*back2 == text);
  }
}

TEST_CASE("session_cipher: output equals Botan's AES-256/GCM with the same key and 8-byte IV (ct||tag)") {
  const auto key = fixed_key();
  const iv_t iv{1, 2, 3, 4, 5, 6, 7, 8};
  session_cipher ours{key};
  auto enc = Botan::AEAD_Mode::create_or_throw("AES-256/GCM", Botan::ENCRYPTION);
  auto dec = Botan::AEAD_Mode::create_or_throw("AES-256/GCM", Botan::DECRYPTION);
  enc->set_key(key.data(), key.size());
  dec->set_key(key.data(), key.size());
  std::vector<std::uint8_t> ct;
  tag_t tag;
  for (std::size_t n : {0, 1, 16, 18, 47, 64, 1024, 1449}) {
    INFO(n);
    const auto text = pattern(n);
    Botan::secure_vector<std::uint8_t> ref(text.begin(), text.end());
    enc->start(iv.data(), iv.size());
    enc->finish(ref);
    REQUIRE(ref.size() == n + 16);
    ours.seal(text, iv, ct, tag);
    CHECK(std::equal(ct.begin(), ct.end(), ref.begin()));
    CHECK(std::equal(tag.begin(), tag.end(), ref.begin() + static_cast<std::ptrdiff_t>(n)));
    // And Botan opens ours.
    Botan::secure_vector<std::uint8_t> in(ct.begin(), ct.end());
    in.insert(in.end(), tag.begin(), tag.end());
    dec->start(iv.data(), iv.size());
    dec->finish(in);
    CHECK(std::string(in.begin(), in.end()) == text);
  }
  // A fixed known answer, so a change in both Botan and us would still show: "MSG now\ encrypted" (§4).
  ours.seal("MSG now\\ encrypted", iv, ct, tag);
  CHECK(ct.size() == 18);
  session_cipher again{key};
  CHECK(*again.open(ct, iv, tag) == "MSG now\\ encrypted");
}

TEST_CASE("session_cipher: tampering with ct or tag or iv gives auth_failed and no plaintext") {
  session_cipher a{fixed_key()};
  session_cipher b{fixed_key()};
  const iv_t iv{9, 9, 9, 9, 1, 2, 3, 4};
  std::vector<std::uint8_t> ct;
  tag_t tag;
  const auto text = pattern(100);
  a.seal(text, iv, ct, tag);

  for (std::size_t pos : {std::size_t{0}, std::size_t{50}, std::size_t{99}}) {
    auto bad = ct;
    bad[pos] ^= 0x80;
    auto r = b.open(bad, iv, tag);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == mk::errc::auth_failed);
  }
  for (std::size_t pos : {std::size_t{0}, std::size_t{15}}) {
    auto bad = tag;
    bad[pos] ^= 0x01;
    CHECK(b.open(ct, iv, bad).error().code == mk::errc::auth_failed);
  }
  auto bad_iv = iv;
  bad_iv[7] ^= 0x01;
  CHECK(b.open(ct, bad_iv, tag).error().code == mk::errc::auth_failed);
  auto shorter = ct;
  shorter.pop_back();
  CHECK(b.open(shorter, iv, tag).error().code == mk::errc::auth_failed);
  session_cipher other{session_key{}};
  CHECK(other.open(ct, iv, tag).error().code == mk::errc::auth_failed);

  std::string out = "stale";
  CHECK_FALSE(b.open_into(ct, bad_iv, tag, out).ok());
  CHECK(out.empty());

  // The cipher still works after failures (start(iv) resets its state).
  auto good = b.open(ct, iv, tag);
  REQUIRE(good.ok());
  CHECK(*good == text);
}

TEST_CASE("session_cipher: wrong IV or tag lengths are rejected before decrypting") {
  session_cipher a{fixed_key()};
  const iv_t iv{};
  std::vector<std::uint8_t> ct;
  tag_t tag;
  a.seal("MSG x", iv, ct, tag);
  const std::vector<std::uint8_t> iv12(12, 0), iv7(7, 0), tag15(tag.begin(), tag.end() - 1);
  CHECK(a.open(ct, iv12, tag).error().code == mk::errc::malformed);
  CHECK(a.open(ct, iv7, tag).error().code == mk::errc::malformed);
  CHECK(a.open(ct, std::span<const std::uint8_t>{}, tag).error().code == mk::errc::malformed);
  CHECK(a.open(ct, iv, tag15).error().code == mk::errc::malformed);
  CHECK(a.open(ct, iv, std::vector<std::uint8_t>(17, 0)).error().code == mk::errc::malformed);
  CHECK(a.open(ct, iv, tag).ok());
}

TEST_CASE("session_cipher: empty plaintext works and output capacity is reused") {
  session_cipher a{fixed_key()};
  session_cipher b{fixed_key()};
  const iv_t iv{1};
  std::vector<std::uint8_t> ct;
  tag_t tag{};
  a.seal("", iv, ct, tag);
  CHECK(ct.empty());
  CHECK(tag != tag_t{});
  auto r = b.open(ct, iv, tag);
  REQUIRE(r.ok());
  CHECK(r->empty());

  a.seal(pattern(1024), iv, ct, tag);
  const auto* data = ct.data();
  a.seal(pattern(500), iv, ct, tag);
  CHECK(ct.data() == data);
  std::string out;
  REQUIRE(b.open_into(ct, iv, tag, out).ok());
  CHECK(out == pattern(500));
  // Moved-from and moved-to ciphers: the target keeps working.
  session_cipher moved = std::move(a);
  moved.seal("MSG m", iv, ct, tag);
  CHECK(*b.open(ct, iv, tag) == "MSG m");
}
