#include "actors/partial_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace mk {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view record_suffix = ".resume";
constexpr std::uintmax_t max_record_bytes = 4096;  // a record is a few hundred bytes; anything larger is not one
}  // namespace

fs::path record_path_of(const fs::path& part) { return fs::path{part.string() + std::string{record_suffix}}; }

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

bool write_resume_record(const fs::path& part, const transfer::resume_record& r, bool durable) {
  auto target = record_path_of(part);
  auto tmp = fs::path{target.string() + ".tmp"};
  auto text = transfer::serialize(r);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && (!durable || ::fsync(fd) == 0);
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), target.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::optional<partial_file> read_partial(const fs::path& part) {
  std::error_code ec;
  auto st = fs::symlink_status(part, ec);
  if (ec || !fs::is_regular_file(st))
    return std::nullopt;
  auto rec = record_path_of(part);
  auto rst = fs::symlink_status(rec, ec);
  if (ec || !fs::is_regular_file(rst) || fs::file_size(rec, ec) > max_record_bytes)
    return std::nullopt;
  std::ifstream in{rec, std::ios::binary};
  std::stringstream text;
  text << in.rdbuf();
  auto r = transfer::parse_resume_record(text.str());
  if (!r)
    return std::nullopt;
  return partial_file{part, std::move(*r)};
}

std::vector<partial_file> scan_partials(const fs::path& dir, std::size_t limit) {
  std::vector<partial_file> out;
  std::error_code ec;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end && out.size() < limit; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.size() <= record_suffix.size() || !name.ends_with(record_suffix))
      continue;
    auto part = it->path().parent_path() / name.substr(0, name.size() - record_suffix.size());
    if (auto p = read_partial(part))
      out.push_back(std::move(*p));
  }
  return out;
}

void remove_partial(const fs::path& part) {
  ::unlink(part.c_str());
  ::unlink(record_path_of(part).c_str());
}

}  // namespace mk
