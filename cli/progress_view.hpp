#pragma once
// The live progress line of one transfer in interactive mode (issue 16): name, direction, peer, bar, percent,
// rate and time left, fitted to the terminal's width. Pure, so it is tested without a terminal.

#include <cstdint>
#include <optional>
#include <string>

#include "cli/vocabulary.hpp"

namespace mk::cli {

struct progress_view {
  std::string key;  // hash + direction + peer: one line per transfer
  std::string name, peer, state;
  bool outgoing = false;
  std::uint64_t done = 0, size = 0;
  double rate_bps = 0;
  double eta_s = -1;
};

// A transfer event that reports progress (a periodic line or the start of one); nullopt for any other event.
std::optional<progress_view> progress_of(const event& e);
// True for the periodic progress events, the ones a terminal may replace or thin out.
bool periodic_progress(const event& e);
// A file of a folder offer that is going well: the terminal shows the folder's line instead (its files stay in
// --json and in `file list`). Failures of single files still show.
bool quiet_folder_member(const event& e);

// The transfer the event ends (done, failed, cancelled, refused), as its progress key; nullopt otherwise.
std::optional<std::string> ended_transfer(const event& e);

// At most `columns - 1` code points (never wraps); the bar shrinks first, then the name.
std::string progress_line(const progress_view& p, int columns);

// Number of code points of UTF-8 `s` (the columns it takes; wide characters are counted as one).
std::size_t display_width(std::string_view s);

}  // namespace mk::cli
