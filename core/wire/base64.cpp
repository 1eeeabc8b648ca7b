#include "core/wire/base64.hpp"

#include <array>
#include <cstring>

#include "core/wire/base64_simd.hpp"

namespace mk::wire {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Encoding: one lookup per 12 input bits gives two output characters.
constexpr auto make_enc12() {
  std::array<std::array<char, 2>, 4096> t{};
  for (std::size_t i = 0; i < 4096; ++i)
    t[i] = {alphabet[i >> 6], alphabet[i & 63]};
  return t;
}
constexpr auto enc12 = make_enc12();

// Decoding: one table per position in the quad, values pre-shifted into place; `bad` marks an invalid
// character, so a whole quad is checked with a single OR and test.
constexpr std::uint32_t bad = 1u << 24;
constexpr auto make_dec(unsigned shift) {
  std::array<std::uint32_t, 256> t{};
  for (auto& v : t)
    v = bad;
  for (std::uint32_t i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(alphabet[i])] = i << shift;
  return t;
}
constexpr auto dec0 = make_dec(18);
constexpr auto dec1 = make_dec(12);
constexpr auto dec2 = make_dec(6);
constexpr auto dec3 = make_dec(0);

inline std::uint8_t uc(char c) { return static_cast<std::uint8_t>(c); }

void encode_to(const std::uint8_t* in, std::size_t n, char* out) {
  std::size_t i = 0;
  if (simd::have_avx2()) {
    i = simd::encode_blocks(in, n, out);
    out += i / 3 * 4;
  }
  for (; i + 3 <= n; i += 3, out += 4) {
    std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    std::memcpy(out, enc12[v >> 12].data(), 2);
    std::memcpy(out + 2, enc12[v & 0xfff].data(), 2);
  }
  std::size_t rest = n - i;
  if (rest == 1) {
    std::uint32_t v = std::uint32_t{in[i]} << 16;
    out[0] = alphabet[v >> 18];
    out[1] = alphabet[(v >> 12) & 63];
    out[2] = '=';
    out[3] = '=';
  } else if (rest == 2) {
    std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out[0] = alphabet[v >> 18];
    out[1] = alphabet[(v >> 12) & 63];
    out[2] = alphabet[(v >> 6) & 63];
    out[3] = '=';
  }
}

// Decodes `text` (already known to have a valid shape, size = base64_decoded_size) into out.
// Returns false on an invalid character or non-canonical trailing bits.
bool decode_to(std::string_view text, std::uint8_t* out) {
  const char* p = text.data();
  std::size_t quads = text.size() / 4;
  if (quads == 0)
    return true;
  std::size_t pad = (text[text.size() - 1] == '=') + (text[text.size() - 2] == '=');
  std::size_t full = pad ? quads - 1 : quads;
  std::uint32_t acc_bad = 0;
  std::size_t q = 0;
  if (simd::have_avx2()) {
    const std::size_t chars = simd::decode_blocks(p, full * 4, out);
    if (chars == SIZE_MAX)
      return false;
    q = chars / 4;
    p += chars;
    out += q * 3;
  }
  for (; q < full; ++q, p += 4, out += 3) {
    std::uint32_t v = dec0[uc(p[0])] | dec1[uc(p[1])] | dec2[uc(p[2])] | dec3[uc(p[3])];
    acc_bad |= v;
    out[0] = static_cast<std::uint8_t>(v >> 16);
    out[1] = static_cast<std::uint8_t>(v >> 8);
    out[2] = static_cast<std::uint8_t>(v);
  }
  if (acc_bad & bad)
    return false;
  if (pad == 0)
    return true;
  // The last quad: "xx==" carries 8 bits, "xxx=" 16; the unused low bits must be zero (canonical form).
  std::uint32_t v = dec0[uc(p[0])] | dec1[uc(p[1])];
  if (pad == 1)
    v |= dec2[uc(p[2])];
  if (v & bad)
    return false;
  if (pad == 2) {
    if (v & 0xffff)
      return false;
    out[0] = static_cast<std::uint8_t>(v >> 16);
  } else {
    if (v & 0xff)
      return false;
    out[0] = static_cast<std::uint8_t>(v >> 16);
    out[1] = static_cast<std::uint8_t>(v >> 8);
  }
  return true;
}

}  // namespace

void base64_encode_append(std::span<const std::uint8_t> bytes, std::string& out) {
  std::size_t old = out.size();
  out.resize(old + base64_encoded_size(bytes.size()));
  encode_to(bytes.data(), bytes.size(), out.data() + old);
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  base64_encode_append(bytes, out);
  return out;
}

std::string base64_encode(std::string_view bytes) {
  return base64_encode(std::span{reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

std::size_t base64_decoded_size(std::string_view text) {
  std::size_t n = text.size();
  if (n == 0 || n % 4 != 0)
    return 0;
  bool p1 = text[n - 1] == '=';
  bool p2 = text[n - 2] == '=';
  if (p2 && !p1)
    return 0;  // "x=x" style: padding in the middle
  return n / 4 * 3 - p1 - p2;
}

bool base64_decode_into(std::string_view text, std::vector<std::uint8_t>& out) {
  if (text.empty()) {
    out.clear();
    return true;
  }
  std::size_t size = base64_decoded_size(text);
  if (size == 0)
    return false;
  out.resize(size);
  return decode_to(text, out.data());
}

bool base64_decode_exact(std::string_view text, std::span<std::uint8_t> out) {
  if (text.empty())
    return out.empty();
  std::size_t size = base64_decoded_size(text);
  if (size == 0 || size != out.size())
    return false;
  return decode_to(text, out.data());
}

mk::result<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  std::vector<std::uint8_t> out;
  if (!base64_decode_into(text, out))
    return make_error(errc::bad_base64, "invalid base64");
  return out;
}

bool base64_valid(std::string_view text) {
  if (text.empty())
    return true;
  std::size_t size = base64_decoded_size(text);
  if (size == 0)
    return false;
  // Validate without writing: check every character of the full quads, then the tail rules.
  std::uint32_t acc = 0;
  std::size_t n = text.size();
  std::size_t pad = (text[n - 1] == '=') + (text[n - 2] == '=');
  for (std::size_t i = 0; i < n - pad; ++i)
    acc |= dec3[uc(text[i])];
  if (acc & bad)
    return false;
  if (pad == 2)
    return (dec3[uc(text[n - 3])] & 0xf) == 0;
  if (pad == 1)
    return (dec3[uc(text[n - 2])] & 0x3) == 0;
  return true;
}

}  // namespace mk::wire
