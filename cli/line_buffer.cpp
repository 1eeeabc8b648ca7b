#include "cli/line_buffer.hpp"

namespace mk::cli {

namespace {
bool continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }
}  // namespace

std::size_t line_buffer::columns_after_cursor() const {
  std::size_t n = 0;
  for (auto i = cursor_; i < text_.size(); ++i)
    n += continuation(text_[i]) ? 0 : 1;
  return n;
}

std::size_t line_buffer::prev_boundary(std::size_t i) const {
  if (i == 0)
    return 0;
  --i;
  while (i > 0 && continuation(text_[i]))
    --i;
  return i;
}

std::size_t line_buffer::next_boundary(std::size_t i) const {
  if (i >= text_.size())
    return text_.size();
  ++i;
  while (i < text_.size() && continuation(text_[i]))
    ++i;
  return i;
}

void line_buffer::insert(std::string_view bytes) {
  text_.insert(cursor_, bytes);
  cursor_ += bytes.size();
}

void line_buffer::left() { cursor_ = prev_boundary(cursor_); }
void line_buffer::right() { cursor_ = next_boundary(cursor_); }

void line_buffer::backspace() {
  auto p = prev_boundary(cursor_);
  text_.erase(p, cursor_ - p);
  cursor_ = p;
}

void line_buffer::del() { text_.erase(cursor_, next_boundary(cursor_) - cursor_); }

void line_buffer::recall(std::size_t index) {
  if (browsing_ == history_.size())
    draft_ = text_;
  browsing_ = index;
  text_ = index == history_.size() ? draft_ : history_[index];
  cursor_ = text_.size();
}

void line_buffer::history_up() {
  if (browsing_ > 0)
    recall(browsing_ - 1);
}

void line_buffer::history_down() {
  if (browsing_ < history_.size())
    recall(browsing_ + 1);
}

std::string line_buffer::submit() {
  std::string line = std::move(text_);
  text_.clear();
  cursor_ = 0;
  draft_.clear();
  if (!line.empty() && (history_.empty() || history_.back() != line)) {
    history_.push_back(line);
    if (history_.size() > history_size)
      history_.pop_front();
  }
  browsing_ = history_.size();
  return line;
}

}  // namespace mk::cli
