#include "cli/output.hpp"

#include <chrono>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <unistd.h>

#include "cli/answers.hpp"
#include "cli/event_fields.hpp"
#include "cli/json.hpp"
#include "cli/line_editor.hpp"
#include "cli/progress_view.hpp"
#include "cli/vocabulary.hpp"
#include "core/session/display_text.hpp"

namespace mk::cli {

const char* tag_text(tag t) {
  switch (t) {
    case tag::message: return "[MESSAGE]";
    case tag::error: return "[ERROR]";
    case tag::prompt: return "[PROMPT]";
    case tag::debug: return "[DEBUG]";
  }
  return "";
}

namespace {

const char* tag_colour(tag t) {
  switch (t) {
    case tag::message: return "\x1b[32m";
    case tag::error: return "\x1b[1;31m";
    case tag::prompt: return "\x1b[1;33m";
    case tag::debug: return "\x1b[90m";
  }
  return "";
}

// A line of the terminal's own under --json has the shape of the event of the same kind (docs/json.md).
const char* json_type(tag t) {
  switch (t) {
    case tag::message: return "info";
    case tag::error: return "error";
    case tag::prompt: return "prompt";
    case tag::debug: return "debug";
  }
  return "info";
}

constexpr const char* peer_colour = "\x1b[1;36m";  // a peer's name on its messages
constexpr const char* own_colour = "\x1b[34m";     // the lines of our own messages

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n <= 0) {
      if (n < 0 && errno == EINTR)
        continue;
      return;  // stdout closed: nothing to report to
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string format_time(std::string_view format, std::int64_t time_ms) {
  if (format.empty())
    return {};
  std::time_t t = static_cast<std::time_t>(time_ms / 1000);
  std::tm local{};
  if (localtime_r(&t, &local) == nullptr)
    return {};
  std::string fmt{format};
  char buf[256];
  auto n = std::strftime(buf, sizeof buf, fmt.c_str(), &local);
  return std::string(buf, n);
}

std::optional<event_line> describe(const event& e) {
  auto field = [&](const std::string& key) { return mokaccino::field(e, key); };
  switch (e.kind) {
    case event_kind::error: return event_line{tag::error, e.text};
    case event_kind::debug: return event_line{tag::debug, e.text};
    case event_kind::message: return event_line{tag::message, e.peer + " >> " + e.text};  // §8
    case event_kind::message_sent: return std::nullopt;  // the terminal prints `<to> << <text>` itself (§8)
    case event_kind::prompt: return event_line{tag::prompt, e.text};
    case event_kind::prompt_closed: return std::nullopt;
    case event_kind::key_changed:
      return event_line{tag::error, e.text + " (pinned " + field("pinned") + ", presented " + field("presented") + ")"};
    case event_kind::transfer:
    case event_kind::call:
      if (field("error") == "1")  // a transfer that failed reads as an error
        return event_line{tag::error, e.text};
      if (e.text.empty()) {
        std::string s;
        for (auto& [k, v] : e.fields)
          s += (s.empty() ? "" : ", ") + k + ": " + v;
        return event_line{tag::message, s};
      }
      return event_line{tag::message, e.text};
    case event_kind::info:
    case event_kind::connected:
    case event_kind::disconnected:
    case event_kind::encryption: return event_line{tag::message, e.text};
  }
  return event_line{tag::message, e.text};
}

std::string event_json(const event& e) {
  json_object o;
  o.add("type", to_string(e.kind)).add("time", e.time_ms).add("peer", e.peer).add("text", e.text);
  o.add("id", e.id).add_raw("fields", event_fields_json(e));
  return o.str();
}

output::output(options o) : opts_(std::move(o)) {}

output::~output() {
  if (log_ != nullptr)
    std::fclose(log_);
}

bool output::open_log(const std::filesystem::path& file, std::string& error) {
  std::lock_guard lock{mutex_};
  auto* f = std::fopen(file.c_str(), "a");
  if (f == nullptr) {
    error = "cannot open the log file " + file.string() + ": " + std::strerror(errno);
    return false;
  }
  if (log_ != nullptr)
    std::fclose(log_);
  log_ = f;
  return true;
}

void output::set_time_format(std::string format) {
  std::lock_guard lock{mutex_};
  opts_.time_format = std::move(format);
}

void output::attach_editor(line_editor* editor) {
  std::lock_guard lock{mutex_};
  editor_ = editor;
}

void output::print(tag t, std::string_view text) { emit(t, text, now_ms(), nullptr); }

void output::print_answer(const answer& a) {
  if (!opts_.json || a.type == "error")
    return emit(a.t, a.text, now_ms(), nullptr);
  auto time = now_ms();
  auto json = json_object{}.add("type", a.type).add("time", time).str();
  auto body = a.fields.str();  // "{...}": its members follow type and time
  if (body.size() > 2) {
    json.pop_back();
    json += ',';
    json.append(body, 1);
  }
  emit(a.t, a.text, time, &json);
}

void output::print_own_message(const std::string& to, std::string_view text) {
  auto line = to + " << " + std::string{text};
  emit(tag::message, line, now_ms(), nullptr, {0, line.size(), own_colour});
}

bool output::route_progress(const event& e) {
  auto ended = ended_transfer(e);
  bool live = opts_.live_progress && !opts_.json;
  line_editor* editor = nullptr;
  {
    std::lock_guard lock{mutex_};
    editor = editor_;
  }
  if (ended) {
    {
      std::lock_guard lock{progress_mutex_};
      last_progress_line_.erase(*ended);
    }
    if (live && editor != nullptr)
      editor->end_progress(*ended);  // the event's own text is the one-line summary, printed next
    return false;
  }
  if (live && editor != nullptr) {
    if (auto p = progress_of(e)) {
      editor->set_progress(*p);
      return periodic_progress(e);  // "Offering ..." and "Receiving ..." still scroll once
    }
    return false;
  }
  if (!periodic_progress(e))
    return false;
  auto key = progress_of(e)->key;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock{progress_mutex_};
  if (last_progress_line_.size() > 4096)
    last_progress_line_.clear();  // transfers that never reported an end: forget them rather than grow
  auto [it, fresh] = last_progress_line_.try_emplace(key, now);
  if (!fresh && now - it->second < progress_line_interval)
    return true;
  it->second = now;
  return false;
}

// Second line of defence (the node already sanitised the event): nothing a peer wrote reaches the terminal,
// the JSON or the log unsanitised, even from a node that is not ours (attach) or an event built elsewhere.
void output::print_event(const event& raw) {
  auto e = raw;
  mokaccino::sanitise_event(e);  // the public rule (include/mokaccino/types.hpp)
  if (!opts_.json && quiet_folder_member(e))
    return;
  if (route_progress(e))
    return;
  auto line = describe(e);
  if (opts_.json) {
    auto json = event_json(e);
    emit(line ? line->t : tag::message, line ? std::string_view{line->text} : std::string_view{}, e.time_ms, &json);
    return;
  }
  if (!line)
    return;
  // The peer's name where the line first shows it (at the start of a message, inside quotes elsewhere).
  highlight h;
  auto first_line = std::string_view{line->text}.substr(0, line->text.find('\n'));
  if (auto at = e.peer.empty() ? std::string_view::npos : first_line.find(e.peer); at != std::string_view::npos)
    h = {at, e.peer.size(), peer_colour};
  emit(line->t, line->text, e.time_ms, nullptr, h);
}

// `json`: the object to print in --json mode (nullptr: build one from tag and text). The log always gets text.
// Every printed line passes session::display_text (issue 13), so a peer's string inside one of our own texts (a
// file list, an error) cannot move the cursor, clear the screen, set the clipboard or reverse the text.
void output::emit(tag t, std::string_view raw_text, std::int64_t time_ms, const std::string* json, highlight h) {
  auto safe = session::display_lines(raw_text);
  std::string_view text{safe};
  std::lock_guard lock{mutex_};
  auto time = format_time(opts_.time_format, time_ms);
  std::string plain, screen;
  std::size_t start = 0;
  while (start <= text.size()) {  // one output line per text line, each with time and tag
    auto nl = text.find('\n', start);
    auto piece = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!plain.empty())
      plain += '\n';
    if (!screen.empty())
      screen += '\n';
    plain += time + tag_text(t) + " " + std::string{piece};
    if (opts_.colour) {
      screen += time + tag_colour(t) + tag_text(t) + "\x1b[0m ";
      if (start == 0 && h.length > 0 && h.offset + h.length <= piece.size())
        screen += std::string{piece.substr(0, h.offset)} + h.colour + std::string{piece.substr(h.offset, h.length)} +
                  "\x1b[0m" + std::string{piece.substr(h.offset + h.length)};
      else
        screen += piece;
    }
    if (nl == std::string_view::npos)
      break;
    start = nl + 1;
  }
  if (log_ != nullptr && !text.empty()) {
    std::fputs(plain.c_str(), log_);
    std::fputc('\n', log_);
    std::fflush(log_);
  }
  std::string out;
  if (opts_.json)
    out = json != nullptr ? *json
                          : json_object{}
                              .add("type", json_type(t))
                              .add("time", time_ms)
                              .add("peer", "")
                              .add("text", text)
                              .add("id", std::uint64_t{0})
                              .add_raw("fields", "{}")
                              .str();
  else
    out = opts_.colour ? screen : plain;
  if (editor_ != nullptr) {
    editor_->write_above(out);
  } else {
    out += '\n';
    write_all(STDOUT_FILENO, out);
  }
}

}  // namespace mk::cli
