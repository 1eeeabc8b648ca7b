#pragma once
// Internal to core/crypto: shared constants and the one P-521 SPKI parser used by public keys and ECDH.

#include <cstdint>
#include <memory>
#include <span>

#include "core/result.hpp"

namespace Botan {
class EC_Group;
class ECDSA_PublicKey;
}  // namespace Botan

namespace mk::crypto::detail {

// PROTOCOL §2: ECDSA over SHA-384 (Botan 2 padding name); signatures are DER SEQUENCE{r,s}.
inline constexpr const char* signature_emsa = "EMSA1(SHA-384)";

// PROTOCOL §2: every key, long-term or ephemeral, is on secp521r1.
inline constexpr const char* curve_name = "secp521r1";

// The P-521 group (built once; EC_Group is immutable and safe to share between threads).
const Botan::EC_Group& p521();

// Parses a DER SubjectPublicKeyInfo and accepts it only in the canonical wire form (§2): id-ecPublicKey,
// namedCurve secp521r1, uncompressed point on the curve. Re-encoding must give back the same bytes, which also
// rejects the ECDH OID, explicit curve parameters, compressed points and trailing data. Never throws.
mk::result<std::unique_ptr<Botan::ECDSA_PublicKey>> parse_p521_spki(std::span<const std::uint8_t> der);

}  // namespace mk::crypto::detail
