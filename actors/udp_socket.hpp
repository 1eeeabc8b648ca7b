#pragma once
// The udp socket actor: owns one UDP socket and the Asio io_context thread that waits on it.
// Received datagrams are drained in batches (recvmmsg) and sent to the `receiver` actor as
// (datagram_atom, datagram_batch). Other actors send with (send_atom, endpoint, bytes) or
// (send_batch_atom, endpoint, std::vector<std::string>). A batch leaves as UDP GSO runs where the kernel allows
// (see send_many). (stats_atom) -> (sent, send_errors, gso_sends) as std::uint64_t.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/fwd.hpp>
#include <caf/actor.hpp>

#include "actors/endpoint.hpp"
#include "core/result.hpp"

namespace mk {

// Datagrams handed to the receiver but not yet processed. The receiver decrements it; when it passes the limit
// the socket drops new datagrams (as a full kernel buffer would) so a flood cannot grow memory without bound.
struct inbound_backlog {
  std::atomic<std::int64_t> queued{0};
  std::atomic<std::uint64_t> dropped{0};
};

struct udp_socket_handle {
  caf::actor actor;
  std::uint16_t port = 0;  // the bound port (useful when 0 was asked for)
  bool dual_stack = false; // IPv6 socket that also carries IPv4
};

// Binds 0.0.0.0:port (or [::]:port dual-stack when `ipv6`), port 0 = any free port.
mk::result<udp_socket_handle> spawn_udp_socket(caf::actor_system& sys, std::uint16_t port, caf::actor receiver,
                                               std::shared_ptr<inbound_backlog> backlog, bool ipv6 = true);

// Blocking name resolution ("host" -> first IPv4, else IPv6 address). Call it from a detached actor or thread.
std::optional<endpoint> resolve_host(const std::string& host, std::uint16_t port);

}  // namespace mk
