#pragma once
// Test helper: runs a real `mokaccino` process with pipes for stdin and stdout (stderr merged), reads its output
// line by line with timeouts, and signals or kills it. Also a temporary --home and a free UDP port.

#include "support/temp_dir.hpp"
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mk::test {

using namespace std::chrono_literals;

inline std::string mokaccino_binary() { return std::string{MK_BINARY_DIR} + "/mokaccino"; }

// Binds UDP port 0 on 127.0.0.1 to let the OS pick a free port, then releases it.
inline std::uint16_t free_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0)
    throw std::runtime_error("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// A fresh directory used as --home; removed with everything in it.
class temp_home {
 public:
  const std::filesystem::path& path() const { return dir_.path(); }
  std::filesystem::path root() const { return path() / ".config" / "Mokaccino"; }
  std::filesystem::path config_file() const { return root() / "mokaccino.cfg"; }
  void write_config(std::string_view text) const {
    std::filesystem::create_directories(root());
    std::ofstream{config_file(), std::ios::binary} << text;
  }

 private:
  temp_dir dir_{"mk-cli-test"};
};

// In a forked child: becomes `args` (args[0] is the path), or exits 127.
[[noreturn]] inline void exec_child(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

// Ends a child that did not exit by itself, and reaps it.
inline void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

class child_process {
 public:
  explicit child_process(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(out[1], STDERR_FILENO);
      exec_child(args);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    ::fcntl(stdout_, F_SETFL, ::fcntl(stdout_, F_GETFL) | O_NONBLOCK);
  }

  ~child_process() {
    if (!exited_)
      kill_and_reap(pid_);
    close_stdin();
    ::close(stdout_);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }

  void write_line(std::string_view line) {
    std::string s{line};
    s += '\n';
    std::string_view rest = s;
    while (!rest.empty() && stdin_ >= 0) {
      auto n = ::write(stdin_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void close_stdin() {
    if (stdin_ >= 0)
      ::close(stdin_);
    stdin_ = -1;
  }

  void signal(int sig) { ::kill(pid_, sig); }

  // Index of the first line at or after `from` that contains `needle`, reading for up to `timeout`.
  std::optional<std::size_t> wait_for(std::string_view needle, std::chrono::milliseconds timeout,
                                      std::size_t from = 0) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (auto i = from; i < lines_.size(); ++i)
        if (lines_[i].find(needle) != std::string::npos)
          return i;
      from = std::max(from, lines_.size());
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_more(left))
        return std::nullopt;
    }
  }
  bool saw(std::string_view needle, std::chrono::milliseconds timeout = 10s, std::size_t from = 0) {
    return wait_for(needle, timeout, from).has_value();
  }

  // Exit code (128 + signal if killed), or nullopt if still running after `timeout`. Reads output meanwhile.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      if (!exited_ && ::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (exited_) {
        while (read_more(50ms)) {
        }
        return code_;
      }
      if (std::chrono::steady_clock::now() >= deadline)
        return std::nullopt;
      read_more(50ms);
    }
  }

  const std::vector<std::string>& lines() const { return lines_; }
  std::string transcript() const {
    std::string s;
    for (auto& l : lines_)
      s += l + "\n";
    return s;
  }

 private:
  // Reads what is available within `timeout`; false at end of output or timeout with nothing read.
  bool read_more(std::chrono::milliseconds timeout) {
    pollfd p{stdout_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
      return false;
    char buf[4096];
    auto n = ::read(stdout_, buf, sizeof buf);
    if (n <= 0)
      return false;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        lines_.push_back(std::move(partial_));
        partial_.clear();
      } else {
        partial_ += buf[i];
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  bool exited_ = false;
  int code_ = -1;
  std::string partial_;
  std::vector<std::string> lines_;
};

// A mokaccino node in its own home, driven through stdin.
struct node_process {
  temp_home home;
  std::uint16_t port;
  std::unique_ptr<child_process> proc;

  // `config` is the mokaccino.cfg text (username, policies); extra arguments follow --home and -p.
  explicit node_process(std::string_view config, std::vector<std::string> extra = {}) : port(free_udp_port()) {
    home.write_config(config);
    std::vector<std::string> args{mokaccino_binary(), "--home", home.path().string(), "-p", std::to_string(port)};
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<child_process>(args);
  }
  child_process* operator->() { return proc.get(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

inline std::string config_for(std::string_view user, std::string_view default_action = "accept",
                              std::string_view extra = "") {
  return "[network]\nusername = \"" + std::string{user} + "\"\n" + "[network.connection]\ndefault_action = \"" +
         std::string{default_action} + "\"\n" + std::string{extra};
}

}  // namespace mk::test
