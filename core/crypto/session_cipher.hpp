#pragma once
// PROTOCOL §11 `C ct iv tag`: AES-256-GCM with an 8-byte IV, a 16-byte tag and no AAD; one key both ways.
// Holds one Botan AEAD object per direction, keyed once, so a message costs no allocation beyond its output.
// One per peer; not thread-safe. A moved-from cipher may only be assigned to or destroyed.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/ephemeral_key.hpp"
#include "core/result.hpp"

namespace Botan {
class AEAD_Mode;
}

namespace mk::crypto {

class session_cipher {
 public:
  explicit session_cipher(const session_key& key);
  ~session_cipher();
  session_cipher(session_cipher&&) noexcept;
  session_cipher& operator=(session_cipher&&) noexcept;
  session_cipher(const session_cipher&) = delete;
  session_cipher& operator=(const session_cipher&) = delete;

  // Encrypts `plaintext` under `iv`; ciphertext_out gets exactly plaintext.size() bytes (its capacity is reused).
  // The caller draws the IV at random per message (§11).
  void seal(std::string_view plaintext, std::span<const std::uint8_t, 8> iv, std::vector<std::uint8_t>& ciphertext_out,
            std::array<std::uint8_t, 16>& tag_out);

  // errc::malformed unless iv is 8 bytes and tag 16 (§11); errc::auth_failed when the tag does not verify
  // (§11 FIX: the original ignores it). Nothing of an unauthenticated plaintext is returned.
  mk::result<std::string> open(std::span<const std::uint8_t> ciphertext, std::span<const std::uint8_t> iv,
                               std::span<const std::uint8_t> tag);

  // As open(), but writes into `plaintext_out` (capacity reused); on any failure the output is cleared.
  mk::result<void> open_into(std::span<const std::uint8_t> ciphertext, std::span<const std::uint8_t> iv,
                             std::span<const std::uint8_t> tag, std::string& plaintext_out);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace mk::crypto
