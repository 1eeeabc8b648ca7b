#pragma once
// PROTOCOL §1.2: standard base64 ('+', '/', '=' padding, no line breaks). Table-driven, with AVX2 loops for the
// bulk where the CPU has them (base64_simd.hpp): it is on the per-chunk hot path (an encrypted FILE chunk is
// base64-coded twice each way, the FILE field and then the CRYPT field), where Botan's is ~8x slower than the
// AES-GCM around it.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mk::wire {

std::string base64_encode(std::span<const std::uint8_t> bytes);
std::string base64_encode(std::string_view bytes);
void base64_encode_append(std::span<const std::uint8_t> bytes, std::string& out);
constexpr std::size_t base64_encoded_size(std::size_t n) { return (n + 2) / 3 * 4; }

// Strict: rejects bad characters, bad or missing padding, non-canonical trailing bits and length % 4 != 0.
// Empty input decodes to empty.
mk::result<std::vector<std::uint8_t>> base64_decode(std::string_view text);

// Same rules; replaces the contents of `out` (reusing its capacity). On failure `out` is unspecified.
bool base64_decode_into(std::string_view text, std::vector<std::uint8_t>& out);

// Decodes into exactly out.size() bytes; false if the text is invalid or decodes to another size.
bool base64_decode_exact(std::string_view text, std::span<std::uint8_t> out);

// The decoded size if `text` had valid shape (length % 4 == 0, padding only at the end); 0 otherwise.
// Cheap: looks only at the length and the last two characters, so use it for length checks before decoding.
std::size_t base64_decoded_size(std::string_view text);

// Full validity check without producing output.
bool base64_valid(std::string_view text);

}  // namespace mk::wire
