#pragma once
// The node actor under CAF's deterministic test coordinator (virtual time): real sessions, real crypto, and a
// real loopback socket for what the node sends; datagrams reach it as the socket actor would hand them over
// (datagram_atom, batch), so nothing runs on another thread. Each remote peer is a loopback socket of its own
// whose datagrams the test reads back: the messages exchanged are asserted byte for byte.

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <botan/auto_rng.h>
#include <caf/all.hpp>

#include "actors/call_media.hpp"
#include "actors/known_users.hpp"
#include "actors/messages.hpp"
#include "actors/node_state.hpp"
#include "actors/session_table.hpp"
#include "actors/udp_socket.hpp"
#include "core/crypto/random.hpp"
#include "core/wire/datagram.hpp"
#include "core/wire/messages.hpp"

namespace mk::test {

using namespace std::chrono_literals;
namespace w = mk::wire;

// A UDP socket on a loopback address (127.0.0.1 by default; any 127/8 address is local on Linux), free port.
struct loopback_socket {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  std::uint32_t ip;
  std::uint16_t port = 0;
  explicit loopback_socket(std::uint32_t host_order_ip = INADDR_LOOPBACK) : ip(host_order_ip) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  loopback_socket(const loopback_socket&) = delete;
  ~loopback_socket() { ::close(fd); }
  endpoint ep() const { return endpoint::v4(ip, port); }
};

// A peer of the node under test: its identity and its socket. It speaks by handing lines to the fixture.
struct remote_peer {
  std::string name;
  crypto::identity id;
  loopback_socket sock;
  std::vector<std::string> received;  // datagrams the node sent here, oldest first
  std::string connect_nonce;

  remote_peer(std::string n, Botan::RandomNumberGenerator& rng, std::uint32_t ip = INADDR_LOOPBACK)
    : name(std::move(n)), id(crypto::identity::generate(rng)), sock(ip) {}

  std::string connect_line(Botan::RandomNumberGenerator& rng) {
    connect_nonce = crypto::make_nonce(rng);
    w::connect_msg m{name, connect_nonce, id.public_key().base64(), {}};
    m.signature = id.sign(w::signed_text(m), rng);
    return w::serialize(m);
  }

  // Every datagram received so far (loopback delivers a send before sendto returns).
  std::vector<std::string>& all() {
    char buf[65536];
    for (ssize_t n; (n = ::recv(sock.fd, buf, sizeof buf, 0)) >= 0;)
      received.emplace_back(buf, static_cast<std::size_t>(n));
    return received;
  }

  // The received lines with this keyword (without their LF).
  std::vector<std::string> lines(const std::string& keyword) {
    std::vector<std::string> out;
    for (auto& d : all())
      if (d.rfind(keyword + " ", 0) == 0 || d == keyword + "\n")
        out.push_back(d.substr(0, d.size() - 1));
    return out;
  }
};

inline caf::behavior event_recorder(caf::event_based_actor*, std::shared_ptr<std::vector<event>> log) {
  return {[log](event_atom, const event& e) { log->push_back(e); }};
}

struct node_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  Botan::AutoSeeded_RNG rng;
  crypto::identity identity = crypto::identity::generate(rng);  // the node's: it is "bob"
  loopback_socket own;  // the node sends from here; nothing is ever sent to it
  std::shared_ptr<node_context> ctx = std::make_shared<node_context>(identity);
  std::shared_ptr<inbound_backlog> backlog = std::make_shared<inbound_backlog>();
  std::shared_ptr<std::vector<event>> events = std::make_shared<std::vector<event>>();
  caf::actor node, recorder;

  static caf::actor_system_config& testing(caf::actor_system_config& c) {
    c.set("scheduler.policy", caf::atom("testing"));
    return c;
  }

  explicit node_fixture(config::action connections)
    : sys(testing(cfg)), sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    ctx->username = "bob";
    ctx->config.username = "bob";
    ctx->config.connection.default_action = connections;
    ctx->config.encrypt_by_default = false;  // plaintext: the test reads every line the node sends
    ctx->config.require_encryption = false;
    ctx->sender = std::make_shared<udp_sender>(own.fd, false);
    ctx->routes = std::make_shared<session_table>(backlog);
    ctx->known_users = spawn_known_users(sys, {}, {});
    ctx->calls = std::make_shared<call_router>();
    node = node_detail::spawn_node_actor(sys, ctx, backlog);
    ctx->node = node;
    recorder = sys.spawn(event_recorder, events);
    caf::anon_send(node, bound_atom::value, own.port);
    caf::anon_send(node, subscribe_atom::value, recorder);
    sched.run();
  }

  ~node_fixture() {
    // Every actor must end, or the system's destructor waits for it forever: the node's shutdown disconnects
    // its sessions (a stuck one is cut off after 2 s), half-open ones end by their own timeout.
    caf::anon_send(node, shutdown_atom::value);
    sched.run();
    advance(12s);
    for (auto& a : {node, ctx->known_users, recorder})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // Advances virtual time in 500 ms steps (the node's tick), running every message after each step.
  void advance(std::chrono::milliseconds total) {
    for (auto t = 0ms; t < total; t += 500ms) {
      sched.advance_time(500ms);
      sched.run();
    }
  }

  // `line` from `peer`, as the socket actor hands the node a datagram from an unknown or known source.
  void from(remote_peer& peer, std::string line) {
    datagram_batch batch{datagram{peer.sock.ep(), w::into_datagram(std::move(line))}};
    backlog->queued.fetch_add(1);
    caf::anon_send(node, datagram_atom::value, std::move(batch));
    sched.run();
  }

  // Plays `peer` through the responder's handshake (§5): CONNECT, the node's HANDSHAKE, CONNECTED.
  void establish(remote_peer& peer) {
    from(peer, peer.connect_line(rng));
    auto hs = peer.lines("HANDSHAKE");
    REQUIRE_MESSAGE(hs.size() == 1, peer.name);
    auto h = std::get<w::handshake_msg>(*w::parse_line(hs.front()));
    w::connected_msg c{h.nonce, {}};
    c.signature = peer.id.sign(w::signed_text(c), rng);
    from(peer, w::serialize(c));
    REQUIRE_MESSAGE(has_event(event_kind::connected, "Connected to \"" + peer.name + "\""), peer.name);
  }

  std::vector<event> events_of(event_kind k) const {
    std::vector<event> out;
    for (auto& e : *events)
      if (e.kind == k)
        out.push_back(e);
    return out;
  }

  bool has_event(event_kind k, const std::string& part) const {
    for (auto& e : *events)
      if (e.kind == k && e.text.find(part) != std::string::npos)
        return true;
    return false;
  }

};

}  // namespace mk::test
