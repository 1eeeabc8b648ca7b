#include "cli/line_editor.hpp"

#include <algorithm>
#include <cerrno>

#include <sys/ioctl.h>
#include <unistd.h>

namespace mk::cli {

namespace {

// Byte offset of code point `n` of UTF-8 `s` (its size if `s` has fewer).
std::size_t byte_of(std::string_view s, std::size_t n) {
  std::size_t i = 0;
  while (i < s.size() && n > 0) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80)
      ++i;
    --n;
  }
  return i;
}

struct fitted_input {
  std::string prompt, text;
  std::size_t back = 0;  // columns from the end of `text` back to the cursor
};

// The input line stays on one row, whatever the width: a row that wrapped would break the cursor-up arithmetic of
// every redraw (and a cursor-left does not cross rows). A long prompt (a question, also printed above in full) is
// cut; a long text scrolls sideways so that the cursor stays visible.
fitted_input fit_input(std::string_view prompt, std::string_view text, std::size_t cursor, int columns) {
  const std::size_t width = static_cast<std::size_t>(std::max(columns, 20) - 1);  // the last column stays free
  fitted_input f;
  auto prompt_width = display_width(prompt);
  if (const std::size_t max_prompt = width / 2; prompt_width > max_prompt) {
    f.prompt = std::string{prompt.substr(0, byte_of(prompt, max_prompt - 2))} + "~ ";
    prompt_width = max_prompt;
  } else {
    f.prompt = std::string{prompt};
  }
  const std::size_t room = width - prompt_width;
  const auto before = display_width(text.substr(0, cursor));
  const auto start = before > room ? before - room : 0;
  const auto end = std::min(display_width(text), start + room);
  auto from = byte_of(text, start);
  f.text = std::string{text.substr(from, byte_of(text, end) - from)};
  f.back = end - before;
  return f;
}

}  // namespace

line_editor::line_editor(int in_fd, int out_fd, bool colour) : in_fd_(in_fd), out_fd_(out_fd), colour_(colour) {}

line_editor::~line_editor() { restore(); }

bool line_editor::start() {
  std::lock_guard lock{mutex_};
  if (tcgetattr(in_fd_, &saved_) != 0)
    return false;
  termios raw = saved_;
  // Keep output processing (LF -> CRLF); take every key ourselves, Ctrl+C included.
  raw.c_iflag &= ~static_cast<tcflag_t>(ICRNL | IXON | INLCR | IGNCR);
  raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG | IEXTEN);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr(in_fd_, TCSAFLUSH, &raw) != 0)
    return false;
  raw_ = true;
  redraw();
  return true;
}

void line_editor::restore() {
  std::lock_guard lock{mutex_};
  if (!raw_)
    return;
  write_all("\r\x1b[K");
  tcsetattr(in_fd_, TCSAFLUSH, &saved_);
  raw_ = false;
}

