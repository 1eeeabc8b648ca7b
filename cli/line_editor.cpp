#include "cli/line_editor.hpp"

#include <cerrno>

#include <unistd.h>

namespace mk::cli {

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

void line_editor::redraw() {
  if (!raw_)
    return;
  std::string s = "\r\x1b[K";
  if (colour_ && question_)
    s += "\x1b[33m" + prompt_ + "\x1b[0m";
  else
    s += prompt_;
  s += buffer_.text();
  if (auto back = buffer_.columns_after_cursor(); back > 0)
    s += "\x1b[" + std::to_string(back) + "D";
  write_all(s);
}

void line_editor::write_above(std::string_view text) {
  std::lock_guard lock{mutex_};
  std::string s = raw_ ? "\r\x1b[K" : "";
  s += text;
  s += '\n';
  write_all(s);
  redraw();
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
      // Leave the finished line on screen, then start a fresh prompt line.
      buffer_.end();
      redraw();
      write_all("\n");
      auto line = buffer_.submit();
      redraw();
      return {action::line, std::move(line)};
    }
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
