#include <doctest/doctest.h>

#include <botan/auto_rng.h>
#include <botan/ecdh.h>
#include <botan/ecdsa.h>
#include <botan/rsa.h>
#include <botan/x509_key.h>

#include "core/crypto/identity.hpp"
#include "core/crypto/public_key.hpp"
#include "core/wire/base64.hpp"
#include "test_support.hpp"

using mk::crypto::public_key;

namespace {

const std::string bob_key =
    "MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQACO/F14urp/b/jU66MiECNlzZfoT4G/3V/4TRlfoCYKRuZFSmKnKpfZygemkwBzut7PZprFqhQTAN"
    "zmpPFO70Wh4AHMpfP7RhpZhH92iJOVQatrvT04qsibklR22Xbpvrm0pDEyOrnavAZPo36q/NbcLyEj3Vf1wN+LfS3n1Te4WcLX0=";

}  // namespace

TEST_CASE("public_key: accepts the canonical 212-char P-521 SPKI and gives it back unchanged") {
  REQUIRE(bob_key.size() == 212);
  auto k = public_key::from_base64(bob_key);
  REQUIRE(k.ok());
  CHECK(k->base64() == bob_key);
  CHECK(k->der().size() == 158);
  auto again = public_key::from_der(k->der());
  REQUIRE(again.ok());
  CHECK(*again == *k);
  // Copies share state and compare equal.
  public_key copy = *k;
  CHECK(copy.base64() == bob_key);
}

TEST_CASE("public_key: fingerprint is 8 groups of 4 lowercase hex digits from SHA-256 of the DER") {
  auto k = public_key::from_base64(bob_key);
  REQUIRE(k.ok());
  const auto fp = k->fingerprint();
  CHECK(fp.size() == 39);
  for (std::size_t i = 0; i < fp.size(); ++i) {
    if (i % 5 == 4)
      CHECK(fp[i] == ' ');
    else
      CHECK(std::string_view{"0123456789abcdef"}.find(fp[i]) != std::string_view::npos);
  }
  auto alice = public_key::from_base64(mk::test::read_known_users("direct/alice/known_users.toml")["loopback"]);
  REQUIRE(alice.ok());
  CHECK(alice->fingerprint() != fp);
  CHECK(public_key::from_base64(bob_key)->fingerprint() == fp);  // deterministic
}

TEST_CASE("public_key: rejects other key types and other curves and malformed input") {
  Botan::AutoSeeded_RNG rng;
  auto b64 = [](const Botan::Public_Key& k) { return mk::wire::base64_encode(Botan::X509::BER_encode(k)); };

  Botan::RSA_PrivateKey rsa(rng, 1024);
  Botan::ECDSA_PrivateKey p256(rng, Botan::EC_Group("secp256r1"));
  Botan::ECDSA_PrivateKey p384(rng, Botan::EC_Group("secp384r1"));
  Botan::ECDH_PrivateKey ecdh521(rng, Botan::EC_Group("secp521r1"));
  for (const auto* k : std::initializer_list<const Botan::Public_Key*>{&rsa, &p256, &p384, &ecdh521}) {
    INFO(k->algo_name());
    auto r = public_key::from_base64(b64(*k));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == mk::errc::bad_key);
    // Also through the DER entry point, which has no length shortcut.
    auto d = public_key::from_der(Botan::X509::BER_encode(*k));
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().code == mk::errc::bad_key);
  }

  // A P-521 point that is not on the curve: same length, one byte of y changed.
  auto der = *mk::wire::base64_decode(bob_key);
  der[der.size() - 10] ^= 0x01;
  auto off_curve = public_key::from_base64(mk::wire::base64_encode(der));
  REQUIRE_FALSE(off_curve.ok());
  CHECK(off_curve.error().code == mk::errc::bad_key);

  // A compressed point on P-521: a valid key, but not the wire form (§2: uncompressed).
  {
    Botan::ECDSA_PublicKey pub(Botan::EC_Group("secp521r1"), ecdh521.public_point());
    pub.set_point_encoding(Botan::PointGFp::COMPRESSED);
    auto c = public_key::from_der(Botan::X509::BER_encode(pub));
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == mk::errc::bad_key);
  }

  CHECK(public_key::from_base64(bob_key.substr(0, 208)).error().code == mk::errc::bad_key);  // truncated
  CHECK_FALSE(public_key::from_base64("").ok());
  CHECK_FALSE(public_key::from_base64(bob_key + "AAAA").ok());
  std::string not_b64 = bob_key;
  not_b64[100] = '!';
  CHECK(public_key::from_base64(not_b64).error().code == mk::errc::bad_base64);
  CHECK_FALSE(public_key::from_base64(std::string(212, 'A')).ok());
  CHECK_FALSE(public_key::from_der(std::vector<std::uint8_t>{}).ok());
  CHECK_FALSE(public_key::from_der(std::vector<std::uint8_t>(158, 0x30)).ok());
}

TEST_CASE("public_key: verify is false and never throws on malformed signatures") {
  Botan::AutoSeeded_RNG rng;
  auto id = mk::crypto::identity::generate(rng);
  const auto& k = id.public_key();
  const std::string text = "CONNECTED abc";
  const auto sig = id.sign(text, rng);
  CHECK(k.verify(text, sig));
  CHECK(sig.size() >= 184);
  CHECK(sig.size() <= 188);
  CHECK_FALSE(k.verify(text, ""));
  CHECK_FALSE(k.verify(text, "!!!!"));
  CHECK_FALSE(k.verify(text, sig.substr(0, sig.size() - 4)));
  CHECK_FALSE(k.verify(text, sig + "AAAA"));
  CHECK_FALSE(k.verify(text, std::string(188, 'A')));
  CHECK_FALSE(k.verify(text, std::string(4000, 'A')));
  CHECK_FALSE(k.verify("", sig));
  // An r||s (IEEE 1363) signature is not the wire form (§2: DER).
  CHECK_FALSE(k.verify(text, mk::wire::base64_encode(std::vector<std::uint8_t>(132, 1))));
}
