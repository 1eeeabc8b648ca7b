#pragma once
// The udp socket actor: owns one UDP socket and the Asio io_context thread that waits on it (udp_socket.cpp);
// udp_sender, the sending half, is in udp_sender.cpp.
// Received datagrams are drained in batches (recvmmsg) and sent to the `receiver` actor as
// (datagram_atom, datagram_batch), or straight to a known peer's session (see session_table). Sending goes
// through udp_sender, from whichever thread has the datagrams (the node's sessions call it directly); the actor
// also takes (send_to_atom, endpoint, bytes) and (send_batch_to_atom, endpoint, std::vector<std::string>) for other
// users. (stats_atom) -> (sent, send_errors, gso_sends) as std::uint64_t.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

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

// Sends on the socket from any thread: the kernel takes concurrent sends on one UDP descriptor, so an actor with
// datagrams hands them to the kernel itself rather than through the socket actor's mailbox (a hop, and often a
// thread wake-up, per send; and one actor that every transfer's sends had to queue behind).
// It owns a duplicate of the descriptor, so a send that races the socket's shutdown reaches the same (closed for
// reading) socket, never whatever a reused descriptor number would name.
class udp_sender {
 public:
  struct counters {
    std::uint64_t sent = 0, send_errors = 0;
    std::uint64_t gso_sends = 0;  // messages that carried a run of several datagrams
    std::uint64_t gso_path_refusals = 0;  // GSO runs a path's MTU refused (EMSGSIZE), then sent one by one
  };

  udp_sender(int fd, bool dual_stack);
  ~udp_sender();
  udp_sender(const udp_sender&) = delete;
  udp_sender& operator=(const udp_sender&) = delete;

  void send(const endpoint& to, const std::string& bytes) noexcept;
  // Many datagrams to one peer: runs of equal-size datagrams leave as single UDP GSO sends where the kernel allows.
  void send(const endpoint& to, const std::vector<std::string>& all) noexcept;
  counters stats() const noexcept;
  // A path MTU probe (core/session/path_mtu.hpp): sent with don't-fragment and without regard to the kernel's
  // cached path MTU (IP_PMTUDISC_PROBE), so it arrives whole or not at all. Other sends wait while the socket is
  // switched for it (probes are rare). Returns false if our own kernel refused it (larger than the interface).
  bool send_probe(const endpoint& to, const std::string& bytes) noexcept;

 private:
  int fd_;
  bool dual_stack_;
  std::shared_mutex probe_mx_;  // shared by ordinary sends, exclusive while a probe switches don't-fragment on
  std::atomic<std::uint64_t> sent_{0}, send_errors_{0}, gso_sends_{0}, gso_path_refusals_{0};
  // GSO segments this size or larger are sent one datagram per message: the kernel has no UDP GSO at all
  std::atomic<std::size_t> gso_refused_{SIZE_MAX};
  // ...or only toward one address: the kernel refuses (EMSGSIZE) a GSO send whose segments exceed the path MTU
  // (it cannot fragment a GSO segment), while a single datagram of that size crosses it as IP fragments.
  std::size_t path_gso_limit(const endpoint& to) const;
  void refuse_gso_on_path(const endpoint& to, std::size_t segment);
  mutable std::mutex paths_mx_;
  std::unordered_map<endpoint, std::size_t> path_refused_;  // keyed by address (port 0)
  std::atomic<bool> any_path_refused_{false};  // skips the lookup until some path refused
};

struct udp_socket_handle {
  caf::actor actor;
  std::shared_ptr<udp_sender> sender;
  std::uint16_t port = 0;  // the bound port (useful when 0 was asked for)
  bool dual_stack = false; // IPv6 socket that also carries IPv4
};

class session_table;

// Binds 0.0.0.0:port (or [::]:port dual-stack when `ipv6`), port 0 = any free port. With `routes`, the lines of
// a peer in the table go to its session as (peer_lines_atom, std::vector<std::string> lines) and only the rest to
// `receiver`; the backlog counts both until processed.
mk::result<udp_socket_handle> spawn_udp_socket(caf::actor_system& sys, std::uint16_t port, caf::actor receiver,
                                               std::shared_ptr<inbound_backlog> backlog, bool ipv6 = true,
                                               std::shared_ptr<session_table> routes = nullptr);

// Blocking name resolution ("host" -> first IPv4, else IPv6 address). Call it from a detached actor or thread.
std::optional<endpoint> resolve_host(const std::string& host, std::uint16_t port);

}  // namespace mk
