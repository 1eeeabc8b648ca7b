#include "actors/part_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/limits.hpp"
#include "core/transfer/file_name.hpp"

namespace mk {

namespace fs = std::filesystem;
namespace t = mk::transfer;

namespace {
// unique_file_name() already tries many names; this only covers another process creating the chosen one first.
constexpr int name_races = 8;

std::string errno_text() { return std::strerror(errno); }
}  // namespace

std::optional<std::string> part_file::create(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (int attempt = 0; attempt < name_races; ++attempt) {
    auto free = t::unique_file_name(name + ".part", [&](std::string_view n) { return fs::exists(dir / n, ec); });
    if (free.empty())
      break;
    auto path = dir / free;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ >= 0) {
      path_ = path;
      wbuf_.resize(limits::transfer_io_block);
      return std::nullopt;
    }
    if (errno != EEXIST)
      return "cannot create " + path.string() + ": " + errno_text();
  }
  return "cannot find a free name for " + name + ".part in " + dir.string();
}

std::optional<std::string> part_file::open_existing(const fs::path& path, bool writable) {
  fd_ = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
  if (fd_ < 0)
    return "cannot open " + path.string() + ": " + errno_text();
  path_ = path;
  if (writable)
    wbuf_.resize(limits::transfer_io_block);
  return std::nullopt;
}

std::uint64_t part_file::size_on_disk() const {
  struct stat st {};
  return fd_ >= 0 && ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

bool part_file::flush() {
  std::size_t done = 0;
  while (done < wbuf_len_) {
    auto n = ::pwrite(fd_, wbuf_.data() + done, wbuf_len_ - done, static_cast<off_t>(wbuf_off_ + done));
    if (n < 0)
      return false;
    done += static_cast<std::size_t>(n);
  }
  wbuf_len_ = 0;
  return true;
}

bool part_file::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (wbuf_len_ > 0 && (offset != wbuf_off_ + wbuf_len_ || wbuf_len_ + data.size() > wbuf_.size()))
    if (!flush())
      return false;
  if (wbuf_len_ == 0)
    wbuf_off_ = offset;
  std::memcpy(wbuf_.data() + wbuf_len_, data.data(), data.size());
  wbuf_len_ += data.size();
  if (offset == hashed_) {  // in order: hashed from memory, never read back
    hasher_.update(data);
    hashed_ += data.size();
  }
  return wbuf_len_ < wbuf_.size() || flush();
}

bool part_file::sync() { return flush() && ::fdatasync(fd_) == 0; }

bool part_file::truncate() {
  wbuf_len_ = 0;
  if (::ftruncate(fd_, 0) != 0)
    return false;
  hasher_ = crypto::sha384_stream{};
  hashed_ = 0;
  return true;
}

bool part_file::hash_upto(std::uint64_t upto) {
  if (hashed_ >= upto)
    return true;
  if (!flush())
    return false;
  std::vector<std::uint8_t> buf(limits::transfer_io_block);
  while (hashed_ < upto) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), upto - hashed_));
    auto n = ::pread(fd_, buf.data(), want, static_cast<off_t>(hashed_));
    if (n <= 0)
      return false;
    hasher_.update({buf.data(), static_cast<std::size_t>(n)});
    hashed_ += static_cast<std::uint64_t>(n);
  }
  return true;
}

mk::result<fs::path> part_file::link_final(const fs::path& dir, const std::string& name) {
  if (!flush())
    return make_error(errc::io_error, "cannot write the file: " + errno_text());
  ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  for (int attempt = 0; attempt < name_races; ++attempt) {
    auto free = t::unique_file_name(name, [&](std::string_view n) { return fs::exists(dir / n, ec); });
    if (free.empty())
      break;
    auto target = dir / free;
    if (::link(path_.c_str(), target.c_str()) == 0) {  // link() never replaces an existing file
      ::unlink(path_.c_str());
      path_.clear();
      return target;
    }
    if (errno != EEXIST)
      break;
  }
  return make_error(errc::io_error, "cannot store the file in " + dir.string() + ": " + errno_text());
}

void part_file::reset() {
  close();
  path_.clear();
  wbuf_len_ = 0;
  hasher_ = crypto::sha384_stream{};
  hashed_ = 0;
}

void part_file::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

}  // namespace mk
