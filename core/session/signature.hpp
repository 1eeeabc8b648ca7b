#pragma once
// PROTOCOL §2: a signed line verifies over its raw received bytes, the last token being the signature.

#include <string_view>

#include "core/crypto/public_key.hpp"
#include "core/wire/signed_line.hpp"

namespace mk::session {

inline bool verify_signed(const crypto::public_key& key, std::string_view raw) {
  auto parts = wire::split_signed(raw);
  return parts && key.verify(parts->text, parts->signature);
}

}  // namespace mk::session
