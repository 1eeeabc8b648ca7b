#pragma once
// The folders this node is receiving (issue 15): which offers were accepted, the directory each one goes to, and
// what is left of the totals its sender announced — a FOLDERFILE beyond them, or with a path that would leave
// the folder, is refused. Plain bookkeeping with file system calls; the transfer service owns one and does the
// messaging (prompt, FOLDERACCEPT, events).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include <caf/actor.hpp>

#include "core/result.hpp"

namespace mk {

struct incoming_folder {
  std::string user, id;
  std::string name;                // as shown: "photos/"
  std::filesystem::path root;      // download_dir / unique name
  std::uint64_t files = 0, bytes = 0;            // announced by FOLDEROFFER
  std::uint64_t files_offered = 0, bytes_offered = 0;  // FOLDERFILEs admitted so far
  std::uint64_t files_done = 0, files_failed = 0, bytes_done = 0;
  std::chrono::steady_clock::time_point started{};
  caf::actor session{};
  std::chrono::steady_clock::time_point last_report{};  // the sender's session (a cancel here sends FILESTOP <fid> there)
  bool finished() const { return files_done + files_failed >= files; }
};

class folder_inbox {
 public:
  using key = std::pair<std::string, std::string>;  // (user, folder id)

  incoming_folder* find(const std::string& user, const std::string& id);

  // The user said yes: the folder gets a directory of its own under `download_dir`, named after the offer (its
  // name sanitised; `photos (1)` if `photos` exists: nothing is ever merged into or overwritten).
  mk::result<incoming_folder*> accept(const std::string& user, const std::string& id, const std::string& wire_name,
                                      std::uint64_t files, std::uint64_t bytes,
                                      const std::filesystem::path& download_dir);

  struct placement {
    std::filesystem::path dir;  // created, inside the folder's root
    std::string name;           // the file's name in it (sanitised; the receiver still avoids overwriting)
  };
  // A FOLDERFILE of an accepted folder: where the file goes, or why it is refused (beyond the announced totals, an
  // unsafe path, a directory that resolves outside the download directory through a symlink).
  mk::result<placement> admit(incoming_folder& f, const std::string& wire_path, std::uint64_t size,
                              const std::filesystem::path& download_dir);

  // One of the folder's files ended (`ok`: saved, verified). The folder may now be finished().
  static void file_ended(incoming_folder& f, bool ok, std::uint64_t size);

  void erase(const std::string& user, const std::string& id) { folders_.erase({user, id}); }
  const std::map<key, incoming_folder>& all() const { return folders_; }

 private:
  std::map<key, incoming_folder> folders_;
};

}  // namespace mk
