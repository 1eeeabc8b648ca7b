#pragma once
// The interactive input line (PROTOCOL §12): raw-mode termios, key decoding, and a prompt line that output never
// garbles — every printed line clears the input line first, then the prompt and the partial input are redrawn.
// Above the input line sit the live progress lines of the running transfers (issue 16): redrawn in place (cursor
// up, clear to the end of the screen), never scrolled, fitted to the width the terminal has now.
// Thread-safe: the input thread feeds keys while actors print.

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <termios.h>

#include "cli/completion.hpp"
#include "cli/line_buffer.hpp"
#include "cli/progress_view.hpp"

namespace mk::cli {

class line_editor {
 public:
  line_editor(int in_fd, int out_fd, bool colour);
  ~line_editor();
  line_editor(const line_editor&) = delete;
  line_editor& operator=(const line_editor&) = delete;

  // Switches the terminal to raw mode (no echo, no canonical mode, no signals: Ctrl+C arrives as a key) and
  // draws the prompt. False if the terminal refused. The destructor restores the terminal.
  bool start();
  void restore();

  enum class action { none, line, interrupt, eof };
  struct key_result {
    action what = action::none;
    std::string line;
  };
  // One byte of input; escape sequences (arrows, Home, End, Delete) are assembled across calls.
  key_result feed(char byte);

  // Prints `text` (one or more lines, no trailing newline) above the input line.
  void write_above(std::string_view text);
  // The prompt line: "Command: " or the question at the head of the prompt FIFO.
  void set_prompt(std::string prompt, bool question);

  // Live progress: adds or updates the line of `p.key`; end_progress removes it (the summary is printed apart).
  void set_progress(const progress_view& p);
  void end_progress(const std::string& key);
  // The terminal changed size (SIGWINCH): fit the progress lines and the input line to the new width.
  void resize();

  // Tab: `complete` gets the text before the cursor. Called with the editor's lock held: it must not call back.
  using completer = std::function<completion(std::string_view before_cursor)>;
  void set_completer(completer c);

 private:
  void redraw();
  void draw(std::string_view above);  // `above`: lines to print above the progress block first
  int columns() const;
  void on_tab();
  void write_all(std::string_view bytes);
  key_result on_sequence(char final_byte);

  std::mutex mutex_;
  int in_fd_, out_fd_;
  bool colour_;
  bool raw_ = false;
  termios saved_{};
  line_buffer buffer_;
  std::string prompt_ = "Command: ";
  bool question_ = false;
  enum class escape { none, esc, csi, ss3 } escape_ = escape::none;
  std::string params_;
  std::vector<progress_view> progress_;  // in the order the transfers started
  std::size_t drawn_progress_ = 0;       // progress lines on screen above the input line now
  completer completer_;
};

}  // namespace mk::cli
