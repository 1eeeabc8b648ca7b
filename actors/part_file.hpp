#pragma once
// The file a receiver writes (issue 14: the disk half of the file receiver): `<name>.part` created without
// replacing anything, chunks coalesced into limits::transfer_io_block pwrites, the SHA-384 of the contiguous
// beginning (data is hashed once, in file order, as it becomes contiguous: from memory when it arrives in order,
// read back from disk after a hole is filled), and the final name, linked so that no existing file is replaced.
// Errors are returned as text for the receiver's event.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/crypto/file_hash.hpp"
#include "core/result.hpp"

namespace mk {

class part_file {
 public:
  part_file() = default;
  part_file(const part_file&) = delete;
  part_file& operator=(const part_file&) = delete;
  ~part_file() { close(); }

  // Creates `<name>.part` (or `<name> (1).part`, ...) in `dir`, which is made if missing.
  std::optional<std::string> create(const std::filesystem::path& dir, const std::string& name);
  // Opens a file left by an earlier attempt: a partial file to go on writing, or (read-only) a saved one to check.
  // Symlinks are not followed.
  std::optional<std::string> open_existing(const std::filesystem::path& path, bool writable);

  bool is_open() const { return fd_ >= 0; }
  const std::filesystem::path& path() const { return path_; }
  std::uint64_t size_on_disk() const;

  // Buffered: the data reaches the file at the latest with flush(). Data written at the hashed end is hashed now.
  bool write(std::uint64_t offset, std::span<const std::uint8_t> data);
  bool flush();
  bool sync();      // flush, then fdatasync
  bool truncate();  // empty the file and start the hash over

  // Hashes [hashed(), upto) from disk (the data became contiguous, or a resumed prefix is checked).
  bool hash_upto(std::uint64_t upto);
  std::uint64_t hashed() const { return hashed_; }
  std::string prefix_digest() const { return hasher_.peek_base64(); }
  std::string final_digest() { return hasher_.final_base64(); }

  // Gives the file a free name in `dir` (`name`, `name (1)`, ...: link() never replaces a file) and removes its
  // `.part` name. Closes it.
  mk::result<std::filesystem::path> link_final(const std::filesystem::path& dir, const std::string& name);

  void close();
  // Closes it and forgets everything (path, buffer, hash): ready for create().
  void reset();

 private:
  int fd_ = -1;
  std::filesystem::path path_;
  std::vector<std::uint8_t> wbuf_;
  std::uint64_t wbuf_off_ = 0;
  std::size_t wbuf_len_ = 0;
  crypto::sha384_stream hasher_;
  std::uint64_t hashed_ = 0;
};

}  // namespace mk