void line_editor::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::write(out_fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;  // the terminal is gone: nothing useful to do
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void line_editor::redraw() { draw({}); }

int line_editor::columns() const {
  winsize ws{};
  if (::ioctl(out_fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 80;
}

// Everything below the last scrolled line is ours: go back to the first progress line, clear to the end of the
// screen, print `above` (it scrolls up with the rest of the output), then the progress lines and the input line.
// Nothing is ever printed over a progress line with a newline, so a bar updates in place.
void line_editor::draw(std::string_view above) {
  if (!raw_) {
    if (!above.empty()) {
      std::string s{above};
      s += '\n';
      write_all(s);
    }
    return;
  }
  std::string s = "\r";
  if (drawn_progress_ > 0)
    s += "\x1b[" + std::to_string(drawn_progress_) + "A";
  s += "\x1b[J";
  if (!above.empty()) {
    s += above;
    s += '\n';
  }
  auto cols = columns();
  for (auto& p : progress_) {
    s += progress_line(p, cols);
    s += '\n';
  }
  drawn_progress_ = progress_.size();
  auto input = fit_input(prompt_, buffer_.text(), buffer_.cursor(), cols);
  if (colour_ && question_)
    s += "\x1b[33m" + input.prompt + "\x1b[0m";
  else
    s += input.prompt;
  s += input.text;
  if (input.back > 0)
    s += "\x1b[" + std::to_string(input.back) + "D";
  write_all(s);
}

void line_editor::write_above(std::string_view text) {
  std::lock_guard lock{mutex_};
  draw(text);
}

void line_editor::set_progress(const progress_view& p) {
  std::lock_guard lock{mutex_};
  auto it = std::find_if(progress_.begin(), progress_.end(), [&](auto& x) { return x.key == p.key; });
  if (it != progress_.end())
    *it = p;
  else
    progress_.push_back(p);
  redraw();
}

void line_editor::end_progress(const std::string& key) {
  std::lock_guard lock{mutex_};
  if (std::erase_if(progress_, [&](auto& x) { return x.key == key; }) > 0)
    redraw();
}

void line_editor::resize() {
  std::lock_guard lock{mutex_};
  redraw();
}

void line_editor::set_completer(completer c) {
  std::lock_guard lock{mutex_};
  completer_ = std::move(c);
}

void line_editor::on_tab() {
  if (!completer_)
    return;
  auto c = completer_(std::string_view{buffer_.text()}.substr(0, buffer_.cursor()));
  if (!c.insert.empty()) {
    buffer_.insert(c.insert);
    return redraw();
  }
  if (c.candidates.empty())
    return;
  std::string list;
  for (auto& x : c.candidates)
    list += (list.empty() ? "" : "  ") + x;
  draw(list);  // the choices scroll above; the line being typed stays as it was
}

void line_editor::set_prompt(std::string prompt, bool question) {
  std::lock_guard lock{mutex_};
  prompt_ = std::move(prompt);
  question_ = question;
  redraw();
}

line_editor::key_result line_editor::on_sequence(char final_byte) {
  // CSI/SS3 final bytes: A up, B down, C right, D left, H home, F end; "n~": 1/7 home, 4/8 end, 3 delete.
  switch (final_byte) {
    case 'A': buffer_.history_up(); break;
    case 'B': buffer_.history_down(); break;
    case 'C': buffer_.right(); break;
    case 'D': buffer_.left(); break;
    case 'H': buffer_.home(); break;
    case 'F': buffer_.end(); break;
    case '~':
      if (params_ == "1" || params_ == "7")
        buffer_.home();
      else if (params_ == "4" || params_ == "8")
        buffer_.end();
      else if (params_ == "3")
        buffer_.del();
      break;
    default: break;  // unknown sequence: ignored
  }
  redraw();
  return {};
}

line_editor::key_result line_editor::feed(char byte) {
  std::lock_guard lock{mutex_};
  auto c = static_cast<unsigned char>(byte);
  switch (escape_) {
    case escape::esc:
      escape_ = c == '[' ? escape::csi : c == 'O' ? escape::ss3 : escape::none;
      params_.clear();
      return {};
    case escape::ss3:
      escape_ = escape::none;
      return on_sequence(byte);
    case escape::csi:
      if (c >= 0x40 && c <= 0x7E) {
        escape_ = escape::none;
        return on_sequence(byte);
      }
      if (params_.size() < 16)
        params_ += byte;
      return {};
    case escape::none: break;
  }
  switch (c) {
    case 0x1B: escape_ = escape::esc; return {};
    case 0x03: return {action::interrupt, {}};  // Ctrl+C
    case 0x04:                                  // Ctrl+D: end of input on an empty line
      if (buffer_.text().empty())
        return {action::eof, {}};
      buffer_.del();
      break;
    case '\r':
    case '\n': {
      // Leave the finished line on screen (above the progress lines), then start a fresh prompt line.
      auto line = buffer_.submit();
      draw(prompt_ + line);
      return {action::line, std::move(line)};
    }
    case '\t': on_tab(); return {};
    case 0x7F:
    case 0x08: buffer_.backspace(); break;
    case 0x01: buffer_.home(); break;  // Ctrl+A
    case 0x05: buffer_.end(); break;   // Ctrl+E
    default:
      if (c < 0x20)
        return {};  // other control keys are ignored
      buffer_.insert(std::string_view{&byte, 1});
  }
  redraw();
  return {};
}

}  // namespace mk::cli
