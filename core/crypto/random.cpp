#include "core/crypto/random.hpp"

#include <array>
#include <cstdint>

#include "core/limits.hpp"
#include "core/wire/base64.hpp"

namespace mk::crypto {

std::string make_nonce(Botan::RandomNumberGenerator& rng) {
  std::array<std::uint8_t, limits::nonce_bytes> bytes;
  rng.randomize(bytes.data(), bytes.size());
  return wire::base64_encode(bytes);  // §2: 36 bytes -> 48 chars, no padding
}

std::string make_transfer_id(Botan::RandomNumberGenerator& rng) {
  std::array<std::uint8_t, limits::hash_bytes> bytes;
  rng.randomize(bytes.data(), bytes.size());
  return wire::base64_encode(bytes);
}

}  // namespace mk::crypto
