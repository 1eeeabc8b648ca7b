#pragma once
// Partial files of interrupted incoming transfers (issue 15): `<name>.part` in the download directory with its
// record `<name>.part.resume` (mk::transfer::resume_record) beside it. The file receiver writes the record at
// checkpoints; the transfer service finds them to resume, lists them, expires them and removes them on cancel.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/transfer/resume_record.hpp"

namespace mk {

struct partial_file {
  std::filesystem::path part;       // the data
  transfer::resume_record record;
};

std::filesystem::path record_path_of(const std::filesystem::path& part);

// Writes the record: a temporary file renamed over the old one, so a process killed at any moment leaves one
// whole record. `durable` also fsyncs it (the receiver does so when a transfer is interrupted, after syncing the
// data); the frequent checkpoints while data flows do not, since a record that outlived its data in a power cut
// costs only a restart: the prefix it names is checked against the sender's file before the transfer resumes.
bool write_resume_record(const std::filesystem::path& part, const transfer::resume_record& r, bool durable);

// The record beside `part`, if it exists and parses, and the part file is a regular file (not a symlink).
std::optional<partial_file> read_partial(const std::filesystem::path& part);

// Every partial file directly in `dir` whose record parses, at most `limit`.
std::vector<partial_file> scan_partials(const std::filesystem::path& dir, std::size_t limit);

// Removes a partial file and its record.
void remove_partial(const std::filesystem::path& part);

// -- folders (issue 15) -------------------------------------------------------------------------------------------
// A folder being received keeps a record beside its directory, `<dir>.folder.resume` (record.files > 0), from the
// moment it is accepted until every file is saved: an offer of the same folder (same peer, name and totals) goes
// on in the same directory. Its files' partial files are ordinary ones, inside it.

struct partial_folder {
  std::filesystem::path root;       // the folder's directory
  transfer::resume_record record;   // name: the offer's (sanitised) name; size: its bytes; files: its files
};

bool write_folder_record_file(const std::filesystem::path& root, const transfer::resume_record& r, bool durable);

// The record beside `root`, if it parses, names a folder, and `root` is a directory (not a symlink).
std::optional<partial_folder> read_partial_folder(const std::filesystem::path& root);

// Every folder record directly in `dir` whose directory exists, at most `limit`.
std::vector<partial_folder> scan_partial_folders(const std::filesystem::path& dir, std::size_t limit);

// Removes a folder's record and the partial files (with records) inside it; saved files stay.
void remove_partial_folder(const std::filesystem::path& root);

std::int64_t unix_now();

}  // namespace mk
