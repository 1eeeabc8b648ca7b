#pragma once
// Internal to core/wire: strict validators for message fields (PROTOCOL §14 FIX: parse strictly).
// Each returns an empty optional on success, or the error to report.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/result.hpp"

namespace mk::wire::detail {

using check = std::optional<mk::error>;

// Strict decimal: digits only, no sign, no leading zeros except "0", value <= max.
bool parse_decimal(std::string_view s, std::uint64_t max, std::uint64_t& out);

// Well-formed UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s);

check check_username(std::string_view field, std::string_view s);
check check_nonce(std::string_view field, std::string_view s);      // base64 of exactly limits::nonce_bytes
check check_hash(std::string_view field, std::string_view s);       // base64 of exactly limits::hash_bytes
check check_pubkey(std::string_view field, std::string_view s);     // valid base64, <= limits::max_pubkey_b64
check check_signature(std::string_view field, std::string_view s);  // valid base64, <= limits::max_signature_b64
check check_length(std::string_view field, std::string_view s, std::size_t max);  // 1..max bytes

}  // namespace mk::wire::detail
