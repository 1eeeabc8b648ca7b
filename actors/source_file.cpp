#include "actors/source_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/limits.hpp"

namespace mk {

source_file::~source_file() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::optional<std::string> source_file::open(const std::filesystem::path& path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0)
    return "Cannot open " + path.string() + ": " + std::strerror(errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode))
    return path.string() + " is not a regular file";
  size_ = static_cast<std::uint64_t>(st.st_size);
  identity_ = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  name_ = path.filename().string();
  if (name_.empty() || name_.find('\n') != std::string::npos || name_.find('\0') != std::string::npos)
    return "Cannot send a file named \"" + name_ + "\"";
  block_.resize(limits::transfer_io_block);
  return std::nullopt;
}

int source_file::dup() const { return ::dup(fd_); }

// Blocks start where a chunk starts: with chunks that do not divide the block size, a block may begin inside the
// bytes already hashed (the chunk that straddled the previous block's end). Never past them: a gap would leave
// bytes unhashed (false).
bool source_file::hash_block(std::uint64_t offset, std::span<const std::uint8_t> bytes, std::string& digest) {
  if (hashed_ == size_)
    return true;
  if (offset > hashed_ || offset + bytes.size() <= hashed_)
    return offset + bytes.size() <= hashed_;
  auto skip = static_cast<std::size_t>(hashed_ - offset);
  hasher_.update(bytes.subspan(skip));
  hashed_ += bytes.size() - skip;
  if (hashed_ == size_)
    digest = hasher_.final_base64();
  return true;
}

std::optional<std::span<const std::uint8_t>> source_file::read_chunk(std::uint64_t offset, std::size_t length,
                                                                     bool retransmission,
                                                                     std::string* content_digest) {
  if (offset >= block_off_ && offset + length <= block_off_ + block_len_)
    return std::span<const std::uint8_t>{block_.data() + (offset - block_off_), length};
  std::uint8_t* dst = one_.data();
  std::size_t want = length;
  if (!retransmission) {  // new data: refill the read-ahead block from here
    want = static_cast<std::size_t>(std::min<std::uint64_t>(block_.size(), size_ - offset));
    dst = block_.data();
  } else if (one_.size() < length) {
    one_.resize(length);
  }
  std::size_t got = 0;
  while (got < want) {
    auto n = ::pread(fd_, dst + got, want - got, static_cast<off_t>(offset + got));
    if (n <= 0)
      return std::nullopt;
    got += static_cast<std::size_t>(n);
  }
  if (!retransmission) {
    block_off_ = offset;
    block_len_ = want;
    if (content_digest && !hash_block(block_off_, {block_.data(), block_len_}, *content_digest)) {
      errno = EIO;
      return std::nullopt;
    }
  }
  return std::span<const std::uint8_t>{dst, length};
}

}  // namespace mk
