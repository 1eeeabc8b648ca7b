#pragma once
// The editable input line of the interactive terminal and its history (PROTOCOL §12: Left, Right, Home, End,
// Backspace, Delete; Up/Down walk the last 100 lines). Pure: no terminal I/O, so it is tested directly.
// The cursor moves over whole UTF-8 code points.

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace mk::cli {

class line_buffer {
 public:
  static constexpr std::size_t history_size = 100;  // §12: 100-line history

  const std::string& text() const { return text_; }
  std::size_t cursor() const { return cursor_; }  // byte offset
  // Code points after the cursor (how far the terminal cursor sits left of the line's end).
  std::size_t columns_after_cursor() const;

  void insert(std::string_view bytes);
  void left();
  void right();
  void home() { cursor_ = 0; }
  void end() { cursor_ = text_.size(); }
  void backspace();
  void del();
  void history_up();
  void history_down();

  // Returns the line, stores it in the history (unless empty or equal to the previous), clears the buffer.
  std::string submit();

  const std::deque<std::string>& history() const { return history_; }

 private:
  std::size_t prev_boundary(std::size_t i) const;
  std::size_t next_boundary(std::size_t i) const;
  void recall(std::size_t index);

  std::string text_;
  std::size_t cursor_ = 0;
  std::deque<std::string> history_;
  std::size_t browsing_ = 0;  // == history_.size(): editing the new line
  std::string draft_;         // the new line, kept while browsing
};

}  // namespace mk::cli
