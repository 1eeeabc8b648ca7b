#pragma once
// Every line the program shows: `<time><tag> <text>` (PROTOCOL §12) with the time in LOCAL time through
// terminal.time_format, or one JSON object per line with --json; optionally appended to a plain-text log (-l).
// Thread-safe: the terminal actor, the startup code and the input thread all print through it.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace mokaccino {
struct event;  // include/mokaccino/types.hpp
}
namespace mk {
using mokaccino::event;
}

namespace mk::cli {

class line_editor;
struct answer;

// A coloured span at the start of a line's text (a peer's name), on a colour terminal only.
struct highlight {
  std::size_t offset = 0;  // in the text's first line
  std::size_t length = 0;  // 0: none
  const char* colour = "";
};

// Without live progress lines (pipes, logs, --json): at most one periodic progress line per transfer this often.
inline constexpr auto progress_line_interval = std::chrono::seconds{3};

enum class tag { message, error, prompt, debug };
const char* tag_text(tag t);  // "[MESSAGE]", ...

// strftime of `time_ms` (ms since the epoch) in local time; "" if the format yields nothing.
std::string format_time(std::string_view format, std::int64_t time_ms);

// How an event reads on the terminal; nullopt for events that print nothing in text mode.
struct event_line {
  tag t;
  std::string text;
};
std::optional<event_line> describe(const event& e);

// The JSON object of an event (--json): type, time, peer, text, id, fields (typed: docs/json.md).
std::string event_json(const event& e);

std::int64_t now_ms();

class output {
 public:
  struct options {
    bool json = false;
    bool colour = false;
    std::string time_format = "[%H:%M:%S] ";
    bool live_progress = false;  // a terminal with an input line: transfers get progress lines updated in place
  };
  explicit output(options o);
  ~output();
  output(const output&) = delete;
  output& operator=(const output&) = delete;

  // -l: append every line, as plain text. False (with `error`) if the file cannot be opened.
  bool open_log(const std::filesystem::path& file, std::string& error);
  void set_time_format(std::string format);
  void attach_editor(line_editor* editor);  // interactive mode: print above the input line

  bool json() const { return opts_.json; }
  void print(tag t, std::string_view text);  // now; multi-line text prints one line each
  void print_event(const event& e);
  void print_answer(const answer& a);  // a command's answer: its text, or its typed object with --json
  // A chat line `<name> << text` we sent: the whole line in our own colour.
  void print_own_message(const std::string& to, std::string_view text);

 private:
  void emit(tag t, std::string_view text, std::int64_t time_ms, const std::string* json, highlight h = {});
  // Periodic progress events: to the live line, or thinned out to one per transfer per progress_line_interval.
  // True if the event was handled (shown live or dropped), false if it prints as usual.
  bool route_progress(const event& e);

  std::mutex mutex_;
  options opts_;
  std::FILE* log_ = nullptr;
  line_editor* editor_ = nullptr;
  std::mutex progress_mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_progress_line_;
};

}  // namespace mk::cli
