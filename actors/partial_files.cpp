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

namespace {

constexpr std::string_view folder_suffix = ".folder";  // the folder's record: <dir>.folder.resume

// A record file that is a regular file (not a symlink) of a record's size and parses.
std::optional<transfer::resume_record> read_record(const fs::path& rec) {
  std::error_code ec;
  auto rst = fs::symlink_status(rec, ec);
  if (ec || !fs::is_regular_file(rst) || fs::file_size(rec, ec) > max_record_bytes)
    return std::nullopt;
  std::ifstream in{rec, std::ios::binary};
  std::stringstream text;
  text << in.rdbuf();
  auto r = transfer::parse_resume_record(text.str());
  if (!r)
    return std::nullopt;
  return std::move(*r);
}

fs::path folder_stem(const fs::path& root) { return fs::path{root.string() + std::string{folder_suffix}}; }

// The paths named by the `*<suffix>.resume` records directly in `dir` (suffix "" for every record).
template <class Read>
auto scan(const fs::path& dir, std::size_t limit, Read read) {
  std::vector<typename decltype(read(fs::path{}))::value_type> out;
  std::error_code ec;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end && out.size() < limit; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.size() <= record_suffix.size() || !name.ends_with(record_suffix))
      continue;
    if (auto p = read(it->path().parent_path() / name.substr(0, name.size() - record_suffix.size())))
      out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace

std::optional<partial_file> read_partial(const fs::path& part) {
  std::error_code ec;
  auto st = fs::symlink_status(part, ec);
  if (ec || !fs::is_regular_file(st))
    return std::nullopt;
  auto r = read_record(record_path_of(part));
  if (!r || r->files != 0)
    return std::nullopt;
  return partial_file{part, std::move(*r)};
}

std::vector<partial_file> scan_partials(const fs::path& dir, std::size_t limit) {
  return scan(dir, limit, [](const fs::path& part) { return read_partial(part); });
}

void remove_partial(const fs::path& part) {
  ::unlink(part.c_str());
  ::unlink(record_path_of(part).c_str());
}

bool write_folder_record_file(const fs::path& root, const transfer::resume_record& r, bool durable) {
  return write_resume_record(folder_stem(root), r, durable);
}

std::optional<partial_folder> read_partial_folder(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(root, ec)) || ec)
    return std::nullopt;
  auto r = read_record(record_path_of(folder_stem(root)));
  if (!r || r->files == 0)
    return std::nullopt;
  return partial_folder{root, std::move(*r)};
}

std::vector<partial_folder> scan_partial_folders(const fs::path& dir, std::size_t limit) {
  return scan(dir, limit, [](const fs::path& stem) -> std::optional<partial_folder> {
    auto s = stem.string();
    if (!s.ends_with(folder_suffix))
      return std::nullopt;
    return read_partial_folder(fs::path{s.substr(0, s.size() - folder_suffix.size())});
  });
}

void remove_partial_folder(const fs::path& root) {
  std::error_code ec;
  std::vector<fs::path> parts;
  // Symlinks are not followed: only what the receiver wrote inside the folder goes.
  for (fs::recursive_directory_iterator it{root, ec}, end; !ec && it != end; it.increment(ec))
    if (auto name = it->path().filename().string(); name.ends_with(".part") && read_partial(it->path()))
      parts.push_back(it->path());
  for (auto& p : parts)
    remove_partial(p);
  ::unlink(record_path_of(folder_stem(root)).c_str());
}

}  // namespace mk
