// The real-link harness itself (tests/support/netns.hpp): the link has the MTU and addresses asked for, its
// namespaces are always deleted (also when the test body throws), and stale ones of dead runs are cleaned up.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include "support/netns.hpp"

using namespace mk::test;

namespace {

bool namespace_exists(const std::string& name) {
  auto list = run_command("ip netns list").output;
  return list.find(name + " ") != std::string::npos || list.find(name + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("netns harness: a link has its MTU and addresses, and its namespaces go when it ends, even on a throw") {
  skip_unless_netns();
  std::string a, b;
  try {
    netns_link link{1280};
    a = link.a();
    b = link.b();
    CHECK(a.rfind("mk-" + std::to_string(::getpid()) + "-", 0) == 0);
    CHECK(namespace_exists(a));
    CHECK(namespace_exists(b));
    CHECK(netns_link::exec(a, "ip link show mk0").output.find("mtu 1280") != std::string::npos);
    CHECK(netns_link::exec(b, "ip -6 addr show dev mk1").output.find("fd00:200::2/64") != std::string::npos);
    link.set_mtu(1500);
    CHECK(netns_link::exec(b, "ip link show mk1").output.find("mtu 1500") != std::string::npos);
    // a socket made through in_netns lives in b: it can bind b's address, which the test's namespace lacks
    auto bound = in_netns(b, [] {
      int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in s{};
      s.sin_family = AF_INET;
      ::inet_pton(AF_INET, netns_link::v4_b, &s.sin_addr);
      bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&s), sizeof s) == 0;
      ::close(fd);
      return ok;
    });
    CHECK(bound);
    throw std::runtime_error("test body fails");
  } catch (const std::runtime_error& e) {
    CHECK(std::string{e.what()} == "test body fails");
  }
  CHECK_FALSE(namespace_exists(a));
  CHECK_FALSE(namespace_exists(b));
}

TEST_CASE("netns harness: namespaces left by a dead run are removed, a live run's are kept") {
  skip_unless_netns();
  pid_t dead = ::fork();
  if (dead == 0)
    ::_exit(0);
  ::waitpid(dead, nullptr, 0);  // reaped: its pid names no process now
  auto stale = "mk-" + std::to_string(dead) + "-0-a";
  auto live = "mk-1-" + std::to_string(::getpid()) + "-a";  // pid 1 always exists (our pid: unique per run)
  REQUIRE(run_command("ip netns add " + stale).ok());
  REQUIRE(run_command("ip netns add " + live).ok());
  struct remove_at_exit {  // no cleaner would ever take it: pid 1 never dies
    std::string name;
    ~remove_at_exit() { run_command("ip netns del " + name); }
  } live_guard{live};
  {
    netns_link link{1500};
  }
  CHECK_FALSE(namespace_exists(stale));
  CHECK(namespace_exists(live));
}
