#include "core/crypto/session_cipher.hpp"

#include <algorithm>
#include <exception>

#include <botan/aead.h>

#include "core/limits.hpp"

namespace mk::crypto {

// Each direction keeps its AEAD object keyed once; start(iv) per message. GCM works in place on whole
// "update granularity" blocks, so the bulk of a message is processed directly in the output buffer and only
// the tail (< one granule) plus the tag go through a small reused scratch buffer: finish() insists on a
// secure_vector, and copying only the tail keeps a message free of allocations beyond its output.
struct session_cipher::impl {
  std::unique_ptr<Botan::AEAD_Mode> enc;
  std::unique_ptr<Botan::AEAD_Mode> dec;
  std::size_t granule = 0;
  Botan::secure_vector<std::uint8_t> scratch;

  explicit impl(const session_key& key)
      : enc(Botan::AEAD_Mode::create_or_throw("AES-256/GCM", Botan::ENCRYPTION)),
        dec(Botan::AEAD_Mode::create_or_throw("AES-256/GCM", Botan::DECRYPTION)) {
    enc->set_key(key.data(), key.size());
    dec->set_key(key.data(), key.size());
    granule = std::max(enc->update_granularity(), dec->update_granularity());
    scratch.reserve(2 * granule + 2 * limits::gcm_tag_bytes);
  }
};

session_cipher::session_cipher(const session_key& key) : impl_(std::make_unique<impl>(key)) {}
session_cipher::~session_cipher() = default;
session_cipher::session_cipher(session_cipher&&) noexcept = default;
session_cipher& session_cipher::operator=(session_cipher&&) noexcept = default;

void session_cipher::seal(std::string_view plaintext, std::span<const std::uint8_t, 8> iv,
                          std::vector<std::uint8_t>& ciphertext_out, std::array<std::uint8_t, 16>& tag_out) {
  static_assert(limits::gcm_iv_bytes == 8 && limits::gcm_tag_bytes == 16, "PROTOCOL §11 sizes");
  auto& m = *impl_;
  const std::size_t n = plaintext.size();
  ciphertext_out.resize(n);
  std::copy(plaintext.begin(), plaintext.end(), ciphertext_out.begin());
  const std::size_t bulk = n - n % m.granule;
  m.enc->start(iv.data(), iv.size());
  if (bulk != 0)
    m.enc->process(ciphertext_out.data(), bulk);
  m.scratch.assign(ciphertext_out.begin() + static_cast<std::ptrdiff_t>(bulk), ciphertext_out.end());
  m.enc->finish(m.scratch);  // appends the 16-byte tag
  const std::size_t tail = n - bulk;
  std::copy(m.scratch.begin(), m.scratch.begin() + static_cast<std::ptrdiff_t>(tail),
            ciphertext_out.begin() + static_cast<std::ptrdiff_t>(bulk));
  std::copy(m.scratch.begin() + static_cast<std::ptrdiff_t>(tail), m.scratch.end(), tag_out.begin());
}

mk::result<void> session_cipher::open_into(std::span<const std::uint8_t> ciphertext, std::span<const std::uint8_t> iv,
                                           std::span<const std::uint8_t> tag, std::string& plaintext_out) {
  plaintext_out.clear();
  // PROTOCOL §11: decrypt only with an 8-byte IV and a 16-byte tag.
  if (iv.size() != limits::gcm_iv_bytes || tag.size() != limits::gcm_tag_bytes)
    return make_error(errc::malformed, "C needs an 8-byte IV and a 16-byte tag");
  auto& m = *impl_;
  const std::size_t n = ciphertext.size();
  const std::size_t bulk = n - n % m.granule;
  plaintext_out.assign(reinterpret_cast<const char*>(ciphertext.data()), n);
  auto* out = reinterpret_cast<std::uint8_t*>(plaintext_out.data());
  try {
    m.dec->start(iv.data(), iv.size());
    if (bulk != 0)
      m.dec->process(out, bulk);
    m.scratch.assign(ciphertext.begin() + static_cast<std::ptrdiff_t>(bulk), ciphertext.end());
    m.scratch.insert(m.scratch.end(), tag.begin(), tag.end());
    m.dec->finish(m.scratch);  // verifies the tag, leaves the tail's plaintext
  } catch (const std::exception&) {
    // Botan::Invalid_Authentication_Tag. §11 FIX: the original ignored it; nothing unauthenticated escapes.
    plaintext_out.clear();
    return make_error(errc::auth_failed, "AES-GCM tag does not verify");
  }
  std::copy(m.scratch.begin(), m.scratch.end(), out + bulk);
  return {};
}

mk::result<std::string> session_cipher::open(std::span<const std::uint8_t> ciphertext, std::span<const std::uint8_t> iv,
                                             std::span<const std::uint8_t> tag) {
  std::string plaintext;
  if (auto r = open_into(ciphertext, iv, tag, plaintext); !r)
    return r.error();
  return plaintext;
}

}  // namespace mk::crypto
