#pragma once
// AVX2 inner loops of base64.cpp (internal). Each handles whole blocks and leaves the tail (and the padded last
// quad) to the portable code, which also remains the whole path on a CPU without AVX2. Both paths produce the
// same output and accept exactly the same texts (the tests compare with Botan on every length up to 2000 bytes and
// put all 256 byte values at every position of a text long enough for both paths).

#include <cstddef>
#include <cstdint>

namespace mk::wire::simd {

// Whether this CPU runs the AVX2 loops (checked once).
bool have_avx2() noexcept;

// Encodes whole 24-byte blocks of in[0, n) while 4 more input bytes are readable past the block (the loads are
// 2 x 16 bytes); returns the input bytes consumed (a multiple of 24), having written 4/3 as many characters.
std::size_t encode_blocks(const std::uint8_t* in, std::size_t n, char* out) noexcept;

// Decodes whole 32-character blocks of text[0, n) (no padding in them); returns the characters consumed (a multiple
// of 32) having written 3/4 as many bytes, or SIZE_MAX if a block holds a character outside the alphabet.
std::size_t decode_blocks(const char* text, std::size_t n, std::uint8_t* out) noexcept;

}  // namespace mk::wire::simd
