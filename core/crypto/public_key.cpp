#include "core/crypto/public_key.hpp"

#include <algorithm>
#include <exception>

#include <botan/data_src.h>
#include <botan/ecdsa.h>
#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/pubkey.h>
#include <botan/x509_key.h>

#include "core/crypto/detail.hpp"
#include "core/limits.hpp"
#include "core/wire/base64.hpp"

namespace mk::crypto {

struct public_key::state {
  std::string b64;
  std::vector<std::uint8_t> der;
  std::unique_ptr<Botan::ECDSA_PublicKey> key;
};

namespace {

// Wire signatures are base64 of at most 139 DER bytes (§2); anything larger is not worth decoding.
constexpr std::size_t max_signature_der = limits::max_signature_b64 / 4 * 3;

}  // namespace

mk::result<public_key> public_key::from_der(std::span<const std::uint8_t> spki_der) {
  auto key = detail::parse_p521_spki(spki_der);
  if (!key)
    return std::move(key).error();
  auto s = std::make_shared<state>();
  s->der.assign(spki_der.begin(), spki_der.end());
  s->b64 = wire::base64_encode(spki_der);
  s->key = std::move(*key);
  return public_key{std::move(s)};
}

mk::result<public_key> public_key::from_base64(std::string_view spki_b64) {
  // Cheap length guard before decoding: the canonical form has exactly one length (§2).
  if (spki_b64.size() != limits::pubkey_b64_len)
    return make_error(errc::bad_key, "public key is not 212 base64 characters (P-521 SPKI)");
  auto der = wire::base64_decode(spki_b64);
  if (!der)
    return make_error(errc::bad_base64, "public key is not valid base64");
  return from_der(*der);
}

const std::string& public_key::base64() const { return state_->b64; }

const std::vector<std::uint8_t>& public_key::der() const { return state_->der; }

const Botan::ECDSA_PublicKey& public_key::botan_key() const { return *state_->key; }

bool public_key::verify(std::string_view text, std::string_view signature_b64) const {
  if (signature_b64.empty() || signature_b64.size() > limits::max_signature_b64)
    return false;
  std::vector<std::uint8_t> decoded;
  if (!wire::base64_decode_into(signature_b64, decoded) || decoded.empty() || decoded.size() > max_signature_der)
    return false;
  try {
    // A verifier per call: PK_Verifier is not thread-safe, and its construction is cheap next to the
    // ~1.3 ms verification itself (STACK-NOTES §4).
    Botan::PK_Verifier verifier(*state_->key, detail::signature_emsa, Botan::DER_SEQUENCE);
    return verifier.verify_message(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), decoded.data(),
                                   decoded.size());
  } catch (const std::exception&) {
    return false;
  }
}

std::string public_key::fingerprint() const {
  try {
    auto sha = Botan::HashFunction::create_or_throw("SHA-256");
    auto digest = sha->process(state_->der);
    auto hex = Botan::hex_encode(digest.data(), 16, false);
    std::string out;
    out.reserve(hex.size() + hex.size() / 4);
    for (std::size_t i = 0; i < hex.size(); i += 4) {
      if (i != 0)
        out += ' ';
      out.append(hex, i, 4);
    }
    return out;
  } catch (const std::exception&) {
    return {};  // SHA-256 is always built in; unreachable in practice
  }
}

}  // namespace mk::crypto
