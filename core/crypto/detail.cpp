#include "core/crypto/detail.hpp"

#include <algorithm>
#include <exception>

#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/x509_key.h>

namespace mk::crypto::detail {

const Botan::EC_Group& p521() {
  static const Botan::EC_Group group{curve_name};
  return group;
}

mk::result<std::unique_ptr<Botan::ECDSA_PublicKey>> parse_p521_spki(std::span<const std::uint8_t> der) {
  try {
    std::vector<std::uint8_t> bytes(der.begin(), der.end());
    std::unique_ptr<Botan::Public_Key> key{Botan::X509::load_key(bytes)};
    auto* ec = dynamic_cast<Botan::ECDSA_PublicKey*>(key.get());
    // ECDH_PublicKey is not an ECDSA_PublicKey, so the id-ecDH OID (1.3.132.1.12) fails here too.
    if (ec == nullptr || ec->algo_name() != "ECDSA")
      return make_error(errc::bad_key, "not an EC (id-ecPublicKey) public key");
    if (ec->domain() != p521())
      return make_error(errc::bad_key, "EC key is not on P-521 (secp521r1)");
    if (Botan::X509::BER_encode(*ec) != bytes)
      return make_error(errc::bad_key, "P-521 key is not in the canonical SPKI form (named curve, uncompressed)");
    key.release();
    return std::unique_ptr<Botan::ECDSA_PublicKey>{ec};
  } catch (const std::exception& e) {
    return make_error(errc::bad_key, std::string{"unreadable public key: "} + e.what());
  }
}

}  // namespace mk::crypto::detail
