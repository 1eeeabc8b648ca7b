#pragma once
// Every line the program shows: `<time><tag> <text>` (PROTOCOL §12) with the time in LOCAL time through
// terminal.time_format, or one JSON object per line with --json; optionally appended to a plain-text log (-l).
// Thread-safe: the terminal actor, the startup code and the input thread all print through it.

#include <cstdint>
#include <cstdio>
#include <filesystem>
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

// The JSON object of an event (--json): type, time, peer, text, id, fields.
std::string event_json(const event& e);

std::int64_t now_ms();

class output {
 public:
  struct options {
    bool json = false;
    bool colour = false;
    std::string time_format = "[%H:%M:%S] ";
  };
  explicit output(options o);
  ~output();
  output(const output&) = delete;
  output& operator=(const output&) = delete;

  // -l: append every line, as plain text. False (with `error`) if the file cannot be opened.
  bool open_log(const std::filesystem::path& file, std::string& error);
  void set_time_format(std::string format);
  void attach_editor(line_editor* editor);  // interactive mode: print above the input line

  void print(tag t, std::string_view text);  // now; multi-line text prints one line each
  void print_event(const event& e);

 private:
  void emit(tag t, std::string_view text, std::int64_t time_ms, const std::string* json);

  std::mutex mutex_;
  options opts_;
  std::FILE* log_ = nullptr;
  line_editor* editor_ = nullptr;
};

}  // namespace mk::cli
