#pragma once
// PROTOCOL §10: the FILEINIT id is base64(SHA-384(file)), 64 characters. Streaming, so a file never sits in RAM.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "core/result.hpp"

namespace Botan {
class HashFunction;
}

namespace mk::crypto {

class sha384_stream {
 public:
  sha384_stream();
  ~sha384_stream();
  sha384_stream(sha384_stream&&) noexcept;
  sha384_stream& operator=(sha384_stream&&) noexcept;

  void update(std::span<const std::uint8_t> bytes);
  // The digest of everything fed so far, base64 (64 chars); the stream is then reset for reuse.
  std::string final_base64();
  // The digest of everything fed so far, base64; the stream goes on (a resumed transfer compares a prefix's hash
  // and keeps hashing the rest).
  std::string peek_base64() const;

 private:
  std::unique_ptr<Botan::HashFunction> hash_;
};

// Reads the file in chunks; errc::io_error if it cannot be opened or read.
mk::result<std::string> hash_file(const std::filesystem::path& p);

}  // namespace mk::crypto
