#pragma once
// Reads the terminal or stdin on its own thread (never inside a cooperatively scheduled actor, DESIGN.md), and
// turns SIGINT/SIGTERM/SIGHUP into an `interrupt` and SIGWINCH into a redraw (signalfd: no async-signal handler code).

#include <functional>
#include <string>
#include <thread>

namespace mk::cli {

class line_editor;

// Blocks SIGINT, SIGTERM, SIGHUP and SIGWINCH in the calling thread (and so in every thread started after it) so that
// only the input thread's signalfd sees them; ignores SIGPIPE. Call first thing in main.
void block_termination_signals();

class input_reader {
 public:
  struct callbacks {
    std::function<void(std::string)> line;  // one command line (no newline)
    std::function<void()> end_of_input;     // stdin closed (non-interactive) or Ctrl+D on an empty line
    std::function<void()> interrupt;        // Ctrl+C, SIGINT, SIGTERM, SIGHUP
  };

  // editor == nullptr: stdin is read line by line; otherwise key by key through the editor.
  input_reader(line_editor* editor, callbacks cb);
  ~input_reader();
  input_reader(const input_reader&) = delete;
  input_reader& operator=(const input_reader&) = delete;

  bool start(std::string& error);
  void stop();  // wakes the thread and joins it

 private:
  void run();
  void deliver_bytes(const char* data, std::size_t n);

  line_editor* editor_;
  callbacks cb_;
  int signal_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  std::string partial_;
  bool discarding_ = false;
};

}  // namespace mk::cli
