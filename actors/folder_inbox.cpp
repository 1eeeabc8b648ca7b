#include "actors/folder_inbox.hpp"

#include <algorithm>
#include <system_error>

#include "core/limits.hpp"
#include "core/transfer/file_name.hpp"
#include "core/transfer/folder_path.hpp"

namespace mk {

namespace fs = std::filesystem;
namespace t = mk::transfer;

namespace {

// True if `dir` (which exists) resolves to `base` or below it: no symlink on the way leads elsewhere.
bool inside(const fs::path& dir, const fs::path& base) {
  std::error_code ec;
  auto real_dir = fs::canonical(dir, ec);
  if (ec)
    return false;
  auto real_base = fs::canonical(base, ec);
  if (ec)
    return false;
  auto [b, d] = std::mismatch(real_base.begin(), real_base.end(), real_dir.begin(), real_dir.end());
  return b == real_base.end();
}

}  // namespace

incoming_folder* folder_inbox::find(const std::string& user, const std::string& id) {
  auto it = folders_.find({user, id});
  return it == folders_.end() ? nullptr : &it->second;
}

mk::result<incoming_folder*> folder_inbox::accept(const std::string& user, const std::string& id,
                                                  const std::string& wire_name, std::uint64_t files,
                                                  std::uint64_t bytes, const fs::path& download_dir) {
  auto clean = t::sanitize_file_name(wire_name);
  if (!clean)
    return make_error(errc::refused, "unusable folder name");
  std::error_code ec;
  fs::create_directories(download_dir, ec);
  auto name = t::unique_file_name(*clean, [&](std::string_view n) { return fs::exists(download_dir / n, ec); });
  if (name.empty())
    return make_error(errc::refused, "no free name for the folder");
  auto root = download_dir / name;
  if (!fs::create_directory(root, ec) || ec)
    return make_error(errc::refused, "cannot create " + root.string() + ": " + ec.message());
  auto* f = resume(user, id, root, files, bytes);
  f->resumed = false;
  f->wire_name = *clean;
  return f;
}

incoming_folder* folder_inbox::resume(const std::string& user, const std::string& id, const fs::path& root,
                                      std::uint64_t files, std::uint64_t bytes) {
  auto& f = folders_[{user, id}];
  f = incoming_folder{user, id, root.filename().string() + "/", root, files, bytes};
  f.started = std::chrono::steady_clock::now();
  f.resumed = true;
  return &f;
}

mk::result<folder_inbox::placement> folder_inbox::admit(incoming_folder& f, const std::string& wire_path,
                                                        std::uint64_t size, const fs::path& download_dir) {
  if (f.files_offered >= f.files)
    return make_error(errc::refused, "more files than the folder offer announced");
  if (size > f.bytes - f.bytes_offered)
    return make_error(errc::refused, "more bytes than the folder offer announced");
  auto parts = t::sanitize_folder_path(wire_path);
  if (!parts)
    return parts.error();
  auto dir = f.root;
  for (std::size_t i = 0; i + 1 < parts->size(); ++i)
    dir /= (*parts)[i];
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return make_error(errc::refused, "cannot create " + dir.string() + ": " + ec.message());
  // A directory that already existed could be a symlink (put there by someone else): follow nothing out.
  if (!inside(dir, download_dir) || !inside(dir, f.root))
    return make_error(errc::refused, "unsafe path in folder: leads outside the download directory");
  ++f.files_offered;
  f.bytes_offered += size;
  return placement{dir, parts->back()};
}

void folder_inbox::file_ended(incoming_folder& f, bool ok, std::uint64_t size) {
  if (ok) {
    ++f.files_done;
    f.bytes_done += size;
  } else {
    ++f.files_failed;
  }
}

}  // namespace mk
