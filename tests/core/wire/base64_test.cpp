#include <doctest/doctest.h>

#include <botan/base64.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "core/wire/base64.hpp"

using namespace mk::wire;

namespace {
std::vector<std::uint8_t> random_bytes(std::mt19937& rng, std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (auto& b : v)
    b = static_cast<std::uint8_t>(rng());
  return v;
}
}  // namespace

TEST_CASE("base64: RFC 4648 vectors") {
  const std::pair<std::string_view, std::string_view> rows[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, b64] : rows) {
    CHECK(base64_encode(plain) == b64);
    auto d = base64_decode(b64);
    REQUIRE(d.ok());
    CHECK(std::string(d->begin(), d->end()) == plain);
    CHECK(base64_decoded_size(b64) == plain.size());
  }
  std::string out = "x";
  base64_encode_append(std::vector<std::uint8_t>{0xfb, 0xff}, out);
  CHECK(out == "x+/8=");
}

TEST_CASE("base64: strict decoding rejects") {
  const std::string_view bad[] = {
      "Zg",       // length % 4
      "Zg=",      // length % 4
      "Zh==",     // non-canonical trailing bits (h = 33, low 4 bits set)
      "Zm9=",     // non-canonical (9 = 61, low 2 bits set)
      "Z===",     // too much padding
      "====",     //
      "Zg==Zg==", // padding in the middle
      "Z=g=",     //
      "Zm9v!A==", // bad character
      "Zm9v\nYg==", "Zm 9v", "Zm9v-_==", "Zm9\0"
  };
  for (auto s : bad) {
    CAPTURE(s);
    auto r = base64_decode(s);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == mk::errc::bad_base64);
    CHECK_FALSE(base64_valid(s));
  }
  CHECK(base64_decode("")->empty());
  CHECK(base64_valid(""));
}

TEST_CASE("base64: matches Botan on random data") {
  std::mt19937 rng{42};
  std::vector<std::uint8_t> out;
  for (std::size_t n = 0; n < 2000; n += 1 + n / 7) {
    for (int rep = 0; rep < 5; ++rep) {
      auto data = random_bytes(rng, n);
      auto ours = base64_encode(data);
      auto theirs = Botan::base64_encode(data.data(), data.size());
      REQUIRE(ours == theirs);
      REQUIRE(base64_valid(ours));
      REQUIRE(base64_decode_into(ours, out));
      REQUIRE(out == data);
      auto botan_dec = Botan::base64_decode(ours);
      REQUIRE(std::vector<std::uint8_t>(botan_dec.begin(), botan_dec.end()) == data);
      REQUIRE(base64_decoded_size(ours) == n);
    }
  }
  std::array<std::uint8_t, 8> iv{};
  CHECK(base64_decode_exact("AQIDBAUGBwg=", iv));
  CHECK(iv[7] == 8);
  CHECK_FALSE(base64_decode_exact("AQIDBAUGBw==", iv));  // 7 bytes
}

TEST_CASE("base64: random corruption is either rejected or canonical") {
  // Any accepted text must be exactly what we would encode: decoding is canonical.
  std::mt19937 rng{7};
  std::vector<std::uint8_t> out;
  const char chars[] = "AZaz09+/=!-_ \x80";
  int rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    auto s = base64_encode(random_bytes(rng, 1 + rng() % 10));
    s[rng() % s.size()] = chars[rng() % (sizeof chars - 1)];
    if (base64_decode_into(s, out)) {
      REQUIRE(base64_valid(s));
      REQUIRE(base64_encode(out) == s);
    } else {
      REQUIRE_FALSE(base64_valid(s));
      ++rejected;
    }
  }
  CHECK(rejected > 1000);
}

TEST_CASE("base64: every byte value at every position of a long text: the alphabet decodes, the rest is rejected") {
  // Long enough for the AVX2 blocks (32 characters) and the portable tail; every one of the 256 byte values at
  // every position, so no range boundary ('@' 'A' 'Z' '[' '`' 'a' 'z' '{' '/' '0' '9' ':' '+' ',' 0x7f 0x80 0xff)
  // can slip through either path.
  std::mt19937 rng{11};
  const auto text = base64_encode(random_bytes(rng, 90));  // 120 characters, no padding
  REQUIRE(text.size() == 120);
  std::vector<std::uint8_t> out;
  const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int accepted = 0;
  for (std::size_t pos = 0; pos < text.size(); ++pos)
    for (int b = 0; b < 256; ++b) {
      auto t = text;
      t[pos] = static_cast<char>(b);
      const bool in_alphabet = alphabet.find(static_cast<char>(b)) != std::string_view::npos;
      REQUIRE_MESSAGE(base64_decode_into(t, out) == in_alphabet, "byte " << b << " at " << pos);
      if (in_alphabet) {
        REQUIRE(base64_encode(out) == t);  // each character's value lands in the right bits
        ++accepted;
      }
    }
  CHECK(accepted == 120 * 64);
}

TEST_CASE("base64: speed (printed, not asserted)") {
  std::mt19937 rng{1};
  auto data = random_bytes(rng, 1024);
  std::string text;
  std::vector<std::uint8_t> out;
  constexpr int reps = 20000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) {
    text.clear();
    base64_encode_append(data, text);
  }
  auto t1 = std::chrono::steady_clock::now();
  bool ok = true;
  for (int i = 0; i < reps; ++i)
    ok &= base64_decode_into(text, out);
  auto t2 = std::chrono::steady_clock::now();
  CHECK(ok);
  CHECK(out == data);
  auto mbps = [](auto d) {
    return 1024.0 * reps / std::chrono::duration<double>(d).count() / 1e6;
  };
  std::printf("base64 1 KiB: encode %.0f MB/s, decode %.0f MB/s (input bytes)\n", mbps(t1 - t0), mbps(t2 - t1));
}
