#pragma once
// PROTOCOL §2, §3: the node's long-term P-521 ECDSA identity, stored as unencrypted PKCS#8 PEM (private.pem).
// Cheap to copy (shared immutable state); sign() is safe to call concurrently (a PK_Signer per call).

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <botan/rng.h>

#include "core/crypto/public_key.hpp"
#include "core/result.hpp"

namespace mk::crypto {

class identity {
 public:
  // PKCS#8 PEM (unencrypted). Non-P-521 keys give errc::bad_key, a missing or unreadable file errc::io_error.
  static mk::result<identity> load(const std::filesystem::path& pem);

  // The same from PEM text already in memory.
  static mk::result<identity> from_pem(std::string_view pem_text);

  static identity generate(Botan::RandomNumberGenerator& rng);

  // PKCS8::PEM_encode; PROTOCOL §3 FIX: mode 0600; atomic (temp file in the same folder, then rename).
  mk::result<void> save(const std::filesystem::path& pem) const;

  // Load `pem` if it exists, otherwise generate and save a new key (first start, §3). A file that exists but
  // cannot be read as a P-521 key is an error, never silently replaced (that would change the user's identity).
  static mk::result<identity> load_or_create(const std::filesystem::path& pem, Botan::RandomNumberGenerator& rng);

  const crypto::public_key& public_key() const;

  // ECDSA SHA-384, DER SEQUENCE{r,s}, base64 (PROTOCOL §2). `rng` must be safe for concurrent use if sign()
  // is called concurrently (Botan's AutoSeeded_RNG and System_RNG are).
  std::string sign(std::string_view text, Botan::RandomNumberGenerator& rng) const;

  // The PKCS#8 PEM text (unencrypted), as save() writes it.
  std::string pem() const;

 private:
  struct state;
  explicit identity(std::shared_ptr<const state> s) : state_(std::move(s)) {}
  std::shared_ptr<const state> state_;
};

}  // namespace mk::crypto
