#pragma once
// PROTOCOL §11: the ephemeral P-521 ECDH key of one CRYPTSTART/CRYPTACCEPT, and the session key derivation.
// One slot per peer; a new CRYPTSTART overwrites it. Cheap to copy (shared immutable state).

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <botan/rng.h>
#include <botan/secmem.h>

#include "core/result.hpp"

namespace mk::crypto {

using session_key = std::array<std::uint8_t, 32>;

// One ECDH agreement: the §11 key the original uses, and the raw secret the mokaccino envelope derives its
// per-direction keys from (secure_channel).
struct agreement {
  session_key legacy_key;
  Botan::secure_vector<std::uint8_t> secret;  // the 66-byte x coordinate
};

class ephemeral_key {
 public:
  static ephemeral_key generate(Botan::RandomNumberGenerator& rng);

  // The public point as an ECDSA SPKI (id-ecPublicKey, 212 chars): the original rejects Botan's ECDH OID
  // (STACK-NOTES §4), so the point is wrapped in an ECDSA_PublicKey before encoding.
  const std::string& public_base64() const;

  // ECDH with the peer's P-521 point (parsed like public_key::from_base64): the raw 66-byte x coordinate goes
  // through HKDF-SHA-384 with empty salt and info to 32 bytes. Errors: errc::bad_base64, errc::bad_key.
  mk::result<session_key> agree(std::string_view peer_public_b64) const;
  mk::result<agreement> agree_full(std::string_view peer_public_b64) const;

 private:
  struct state;
  explicit ephemeral_key(std::shared_ptr<const state> s) : state_(std::move(s)) {}
  std::shared_ptr<const state> state_;
};

}  // namespace mk::crypto
