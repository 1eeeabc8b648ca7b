#pragma once
// Test support for real links (issue 12): network namespaces joined by a veth pair with a chosen MTU, commands
// and sockets inside them. Namespaces are named mk-<pid>-<n>-<side> so parallel runs cannot collide; the
// destructor always deletes them (also when a test throws), and stale ones whose pid is gone are removed when the
// next link is made (a run killed by SIGKILL never reaches a destructor).
//
// Needs root (CAP_SYS_ADMIN) and iproute2. netns_unavailable() says why not; skip_unless_netns() turns that into
// the ctest "skipped" exit code (SKIP_RETURN_CODE, set for test_netns in tests/CMakeLists.txt).

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace mk::test {

inline constexpr int netns_skip_code = 77;  // "skipped" for ctest (SKIP_RETURN_CODE)

struct command_result {
  int status = -1;  // exit code, or -1 if it could not run / was killed
  std::string output;
  bool ok() const { return status == 0; }
};

// Runs `cmd` through /bin/sh with stderr merged into the captured output.
inline command_result run_command(const std::string& cmd) {
  command_result r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr)
    return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  int st = ::pclose(p);
  r.status = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
  return r;
}

// nullopt when namespaces can be made here; otherwise the reason (not root, no iproute2, no netns support).
inline std::optional<std::string> netns_unavailable() {
  if (::geteuid() != 0)
    return "not root: creating network namespaces needs CAP_SYS_ADMIN (run ctest as root, as CI does)";
  if (!run_command("ip -V").ok())
    return "iproute2 (`ip`) is not installed: run scripts/setup.sh";
  auto probe = "mk-" + std::to_string(::getpid()) + "-probe";
  auto r = run_command("ip netns add " + probe);
  run_command("ip netns del " + probe);
  if (!r.ok())
    return "`ip netns add` fails here: " + r.output;
  return std::nullopt;
}

// Ends this test process with the skip code (ctest shows "Skipped") when namespaces cannot be made.
inline void skip_unless_netns() {
  if (auto why = netns_unavailable()) {
    std::printf("SKIPPED: %s\n", why->c_str());
    std::fflush(stdout);
    std::_Exit(netns_skip_code);
  }
}

// Deletes mk-<pid>-... namespaces whose process no longer exists (left by a run that was killed).
inline void remove_stale_namespaces() {
  auto list = run_command("ip netns list");
  std::istringstream in{list.output};
  std::string line;
  while (std::getline(in, line)) {
    auto name = line.substr(0, line.find(' '));
    if (name.rfind("mk-", 0) != 0)
      continue;
    auto dash = name.find('-', 3);
    if (dash == std::string::npos || dash == 3)
      continue;
    auto pid_text = name.substr(3, dash - 3);
    if (pid_text.find_first_not_of("0123456789") != std::string::npos)
      continue;
    auto pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH)
      run_command("ip netns del " + name);
  }
}

// Runs fn() on a thread that entered namespace `ns`: sockets it opens live there for good (a socket keeps the
// namespace it was created in), whichever thread uses them later. Returns fn's result; rethrows its exception.
template <class F>
auto in_netns(const std::string& ns, F&& fn) -> std::invoke_result_t<F> {
  using R = std::invoke_result_t<F>;
  std::exception_ptr err;
  std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> out{};
  std::thread t([&] {
    try {
      int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
        auto e = std::string{std::strerror(errno)};
        if (fd >= 0)
          ::close(fd);
        throw std::runtime_error("setns into " + ns + ": " + e);
      }
      ::close(fd);
      if constexpr (std::is_void_v<R>)
        fn();
      else
        out.emplace(fn());
    } catch (...) {
      err = std::current_exception();
    }
  });
  t.join();
  if (err)
    std::rethrow_exception(err);
  if constexpr (!std::is_void_v<R>)
    return std::move(*out);
}

// Two namespaces a and b joined by a veth pair (mk0 in a, mk1 in b), addresses a = 10.200.0.1/30 and
// fd00:200::1/64, b = .2 and ::2 (each namespace has its own stack, so fixed addresses cannot clash between
// parallel runs). Loopback is up in both.
class netns_link {
 public:
  static constexpr const char* v4_a = "10.200.0.1";
  static constexpr const char* v4_b = "10.200.0.2";
  static constexpr const char* v6_a = "fd00:200::1";
  static constexpr const char* v6_b = "fd00:200::2";

  explicit netns_link(int mtu) {
    static std::atomic<int> counter{0};
    remove_stale_namespaces();
    auto base = "mk-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    a_ = base + "-a";
    b_ = base + "-b";
    try {
      must("ip netns add " + a_);
      made_a_ = true;
      must("ip netns add " + b_);
      made_b_ = true;
      must("ip -n " + a_ + " link add mk0 type veth peer name mk1 netns " + b_);
      must("ip -n " + a_ + " addr add " + v4_a + "/30 dev mk0");
      must("ip -n " + b_ + " addr add " + v4_b + "/30 dev mk1");
      must("ip -n " + a_ + " addr add " + v6_a + "/64 dev mk0 nodad");
      must("ip -n " + b_ + " addr add " + v6_b + "/64 dev mk1 nodad");
      set_mtu(mtu);
      for (auto* ns : {&a_, &b_}) {
        must("ip -n " + *ns + " link set lo up");
        must("ip -n " + *ns + " link set " + (ns == &a_ ? "mk0" : "mk1") + " up");
      }
    } catch (...) {
      remove();
      throw;
    }
  }
  ~netns_link() { remove(); }
  netns_link(const netns_link&) = delete;
  netns_link& operator=(const netns_link&) = delete;

  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }

  void set_mtu(int mtu) {
    must("ip -n " + a_ + " link set mk0 mtu " + std::to_string(mtu));
    must("ip -n " + b_ + " link set mk1 mtu " + std::to_string(mtu));
  }

  // A command line (for child_process) that runs `args` inside namespace `ns`. `ip netns exec` execs the command
  // in place (no fork), so the child's pid is the command's own.
  static std::vector<std::string> wrap(const std::string& ns, std::vector<std::string> args) {
    std::vector<std::string> out{"/usr/sbin/ip", "netns", "exec", ns};
    if (::access(out[0].c_str(), X_OK) != 0)
      out[0] = "/sbin/ip";
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }

  // Runs a shell command inside `ns` (e.g. "ip -s link", "nstat -az") and returns its output.
  static command_result exec(const std::string& ns, const std::string& cmd) {
    return run_command("ip netns exec " + ns + " " + cmd);
  }

 private:
  static void must(const std::string& cmd) {
    auto r = run_command(cmd);
    if (!r.ok())
      throw std::runtime_error("`" + cmd + "` failed: " + r.output);
  }
  void remove() noexcept {
    // Deleting a namespace destroys its end of the veth, which destroys the pair.
    if (made_a_)
      run_command("ip netns del " + a_);
    if (made_b_)
      run_command("ip netns del " + b_);
    made_a_ = made_b_ = false;
  }

  std::string a_, b_;
  bool made_a_ = false, made_b_ = false;
};

}  // namespace mk::test
