// The attacker harness itself (tests/support/attacker.hpp): forged source addresses reach a plain socket, the
// on-path relay records, injects, replays, reflects, drops and reorders, the capture sees what crosses loopback.
#include <doctest/doctest.h>

#include "support/attacker.hpp"

using namespace mk::test;
using namespace std::chrono_literals;

namespace {

// A UDP socket on `ip` (v4 or v6 loopback) with a receive timeout; answers who sent what.
struct listener {
  int fd = -1;
  std::uint16_t port = 0;
  explicit listener(const std::string& ip = "127.0.0.1") {
    if (ip.find(':') == std::string::npos) {
      fd = open_loopback_udp(port);
    } else {
      fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_loopback;
      ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
      socklen_t len = sizeof a;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
      port = ntohs(a.sin6_port);
    }
    timeval tv{0, 100000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~listener() { ::close(fd); }
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  void send(std::uint16_t to, const std::string& bytes) const {
    auto a = loopback_address(to);
    ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  // The next datagram within `timeout`: (source ip, source port, bytes).
  std::optional<std::tuple<std::string, std::uint16_t, std::string>> receive(std::chrono::milliseconds timeout = 3s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[70000];
    while (std::chrono::steady_clock::now() < deadline) {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      auto n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0)
        continue;
      char text[INET6_ADDRSTRLEN] = {};
      std::uint16_t p = 0;
      if (from.ss_family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&from);
        ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        p = ntohs(a->sin_port);
      } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&from);
        ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        p = ntohs(a->sin6_port);
      }
      return std::tuple{std::string{text}, p, std::string{buf, static_cast<std::size_t>(n)}};
    }
    return std::nullopt;
  }
};

// A port nobody in this process owns: bound once for a number, then released.
std::uint16_t unowned_port() {
  std::uint16_t p = 0;
  ::close(open_loopback_udp(p));
  return p;
}

}  // namespace

TEST_CASE("attacker: a datagram forged from a port the test does not own arrives with that source (IPv4)") {
  if (auto why = spoof_unavailable(AF_INET)) {
    MESSAGE(*why);
    return;
  }
  listener target;
  auto forged_port = unowned_port();
  REQUIRE_FALSE(spoof_udp({"127.0.0.1", forged_port}, {"127.0.0.1", target.port}, "forged hello\n"));
  auto got = target.receive();
  REQUIRE(got);
  CHECK(std::get<0>(*got) == "127.0.0.1");
  CHECK(std::get<1>(*got) == forged_port);
  CHECK(std::get<2>(*got) == "forged hello\n");
  // Another source address on lo, which nothing here has bound either.
  REQUIRE_FALSE(spoof_udp({"127.0.0.77", 4242}, {"127.0.0.1", target.port}, "from afar"));
  got = target.receive();
  REQUIRE(got);
  CHECK(std::get<0>(*got) == "127.0.0.77");
  CHECK(std::get<1>(*got) == 4242);
  CHECK(std::get<2>(*got) == "from afar");
}

TEST_CASE("attacker: a datagram forged from a port the test does not own arrives with that source (IPv6)") {
  if (auto why = spoof_unavailable(AF_INET6)) {
    MESSAGE(*why);
    return;
  }
  listener target{"::1"};
  auto forged_port = unowned_port();
  auto err = spoof_udp({"::1", forged_port}, {"::1", target.port}, "forged over IPv6");
  if (err) {  // IPv6 loopback may be absent in a container: say so rather than fail
    MESSAGE("IPv6 forging unavailable here: " << *err);
    return;
  }
  auto got = target.receive();
  REQUIRE(got);
  CHECK(std::get<0>(*got) == "::1");
  CHECK(std::get<1>(*got) == forged_port);
  CHECK(std::get<2>(*got) == "forged over IPv6");
}

