#pragma once
// Tab completion of the input line (issue 16): command words, connected user names where a command takes a user,
// and file paths for `file send`. Pure apart from the directory lister it is given, so it is unit-tested.

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mk::cli {

struct dir_entry {
  std::string name;
  bool directory = false;
};
// The entries of a directory ("" = the current one); empty if it cannot be read.
using dir_lister = std::function<std::vector<dir_entry>(const std::string& dir)>;
std::vector<dir_entry> list_directory(const std::string& dir);  // the real file system

struct completion {
  std::string insert;                   // bytes to insert at the cursor ("" = nothing certain)
  std::vector<std::string> candidates;  // what could follow, when more than one does
};

// `before_cursor`: the input line up to the cursor.
completion complete(std::string_view before_cursor, const std::vector<std::string>& users, const dir_lister& list);

// The connected users, shared between the terminal actor (which follows connect and disconnect events) and the
// input thread (which completes).
class user_names {
 public:
  void add(const std::string& user);
  void remove(const std::string& user);
  void set(std::vector<std::string> users);
  std::vector<std::string> snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> users_;
};

}  // namespace mk::cli
