#include "cli/input.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli/line_editor.hpp"

namespace mk::cli {

namespace {

constexpr std::size_t max_line = 1 << 20;  // a longer stdin line is cut: no unbounded buffering

sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGWINCH);  // the terminal's size changed: the input thread redraws (not an interrupt)
  return set;
}

}  // namespace

void block_termination_signals() {
  auto set = termination_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

input_reader::input_reader(line_editor* editor, callbacks cb) : editor_(editor), cb_(std::move(cb)) {}

input_reader::~input_reader() {
  stop();
  for (int fd : {signal_fd_, wake_[0], wake_[1]})
    if (fd >= 0)
      ::close(fd);
}

bool input_reader::start(std::string& error) {
  auto set = termination_signals();
  signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC);
  if (signal_fd_ < 0 || pipe2(wake_, O_CLOEXEC) != 0) {
    error = std::string{"cannot set up the input thread: "} + std::strerror(errno);
    return false;
  }
  thread_ = std::thread{[this] { run(); }};
  return true;
}

void input_reader::stop() {
  if (!thread_.joinable())
    return;
  char b = 0;
  while (::write(wake_[1], &b, 1) < 0 && errno == EINTR) {
  }
  thread_.join();
}

void input_reader::deliver_bytes(const char* data, std::size_t n) {
  if (editor_ != nullptr) {
    for (std::size_t i = 0; i < n; ++i) {
      auto r = editor_->feed(data[i]);
      if (r.what == line_editor::action::line)
        cb_.line(std::move(r.line));
      else if (r.what == line_editor::action::interrupt)
        cb_.interrupt();
      else if (r.what == line_editor::action::eof)
        cb_.end_of_input();
    }
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    char c = data[i];
    if (c == '\n') {
      if (!partial_.empty() && partial_.back() == '\r')
        partial_.pop_back();
      if (!discarding_)
        cb_.line(std::move(partial_));
      partial_.clear();
      discarding_ = false;
    } else if (partial_.size() < max_line) {
      partial_ += c;
    } else {
      discarding_ = true;  // deliver the first max_line bytes once the line ends
    }
  }
}

void input_reader::run() {
  bool stdin_open = true;
  char buf[4096];
  for (;;) {
    pollfd fds[3] = {{wake_[0], POLLIN, 0}, {signal_fd_, POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (fds[0].revents != 0)
      return;
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info;
      if (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGWINCH) {
          if (editor_ != nullptr)
            editor_->resize();
        } else {
          cb_.interrupt();
        }
      }
    }
    if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      auto n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0) {
        stdin_open = false;
        if (!partial_.empty() && !discarding_)
          cb_.line(std::move(partial_));
        partial_.clear();
        cb_.end_of_input();
        continue;
      }
      deliver_bytes(buf, static_cast<std::size_t>(n));
    }
  }
}

}  // namespace mk::cli
