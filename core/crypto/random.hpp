#pragma once
// PROTOCOL §2: handshake nonces.

#include <string>

#include <botan/rng.h>

namespace mk::crypto {

// 36 random bytes -> 48 base64 characters. Compared as exact strings by the receiver.
std::string make_nonce(Botan::RandomNumberGenerator& rng);

// A transfer id with the shape of a SHA-384 (48 random bytes -> 64 base64 characters): names a FILEOFFER made
// before the content is hashed (MKCAPS `lazyhash`).
std::string make_transfer_id(Botan::RandomNumberGenerator& rng);

}  // namespace mk::crypto
