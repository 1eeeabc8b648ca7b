#pragma once
// Test helper: runs the real `mokaccino` on a pseudo-terminal (forkpty, glibc), so it sees a terminal as a person's
// would: raw-mode input line, live progress lines, completion, colours. The test types bytes and reads the raw
// screen bytes (escape sequences included) with timeouts, and can resize the terminal (SIGWINCH).

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/process.hpp"

namespace mk::test {

class pty_process {
 public:
  // Where the program's stdout goes: the terminal, or a pipe the test reads (`mokaccino | tee`: the keys come
  // from a terminal, the output does not go to one).
  enum class stdout_to { terminal, pipe };

  // `env`: NAME=value pairs set in the child (NO_COLOR is removed unless given here).
  pty_process(const std::vector<std::string>& args, unsigned short cols, unsigned short rows,
              const std::vector<std::string>& env = {}, stdout_to out = stdout_to::terminal) {
    winsize ws{};
    ws.ws_col = cols;
    ws.ws_row = rows;
    int out_pipe[2] = {-1, -1};
    if (out == stdout_to::pipe && ::pipe(out_pipe) != 0)
      throw std::runtime_error("pipe failed");
    pid_ = ::forkpty(&master_, nullptr, nullptr, &ws);
    if (pid_ < 0)
      throw std::runtime_error("forkpty failed");
    if (pid_ == 0) {
      ::unsetenv("NO_COLOR");
      ::setenv("TERM", "xterm-256color", 1);
      for (auto& e : env)
        ::putenv(const_cast<char*>(e.c_str()));
      if (out_pipe[1] >= 0) {
        ::dup2(out_pipe[1], STDOUT_FILENO);
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
      }
      exec_child(args);
    }
    ::fcntl(master_, F_SETFL, ::fcntl(master_, F_GETFL) | O_NONBLOCK);
    if (out_pipe[1] >= 0) {
      ::close(out_pipe[1]);
      piped_ = out_pipe[0];
      ::fcntl(piped_, F_SETFL, ::fcntl(piped_, F_GETFL) | O_NONBLOCK);
    }
  }
  ~pty_process() {
    if (!exited_)
      kill_and_reap(pid_);
    ::close(master_);
    if (piped_ >= 0)
      ::close(piped_);
  }
  pty_process(const pty_process&) = delete;
  pty_process& operator=(const pty_process&) = delete;

  void type(std::string_view bytes) {
    while (!bytes.empty()) {
      auto n = ::write(master_, bytes.data(), bytes.size());
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0)
        return;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void resize(unsigned short cols, unsigned short rows) {
    winsize ws{};
    ws.ws_col = cols;
    ws.ws_row = rows;
    ::ioctl(master_, TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH to the program
  }

  // Offset of the first `needle` at or after `from` in the screen bytes, reading for up to `timeout`.
  std::optional<std::size_t> wait_for(std::string_view needle, std::chrono::milliseconds timeout,
                                      std::size_t from = 0) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (from < screen_.size())
        if (auto at = screen_.find(needle, from); at != std::string::npos)
          return at;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return std::nullopt;
      read_more(left);
    }
  }
  bool saw(std::string_view needle, std::chrono::milliseconds timeout = std::chrono::seconds{10},
           std::size_t from = 0) {
    return wait_for(needle, timeout, from).has_value();
  }
  // Reads whatever arrives during `d`.
  void pump(std::chrono::milliseconds d) {
    auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline)
      read_more(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
  }

  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        read_more(std::chrono::milliseconds{50});
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      read_more(std::chrono::milliseconds{50});
    }
    return std::nullopt;
  }

  const std::string& screen() const { return screen_; }
  // With stdout_to::pipe: the bytes of the program's stdout (the screen then only shows what the terminal echoes).
  const std::string& piped() const { return piped_bytes_; }
  std::optional<std::size_t> wait_piped(std::string_view needle, std::chrono::milliseconds timeout,
                                        std::size_t from = 0) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (from < piped_bytes_.size())
        if (auto at = piped_bytes_.find(needle, from); at != std::string::npos)
          return at;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return std::nullopt;
      read_more(left);
    }
  }
  // The screen bytes with escapes made visible, for failure messages.
  std::string visible(std::size_t from = 0) const {
    std::string s;
    for (auto i = from; i < screen_.size(); ++i) {
      char c = screen_[i];
      if (c == '\x1b')
        s += "<ESC>";
      else if (c == '\r')
        s += "<CR>";
      else
        s += c;
    }
    return s;
  }

 private:
  void read_more(std::chrono::milliseconds timeout) {
    pollfd p[2] = {{master_, POLLIN, 0}, {piped_, POLLIN, 0}};
    if (::poll(p, 2, static_cast<int>(std::max<long>(0, timeout.count()))) <= 0)
      return;
    char buf[8192];
    if (p[0].revents != 0) {
      auto n = ::read(master_, buf, sizeof buf);
      if (n > 0)
        screen_.append(buf, static_cast<std::size_t>(n));
      else if (n < 0 && errno == EIO)
        ::poll(nullptr, 0, 20);  // the program is gone (slave closed): do not spin
    }
    if (p[1].revents != 0) {
      auto n = ::read(piped_, buf, sizeof buf);
      if (n > 0) {
        piped_bytes_.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0) {
        ::close(piped_);  // the program closed its stdout
        piped_ = -1;
      }
    }
  }

  pid_t pid_ = -1;
  int master_ = -1;
  int piped_ = -1;  // the read end of the program's stdout, with stdout_to::pipe
  bool exited_ = false;
  std::string screen_, piped_bytes_;
};

}  // namespace mk::test
