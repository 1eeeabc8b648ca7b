#pragma once
// The file a sender reads (issue 14: the disk half of the file sender): opened once (a regular file, its
// "device:inode" identity and name checked), new data read ahead in limits::transfer_io_block blocks, one pread per
// block, and a retransmitted chunk read on its own. Lazy hash (FILEOFFER): each new block is hashed as it is read,
// so the file is hashed in order in the same pass that sends it.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/crypto/file_hash.hpp"

namespace mk {

class source_file {
 public:
  source_file() = default;
  source_file(const source_file&) = delete;
  source_file& operator=(const source_file&) = delete;
  ~source_file();

  // Error text if it cannot be opened, is not a regular file, or has a name no peer could store.
  std::optional<std::string> open(const std::filesystem::path& path);

  std::uint64_t size() const { return size_; }
  const std::string& name() const { return name_; }
  const std::string& identity() const { return identity_; }
  // A duplicate of the descriptor (the hash pool reads on its own), -1 on failure.
  int dup() const;

  // The largest chunk a retransmission reads.
  void set_chunk_bytes(std::size_t n) { one_.resize(n); }

  // The bytes of a chunk, valid until the next call. `content_digest`: hash new data in order; once the last byte
  // is hashed it receives the content's SHA-384. nullopt (errno set) if the file cannot be read.
  std::optional<std::span<const std::uint8_t>> read_chunk(std::uint64_t offset, std::size_t length,
                                                          bool retransmission, std::string* content_digest);

  // The SHA-384 of no bytes (a file of size 0 has nothing to read).
  static std::string empty_digest() { return crypto::sha384_stream{}.final_base64(); }

 private:
  bool hash_block(std::uint64_t offset, std::span<const std::uint8_t> bytes, std::string& digest);

  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::string name_, identity_;
  std::vector<std::uint8_t> block_;  // read-ahead of new data
  std::uint64_t block_off_ = 0;
  std::size_t block_len_ = 0;
  std::vector<std::uint8_t> one_;  // a retransmission outside the block (one chunk)
  crypto::sha384_stream hasher_;
  std::uint64_t hashed_ = 0;
};

}  // namespace mk
