#pragma once
// The one way the test helpers (raw peer, relays) open a UDP socket: bound to 127.0.0.1 on a free port.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

namespace mk::test {

inline sockaddr_in loopback_address(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

// Returns the descriptor; `port` receives the port the kernel picked.
inline int open_loopback_udp(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  auto a = loopback_address(0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

}  // namespace mk::test
