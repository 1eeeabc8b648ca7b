#include "core/wire/base64_simd.hpp"

#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define MK_BASE64_AVX2 1
#endif

namespace mk::wire::simd {

#ifdef MK_BASE64_AVX2

bool have_avx2() noexcept {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}

// Per 3 input bytes s0 s1 s2 the four 6-bit fields are f0 = s0>>2, f1 = (s0&3)<<4 | s1>>4, f2 = (s1&15)<<2 | s2>>6,
// f3 = s2&63. With the bytes arranged as s1 s0 s2 s1 in a 32-bit lane, each field sits in a fixed bit range, and
// two 16-bit multiplies move all four into the low 6 bits of their own byte.
__attribute__((target("avx2"))) std::size_t encode_blocks(const std::uint8_t* in, std::size_t n,
                                                          char* out) noexcept {
  const __m256i arrange = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,  //
                                           1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
  // Field value -> ASCII offset, by class: 0 = a-z, 1..10 = 0-9, 11 = '+', 12 = '/', 13 = A-Z.
  const __m256i offsets = _mm256_setr_epi8(71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0,  //
                                           71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0);
  std::size_t done = 0;
  for (; done + 28 <= n; done += 24, out += 32) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + done));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + done + 12));
    const __m256i w = _mm256_shuffle_epi8(_mm256_set_m128i(hi, lo), arrange);
    const __m256i f02 = _mm256_mulhi_epu16(_mm256_and_si256(w, _mm256_set1_epi32(0x0fc0fc00)),
                                           _mm256_set1_epi32(0x04000040));
    const __m256i f13 = _mm256_mullo_epi16(_mm256_and_si256(w, _mm256_set1_epi32(0x003f03f0)),
                                           _mm256_set1_epi32(0x01000010));
    const __m256i f = _mm256_or_si256(f02, f13);
    __m256i cls = _mm256_subs_epu8(f, _mm256_set1_epi8(51));
    cls = _mm256_or_si256(cls, _mm256_and_si256(_mm256_cmpgt_epi8(_mm256_set1_epi8(26), f), _mm256_set1_epi8(13)));
    const __m256i ascii = _mm256_add_epi8(f, _mm256_shuffle_epi8(offsets, cls));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), ascii);
  }
  return done;
}

namespace {

__attribute__((target("avx2"))) inline __m256i in_range(__m256i c, char first, char last) {
  return _mm256_and_si256(_mm256_cmpgt_epi8(c, _mm256_set1_epi8(static_cast<char>(first - 1))),
                          _mm256_cmpgt_epi8(_mm256_set1_epi8(static_cast<char>(last + 1)), c));
}

}  // namespace

// Classify every character by range (bytes >= 0x80 compare as negative and match no range), turn it into its
// 6-bit value, then pack four values into three bytes with two multiply-adds and a shuffle.
__attribute__((target("avx2"))) std::size_t decode_blocks(const char* text, std::size_t n,
                                                          std::uint8_t* out) noexcept {
  const __m256i pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,  //
                                        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  const __m256i gather = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
  std::size_t done = 0;
  for (; done + 32 <= n; done += 32, out += 24) {
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(text + done));
    const __m256i upper = in_range(c, 'A', 'Z');
    const __m256i lower = in_range(c, 'a', 'z');
    const __m256i digit = in_range(c, '0', '9');
    const __m256i plus = _mm256_cmpeq_epi8(c, _mm256_set1_epi8('+'));
    const __m256i slash = _mm256_cmpeq_epi8(c, _mm256_set1_epi8('/'));
    const __m256i valid =
      _mm256_or_si256(_mm256_or_si256(upper, lower), _mm256_or_si256(digit, _mm256_or_si256(plus, slash)));
    if (_mm256_movemask_epi8(valid) != -1)
      return SIZE_MAX;
    __m256i offset = _mm256_and_si256(upper, _mm256_set1_epi8(-65));
    offset = _mm256_or_si256(offset, _mm256_and_si256(lower, _mm256_set1_epi8(-71)));
    offset = _mm256_or_si256(offset, _mm256_and_si256(digit, _mm256_set1_epi8(4)));
    offset = _mm256_or_si256(offset, _mm256_and_si256(plus, _mm256_set1_epi8(19)));
    offset = _mm256_or_si256(offset, _mm256_and_si256(slash, _mm256_set1_epi8(16)));
    const __m256i v = _mm256_add_epi8(c, offset);
    // a b c d (6 bits each) -> (a<<6|b), (c<<6|d) -> a<<18 | b<<12 | c<<6 | d, little-endian in each 32-bit lane
    const __m256i pairs = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
    const __m256i words = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x00011000));
    const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(words, pack), gather);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(bytes));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + 16), _mm256_extracti128_si256(bytes, 1));
  }
  return done;
}

#else

bool have_avx2() noexcept { return false; }
std::size_t encode_blocks(const std::uint8_t*, std::size_t, char*) noexcept { return 0; }
std::size_t decode_blocks(const char*, std::size_t, std::uint8_t*) noexcept { return 0; }

#endif

}  // namespace mk::wire::simd
