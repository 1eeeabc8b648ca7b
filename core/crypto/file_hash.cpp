#include "core/crypto/file_hash.hpp"

#include <array>
#include <exception>
#include <fstream>
#include <vector>

#include <botan/hash.h>

#include "core/limits.hpp"
#include "core/wire/base64.hpp"

namespace mk::crypto {

sha384_stream::sha384_stream() : hash_(Botan::HashFunction::create_or_throw("SHA-384")) {}
sha384_stream::~sha384_stream() = default;
sha384_stream::sha384_stream(sha384_stream&&) noexcept = default;
sha384_stream& sha384_stream::operator=(sha384_stream&&) noexcept = default;

void sha384_stream::update(std::span<const std::uint8_t> bytes) { hash_->update(bytes.data(), bytes.size()); }

std::string sha384_stream::final_base64() {
  std::array<std::uint8_t, limits::hash_bytes> digest;
  hash_->final(digest.data());  // also resets the hash for reuse
  return wire::base64_encode(digest);
}

std::string sha384_stream::peek_base64() const {
  auto copy = hash_->copy_state();
  std::array<std::uint8_t, limits::hash_bytes> digest;
  copy->final(digest.data());
  return wire::base64_encode(digest);
}

mk::result<std::string> hash_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  if (!in.is_open())
    return make_error(errc::io_error, "cannot open " + p.string());
  try {
    sha384_stream sha;
    std::vector<std::uint8_t> chunk(limits::hash_read_chunk);
    while (in) {
      in.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(chunk.size()));
      sha.update(std::span{chunk.data(), static_cast<std::size_t>(in.gcount())});
    }
    if (in.bad())
      return make_error(errc::io_error, "cannot read " + p.string());
    return sha.final_base64();
  } catch (const std::exception& e) {
    return make_error(errc::io_error, "hashing " + p.string() + " failed: " + e.what());
  }
}

}  // namespace mk::crypto
