#include "core/config/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

#include <fmt/format.h>

namespace mk::config {

namespace {

mk::error io_error(const std::filesystem::path& file, std::string_view what, int err) {
  return make_error(errc::io_error,
                    fmt::format("{}: {}: {}", file.string(), what, std::system_category().message(err)));
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

mk::result<std::optional<std::string>> read_text_file(const std::filesystem::path& file) {
  std::error_code ec;
  auto st = std::filesystem::status(file, ec);
  if (st.type() == std::filesystem::file_type::not_found)
    return std::optional<std::string>{};
  if (ec)
    return io_error(file, "cannot stat", ec.value());
  if (std::filesystem::is_directory(st))
    return io_error(file, "cannot read", EISDIR);
  std::ifstream in{file, std::ios::binary};
  if (!in)
    return io_error(file, "cannot open", errno ? errno : EIO);
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (in.bad())
    return io_error(file, "cannot read", errno ? errno : EIO);
  return std::optional<std::string>{std::move(text)};
}

mk::result<void> write_file_atomic(const std::filesystem::path& file, std::string_view content) {
  auto dir = file.parent_path();
  if (dir.empty())
    dir = ".";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return io_error(dir, "cannot create directory", ec.value());

  // The temp file lives in the same directory, so rename() is atomic (same file system).
  // (built with append: g++ 12 -O2 warns falsely (-Wrestrict) on "literal" + std::string&&)
  std::string temp_name{"."};
  temp_name.append(file.filename().string()).append(".tmp-XXXXXX");
  auto tmpl = (dir / temp_name).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0)
    return io_error(file, "cannot create temp file", errno);
  std::filesystem::path tmp{name.data()};
  auto fail = [&](std::string_view what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error(file, what, err);
  };

  struct stat old_st{};
  if (::stat(file.c_str(), &old_st) == 0 && ::fchmod(fd, old_st.st_mode & 07777) != 0)
    return fail("cannot set mode");
  if (!write_all(fd, content))
    return fail("cannot write");
  if (::fsync(fd) != 0)
    return fail("cannot sync");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return io_error(file, "cannot close", err);
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return io_error(file, "cannot rename", err);
  }
  // Make the rename itself durable; a failure here does not undo the (already visible) new content.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace mk::config
