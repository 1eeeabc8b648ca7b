#pragma once
// The folders this node is receiving (issue 15): which offers were accepted, the directory each one goes to, and
// what is left of the totals its sender announced — a FOLDERFILE beyond them, or with a path that would leave
// the folder, is refused. Plain bookkeeping with file system calls; the transfer service owns one and does the
// messaging (prompt, FOLDERACCEPT, events).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
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
  std::set<std::string> refused{};  // FOLDERFILE ids refused (a repeat is refused again, not counted twice)
  std::chrono::steady_clock::time_point last_report{};
  // Resume (issue 15): the sender speaks resume1, so the folder keeps a record beside its directory and its files
  // keep their partial files when interrupted; `resumed`: this offer continues such a folder (its directory
  // already holds files of an earlier attempt).
  bool resumable = false;
  bool resumed = false;
  std::string wire_name{};  // the offer's name, sanitised (the record's name)
  bool finished() const { return files_done + files_failed >= files; }
};

class folder_inbox {
 public:
  // Folders one peer may have open here (asked about or arriving): each takes a directory, so a peer cannot make
  // thousands of them.
  static constexpr std::size_t max_per_peer = 16;

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
  // The same folder offered again (same peer, name and totals) after an interruption: it goes on in `root`.
  incoming_folder* resume(const std::string& user, const std::string& id, const std::filesystem::path& root,
                          std::uint64_t files, std::uint64_t bytes);

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
