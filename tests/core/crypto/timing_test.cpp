// Measurements, printed and not asserted (timing depends on the machine and on the build type).

#include <doctest/doctest.h>

#include <chrono>

#include <botan/aead.h>
#include <botan/auto_rng.h>

#include "core/crypto/ephemeral_key.hpp"
#include "core/crypto/identity.hpp"
#include "core/crypto/session_cipher.hpp"

namespace {

template <class F>
double micros_per_call(int n, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i)
    f();
  const std::chrono::duration<double, std::micro> d = std::chrono::steady_clock::now() - t0;
  return d.count() / n;
}

}  // namespace

TEST_CASE("timing: sign verify agree and seal-open of 1 KiB (MESSAGE only)") {
  Botan::AutoSeeded_RNG rng;
  auto id = mk::crypto::identity::generate(rng);
  const std::string text = "CRYPTSTART " + id.public_key().base64();
  std::string sig;
  bool all_ok = true;
  const double sign_us = micros_per_call(20, [&] { sig = id.sign(text, rng); });
  const double verify_us = micros_per_call(20, [&] { all_ok = id.public_key().verify(text, sig) && all_ok; });

  auto a = mk::crypto::ephemeral_key::generate(rng);
  auto b = mk::crypto::ephemeral_key::generate(rng);
  const double keygen_us = micros_per_call(10, [&] { b = mk::crypto::ephemeral_key::generate(rng); });
  mk::crypto::session_key key{};
  const double agree_us = micros_per_call(10, [&] { key = *a.agree(b.public_base64()); });

  mk::crypto::session_cipher cipher{key};
  const std::string chunk(1024, 'x');
  std::array<std::uint8_t, 8> iv{};
  std::vector<std::uint8_t> ct;
  std::array<std::uint8_t, 16> tag{};
  const int n = 20000;
  const double seal_us = micros_per_call(n, [&] {
    ++iv[0];
    cipher.seal(chunk, iv, ct, tag);
  });
  std::string out;
  const double open_us = micros_per_call(n, [&] { all_ok = cipher.open_into(ct, iv, tag, out).ok() && all_ok; });
  CHECK(all_ok);

  // Baseline in the same run: Botan's AEAD used directly, object reused, one secure_vector per message.
  auto raw = Botan::AEAD_Mode::create_or_throw("AES-256/GCM", Botan::ENCRYPTION);
  raw->set_key(key.data(), key.size());
  Botan::secure_vector<std::uint8_t> buf;
  const double raw_us = micros_per_call(n, [&] {
    ++iv[0];
    buf.assign(chunk.begin(), chunk.end());
    raw->start(iv.data(), iv.size());
    raw->finish(buf);
  });

  MESSAGE("P-521 sign: ", sign_us, " us; verify: ", verify_us, " us");
  MESSAGE("ephemeral keygen: ", keygen_us, " us; agree (ECDH + HKDF): ", agree_us, " us");
  MESSAGE("AES-256-GCM 1 KiB seal: ", seal_us, " us (", 1024.0 / seal_us, " MB/s); open: ", open_us, " us (",
          1024.0 / open_us, " MB/s)");
  MESSAGE("Botan AEAD directly, 1 KiB: ", raw_us, " us; seal / direct = ", seal_us / raw_us);
}