TEST_CASE("attacker: the on-path relay records both ways, injects, replays, reflects, drops and reorders") {
  listener a, b;
  on_path_relay mitm{b.port};
  a.send(mitm.port(), "one");
  auto got = b.receive();
  REQUIRE(got);
  CHECK(std::get<1>(*got) == mitm.port());  // B sees the relay as A
  CHECK(std::get<2>(*got) == "one");
  b.send(mitm.port(), "two");
  got = a.receive();
  REQUIRE(got);
  CHECK(std::get<1>(*got) == mitm.port());  // A sees the relay as B
  CHECK(std::get<2>(*got) == "two");
  CHECK(mitm.a_port() == a.port);

  auto log = mitm.records();
  REQUIRE(log.size() == 2);
  CHECK(log[0].dir == direction::a_to_b);
  CHECK(log[0].bytes == "one");
  CHECK(log[1].dir == direction::b_to_a);
  CHECK(log[1].at >= log[0].at);
  CHECK(log[0].delivered);

  SUBCASE("inject toward either end, from the address that end knows as its peer") {
    mitm.inject_to_a("forged to A");
    got = a.receive();
    REQUIRE(got);
    CHECK(std::get<1>(*got) == mitm.port());
    CHECK(std::get<2>(*got) == "forged to A");
    mitm.inject_to_b("forged to B");
    got = b.receive();
    REQUIRE(got);
    CHECK(std::get<2>(*got) == "forged to B");
  }
  SUBCASE("replay toward the original destination, reflect back to the sender") {
    CHECK(mitm.replay(0));
    got = b.receive();
    REQUIRE(got);
    CHECK(std::get<2>(*got) == "one");
    CHECK(mitm.reflect(0));
    got = a.receive();
    REQUIRE(got);
    CHECK(std::get<2>(*got) == "one");  // A receives its own words, apparently from B
    CHECK(mitm.replay_if(from_b()) == 1);
    got = a.receive();
    REQUIRE(got);
    CHECK(std::get<2>(*got) == "two");
    CHECK_FALSE(mitm.replay(99));
  }
  SUBCASE("drop by predicate: recorded, never delivered") {
    mitm.set_drop(from_a_with("secret"));
    a.send(mitm.port(), "secret 1");
    a.send(mitm.port(), "public 2");
    got = b.receive();
    REQUIRE(got);
    CHECK(std::get<2>(*got) == "public 2");
    auto dropped = mitm.wait_for(from_a_with("secret"));
    REQUIRE(dropped);
    CHECK_FALSE(dropped->delivered);
  }
  SUBCASE("hold then release in reverse order") {
    mitm.hold(from_a());
    for (auto s : {"x1", "x2", "x3"})
      a.send(mitm.port(), s);
    REQUIRE(mitm.wait_for(from_a_with("x3")));
    CHECK_FALSE(b.receive(200ms));
    CHECK(mitm.held() == 3);
    CHECK(mitm.release_held(true) == 3);
    for (auto s : {"x3", "x2", "x1"}) {
      got = b.receive();
      REQUIRE(got);
      CHECK(std::get<2>(*got) == s);
    }
  }
}

TEST_CASE("attacker: the wire capture sees loopback UDP payloads for its ports only") {
  listener a, b, other;
  wire_capture cap{{b.port}};
  if (auto why = cap.unavailable()) {
    MESSAGE(*why);
    return;
  }
  a.send(b.port, "plaintext-canary-1");
  a.send(other.port, "plaintext-canary-2");
  REQUIRE(b.receive());
  REQUIRE(other.receive());
  REQUIRE(cap.flush());
  CHECK(cap.contains("plaintext-canary-1"));
  CHECK_FALSE(cap.contains("plaintext-canary-2"));  // not one of its ports
  auto d = cap.datagrams();
  REQUIRE_FALSE(d.empty());
  CHECK(d.front().src_port == a.port);
  CHECK(d.front().dst_port == b.port);
  CHECK(std::count_if(d.begin(), d.end(), [](auto& c) { return c.payload == "plaintext-canary-1"; }) == 1);
}
