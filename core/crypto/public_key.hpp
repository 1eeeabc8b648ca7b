#pragma once
// PROTOCOL §2: a P-521 ECDSA public key as carried on the wire (base64 of the DER SubjectPublicKeyInfo).
// Cheap to copy: the parsed key is shared, immutable state.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace Botan {
class ECDSA_PublicKey;
}

namespace mk::crypto {

class public_key {
 public:
  // Accepts only the canonical encoding: id-ecPublicKey, namedCurve secp521r1, uncompressed point on the curve
  // (212 base64 chars). PROTOCOL §2 FIX: RSA, other curves and the ECDH OID are rejected (errc::bad_key);
  // invalid base64 gives errc::bad_base64.
  static mk::result<public_key> from_base64(std::string_view spki_b64);

  // Same, from the DER bytes of the SubjectPublicKeyInfo.
  static mk::result<public_key> from_der(std::span<const std::uint8_t> spki_der);

  // The canonical 212-char SPKI base64 (equal to the parsed input).
  const std::string& base64() const;

  // The SPKI DER bytes (158).
  const std::vector<std::uint8_t>& der() const;

  // ECDSA with SHA-384 over `text`, signature DER SEQUENCE{r,s} in base64 (PROTOCOL §2). False on any error
  // (bad base64, bad DER, mismatch). Safe to call concurrently.
  bool verify(std::string_view text, std::string_view signature_b64) const;

  // Human-comparable: SHA-256 of the SPKI DER, first 16 bytes as lowercase hex in groups of 4 ("ab12 cd34 ...").
  std::string fingerprint() const;

  // The parsed key, for other crypto code (e.g. ECDH agreement with its point).
  const Botan::ECDSA_PublicKey& botan_key() const;

  friend bool operator==(const public_key& a, const public_key& b) { return a.base64() == b.base64(); }

 private:
  struct state;
  explicit public_key(std::shared_ptr<const state> s) : state_(std::move(s)) {}
  std::shared_ptr<const state> state_;
};

}  // namespace mk::crypto
