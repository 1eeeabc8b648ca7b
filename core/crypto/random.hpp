#pragma once
// PROTOCOL §2: handshake nonces.

#include <string>

#include <botan/rng.h>

namespace mk::crypto {

// 36 random bytes -> 48 base64 characters. Compared as exact strings by the receiver.
std::string make_nonce(Botan::RandomNumberGenerator& rng);

}  // namespace mk::crypto
