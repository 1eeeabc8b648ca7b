#include <doctest/doctest.h>

#include <botan/auto_rng.h>
#include <botan/ecdh.h>
#include <botan/ecdsa.h>
#include <botan/kdf.h>
#include <botan/pubkey.h>
#include <botan/x509_key.h>

#include "core/crypto/ephemeral_key.hpp"
#include "core/crypto/identity.hpp"
#include "core/wire/base64.hpp"

using mk::crypto::ephemeral_key;

TEST_CASE("ephemeral: the public key is an ECDSA-OID P-521 SPKI of 212 chars (not Botan's ECDH OID)") {
  Botan::AutoSeeded_RNG rng;
  auto e = ephemeral_key::generate(rng);
  CHECK(e.public_base64().size() == 212);
  CHECK(e.public_base64().rfind("MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQ", 0) == 0);
  CHECK(e.public_base64().back() == '=');
  CHECK(ephemeral_key::generate(rng).public_base64() != e.public_base64());
}

TEST_CASE("ephemeral: both sides agree on the same 32-byte key and a third key gets another") {
  Botan::AutoSeeded_RNG rng;
  auto a = ephemeral_key::generate(rng);
  auto b = ephemeral_key::generate(rng);
  auto c = ephemeral_key::generate(rng);
  auto ab = a.agree(b.public_base64());
  auto ba = b.agree(a.public_base64());
  REQUIRE(ab.ok());
  REQUIRE(ba.ok());
  CHECK(*ab == *ba);
  CHECK(*ab != mk::crypto::session_key{});
  auto ac = a.agree(c.public_base64());
  REQUIRE(ac.ok());
  CHECK(*ac != *ab);
  // Repeated agreement with the same key is stable (blinding changes nothing in the result).
  CHECK(*a.agree(b.public_base64()) == *ab);
}

TEST_CASE("ephemeral: the derivation is raw 66-byte x then HKDF-SHA-384 with empty salt and info (§11)") {
  // Recompute independently with Botan: ECDH "Raw" secret, then HKDF through the PK_Key_Agreement KDF path.
  Botan::AutoSeeded_RNG rng;
  Botan::EC_Group grp("secp521r1");
  Botan::ECDH_PrivateKey theirs(rng, grp);
  const auto their_b64 =
      mk::wire::base64_encode(Botan::X509::BER_encode(Botan::ECDSA_PublicKey(grp, theirs.public_point())));
  auto ours = ephemeral_key::generate(rng);
  auto key = ours.agree(their_b64);
  REQUIRE(key.ok());

  auto our_der = *mk::wire::base64_decode(ours.public_base64());
  std::unique_ptr<Botan::Public_Key> our_pub{Botan::X509::load_key(our_der)};
  auto* our_ec = dynamic_cast<Botan::EC_PublicKey*>(our_pub.get());
  REQUIRE(our_ec != nullptr);
  const auto peer_value = our_ec->public_point().encode(Botan::PointGFp::UNCOMPRESSED);

  Botan::PK_Key_Agreement raw(theirs, rng, "Raw");
  auto secret = raw.derive_key(0, peer_value).bits_of();
  CHECK(secret.size() == 66);
  auto okm = Botan::KDF::create_or_throw("HKDF(SHA-384)")->derive_key(32, secret, "", "");
  CHECK(std::equal(okm.begin(), okm.end(), key->begin(), key->end()));

  Botan::PK_Key_Agreement hkdf(theirs, rng, "HKDF(SHA-384)");
  auto direct = hkdf.derive_key(32, peer_value).bits_of();
  CHECK(std::equal(direct.begin(), direct.end(), key->begin(), key->end()));
}

TEST_CASE("ephemeral: agree() accepts an ECDH-OID-free P-521 point only") {
  Botan::AutoSeeded_RNG rng;
  auto e = ephemeral_key::generate(rng);
  Botan::ECDSA_PrivateKey p256(rng, Botan::EC_Group("secp256r1"));
  auto r = e.agree(mk::wire::base64_encode(Botan::X509::BER_encode(p256)));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == mk::errc::bad_key);

  Botan::ECDH_PrivateKey ecdh(rng, Botan::EC_Group("secp521r1"));  // id-ecDH encoding, which the original rejects
  CHECK_FALSE(e.agree(mk::wire::base64_encode(Botan::X509::BER_encode(ecdh))).ok());

  CHECK_FALSE(e.agree("").ok());
  CHECK_FALSE(e.agree(e.public_base64().substr(1)).ok());
  std::string bad = e.public_base64();
  bad[50] = '#';
  CHECK(e.agree(bad).error().code == mk::errc::bad_base64);
  // A long-term identity key is a valid P-521 point too: agreement works on the point alone.
  CHECK(e.agree(mk::crypto::identity::generate(rng).public_key().base64()).ok());
}
