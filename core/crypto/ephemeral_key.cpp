#include "core/crypto/ephemeral_key.hpp"

#include <algorithm>
#include <exception>
#include <mutex>

#include <botan/chacha_rng.h>
#include <botan/ec_group.h>
#include <botan/ecdh.h>
#include <botan/ecdsa.h>
#include <botan/kdf.h>
#include <botan/pubkey.h>
#include <botan/x509_key.h>

#include "core/crypto/detail.hpp"
#include "core/limits.hpp"
#include "core/wire/base64.hpp"

namespace mk::crypto {

struct ephemeral_key::state {
  Botan::ECDH_PrivateKey key;
  std::string public_b64;
  // Botan's ECDH blinds the scalar multiplication with an RNG. agree() takes none (core gets randomness only
  // from its caller), so a private generator is seeded from the caller's RNG when the key is made.
  mutable std::mutex rng_mutex;
  mutable Botan::ChaCha_RNG blinding_rng;

  state(Botan::RandomNumberGenerator& rng)
      : key(rng, detail::p521()), blinding_rng(rng.random_vec(limits::blinding_seed_bytes)) {
    // PROTOCOL §11 / STACK-NOTES §4: encode the point as an ECDSA (id-ecPublicKey) SPKI, not an ECDH one.
    Botan::ECDSA_PublicKey as_ecdsa(detail::p521(), key.public_point());
    public_b64 = wire::base64_encode(Botan::X509::BER_encode(as_ecdsa));
  }
};

ephemeral_key ephemeral_key::generate(Botan::RandomNumberGenerator& rng) {
  return ephemeral_key{std::make_shared<state>(rng)};
}

const std::string& ephemeral_key::public_base64() const { return state_->public_b64; }

mk::result<session_key> ephemeral_key::agree(std::string_view peer_public_b64) const {
  auto a = agree_full(peer_public_b64);
  if (!a)
    return std::move(a).error();
  return a->legacy_key;
}

mk::result<agreement> ephemeral_key::agree_full(std::string_view peer_public_b64) const {
  if (peer_public_b64.size() != limits::pubkey_b64_len)
    return make_error(errc::bad_key, "ephemeral key is not 212 base64 characters (P-521 SPKI)");
  auto der = wire::base64_decode(peer_public_b64);
  if (!der)
    return make_error(errc::bad_base64, "ephemeral key is not valid base64");
  auto peer = detail::parse_p521_spki(*der);
  if (!peer)
    return std::move(peer).error();
  try {
    Botan::secure_vector<std::uint8_t> secret;
    {
      std::lock_guard lock{state_->rng_mutex};
      // PROTOCOL §11: "Raw" gives the 66-byte big-endian x coordinate.
      Botan::PK_Key_Agreement ka(state_->key, state_->blinding_rng, "Raw");
      secret = ka.derive_key(0, (*peer)->public_point().encode(Botan::PointGFp::UNCOMPRESSED)).bits_of();
    }
    // PROTOCOL §11: HKDF-SHA-384 (extract and expand), empty salt, empty info, 32 bytes.
    auto kdf = Botan::KDF::create_or_throw("HKDF(SHA-384)");
    auto okm = kdf->derive_key(session_key{}.size(), secret.data(), secret.size(), nullptr, 0, nullptr, 0);
    agreement out;
    std::copy(okm.begin(), okm.end(), out.legacy_key.begin());
    out.secret = std::move(secret);
    return out;
  } catch (const std::exception& e) {
    return make_error(errc::bad_key, std::string{"ECDH agreement failed: "} + e.what());
  }
}

}  // namespace mk::crypto
