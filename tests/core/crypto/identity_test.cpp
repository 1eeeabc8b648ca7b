#include <doctest/doctest.h>

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include <botan/auto_rng.h>
#include <botan/ecdh.h>
#include <botan/ecdsa.h>
#include <botan/pem.h>
#include <botan/pkcs8.h>
#include <botan/rsa.h>

#include "core/crypto/identity.hpp"
#include "core/crypto/random.hpp"
#include "core/wire/base64.hpp"
#include "test_support.hpp"

using mk::crypto::identity;

namespace {

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("identity: generate-save-load round trip with file mode 0600 and atomic rewrite") {
  Botan::AutoSeeded_RNG rng;
  mk::test::temp_dir dir;
  const auto pem = dir.path() / "private.pem";
  auto id = identity::generate(rng);
  CHECK(id.public_key().base64().size() == 212);
  CHECK(id.public_key().base64().rfind("MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQ", 0) == 0);

  REQUIRE(id.save(pem).ok());
  CHECK(mode_of(pem) == 0600);
  CHECK(!std::filesystem::exists(dir.path() / "private.pem.tmp"));
  const auto text = mk::test::read_all(pem);
  CHECK(text.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);  // unencrypted PKCS#8 (§3)

  auto back = identity::load(pem);
  REQUIRE(back.ok());
  CHECK(back->public_key() == id.public_key());
  // The loaded key signs, and the original in-memory public key verifies it: same private scalar.
  auto sig = back->sign("MSG hi", rng);
  CHECK(id.public_key().verify("MSG hi", sig));
  CHECK_FALSE(id.public_key().verify("MSG ho", sig));

  // Overwriting an existing, world-readable file still ends at 0600 with the new key.
  std::filesystem::permissions(pem, std::filesystem::perms::all);
  auto other = identity::generate(rng);
  REQUIRE(other.save(pem).ok());
  CHECK(mode_of(pem) == 0600);
  CHECK(identity::load(pem)->public_key() == other.public_key());
}

TEST_CASE("identity: load_or_create creates once and then keeps the same key") {
  Botan::AutoSeeded_RNG rng;
  mk::test::temp_dir dir;
  const auto pem = dir.path() / "private.pem";
  auto first = identity::load_or_create(pem, rng);
  REQUIRE(first.ok());
  CHECK(std::filesystem::exists(pem));
  CHECK(mode_of(pem) == 0600);
  auto second = identity::load_or_create(pem, rng);
  REQUIRE(second.ok());
  CHECK(second->public_key() == first->public_key());

  // A corrupt key file is an error, never silently replaced by a new identity.
  mk::test::write_all(pem, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  auto broken = identity::load_or_create(pem, rng);
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code == mk::errc::bad_key);
  CHECK(mk::test::read_all(pem).find("AAAA") != std::string::npos);

  // A folder that does not exist: io_error, not an exception.
  auto nowhere = identity::load_or_create(dir.path() / "missing" / "private.pem", rng);
  REQUIRE_FALSE(nowhere.ok());
  CHECK(nowhere.error().code == mk::errc::io_error);
}

TEST_CASE("identity: keys that are not ECDSA P-521 are rejected") {
  Botan::AutoSeeded_RNG rng;
  mk::test::temp_dir dir;
  SUBCASE("P-256 ECDSA") {
    Botan::ECDSA_PrivateKey k(rng, Botan::EC_Group("secp256r1"));
    mk::test::write_all(dir.path() / "k.pem", Botan::PKCS8::PEM_encode(k));
  }
  SUBCASE("RSA") {
    Botan::RSA_PrivateKey k(rng, 1024);
    mk::test::write_all(dir.path() / "k.pem", Botan::PKCS8::PEM_encode(k));
  }
  SUBCASE("ECDH on P-521") {
    Botan::ECDH_PrivateKey k(rng, Botan::EC_Group("secp521r1"));
    mk::test::write_all(dir.path() / "k.pem", Botan::PKCS8::PEM_encode(k));
  }
  auto id = identity::load(dir.path() / "k.pem");
  REQUIRE_FALSE(id.ok());
  CHECK(id.error().code == mk::errc::bad_key);
}

TEST_CASE("identity: a PKCS#8 file whose embedded public point is not its scalar's is rejected") {
  // alice's key with bob's public point spliced in (the point is the last 133 bytes of both encodings).
  auto pem = mk::test::read_all(mk::test::interop_path("direct/alice/private.pem"));
  auto der = Botan::PEM_Code::decode_check_label(pem, "PRIVATE KEY");
  auto bob = *mk::wire::base64_decode(mk::test::read_known_users("direct/alice/known_users.toml")["bob"]);
  REQUIRE(der.size() > 133);
  std::copy(bob.end() - 133, bob.end(), der.end() - 133);
  auto spliced = identity::from_pem(Botan::PEM_Code::encode(der, "PRIVATE KEY"));
  REQUIRE_FALSE(spliced.ok());
  CHECK(spliced.error().code == mk::errc::bad_key);
  CHECK(spliced.error().message.find("do not match") != std::string::npos);
  CHECK(identity::from_pem(pem).ok());  // the untouched file is fine
}

TEST_CASE("identity: garbage and missing files give errors and no exceptions") {
  mk::test::temp_dir dir;
  for (const std::string& garbage :
       {std::string{}, std::string{"hello"}, std::string{"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n"},
        std::string(5000, '\xff'), std::string{"-----BEGIN PRIVATE KEY-----\n"}}) {
    mk::test::write_all(dir.path() / "g.pem", garbage);
    auto id = identity::load(dir.path() / "g.pem");
    REQUIRE_FALSE(id.ok());
    CHECK(id.error().code == mk::errc::bad_key);
    CHECK_FALSE(identity::from_pem(garbage).ok());
  }
  auto missing = identity::load(dir.path() / "none.pem");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == mk::errc::io_error);
}

TEST_CASE("identity: sign() is safe from several threads at once") {
  Botan::AutoSeeded_RNG rng;  // internally locked (STACK-NOTES §4)
  auto id = identity::generate(rng);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        const std::string text = "MSG thread " + std::to_string(t) + " " + std::to_string(i);
        if (id.public_key().verify(text, id.sign(text, rng)))
          ++good;
      }
    });
  for (auto& th : threads)
    th.join();
  CHECK(good == 32);
}

TEST_CASE("nonce: 36 random bytes as 48 base64 characters and never repeating") {
  Botan::AutoSeeded_RNG rng;
  auto a = mk::crypto::make_nonce(rng);
  auto b = mk::crypto::make_nonce(rng);
  CHECK(a.size() == 48);
  CHECK(a != b);
  auto bytes = mk::wire::base64_decode(a);
  REQUIRE(bytes.ok());
  CHECK(bytes->size() == 36);
}
