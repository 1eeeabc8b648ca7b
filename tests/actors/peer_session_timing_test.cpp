// Timing of one peer session under CAF's deterministic test coordinator (virtual time): handshake timeout,
// CONNECT retransmission, keep-alive strikes and CRYPTSTART resend. The node is a scripted actor; the session
// sends through a real udp_sender to a loopback socket the test reads; the crypto is real.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <botan/auto_rng.h>
#include <caf/all.hpp>

#include "actors/known_users.hpp"
#include "actors/messages.hpp"
#include "actors/peer_session.hpp"
#include "actors/udp_socket.hpp"
#include "core/crypto/random.hpp"
#include "core/wire/messages.hpp"

using namespace mk;
using namespace std::chrono_literals;
namespace w = mk::wire;

namespace {

struct recorded {
  std::vector<std::string> sent;  // datagrams the session sent (read back from the loopback socket)
  std::vector<event> events;
};

// A UDP socket on 127.0.0.1 with a free port; closed at the end.
struct loopback_socket {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  std::uint16_t port = 0;
  loopback_socket() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~loopback_socket() { ::close(fd); }
};

// A scripted stand-in for the node. (State is passed as a spawn argument: CAF 0.17 binds a null reference for
// argument-less function actors, which UBSan rejects.)

caf::behavior fake_node(caf::event_based_actor*, std::shared_ptr<recorded> r) {
  return {
    [r](event_atom, const event& e) { r->events.push_back(e); },
    [](established_atom, const std::string&, const endpoint&, const std::string&) { return true; },
    [](mokaccino_peer_atom, const std::string&) {},
  };
}

struct session_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  Botan::AutoSeeded_RNG rng;
  crypto::identity alice = crypto::identity::generate(rng);
  crypto::identity bob = crypto::identity::generate(rng);
  std::shared_ptr<recorded> rec = std::make_shared<recorded>();
  std::shared_ptr<node_context> ctx;
  loopback_socket ours, theirs;  // the session sends from ours to theirs
  endpoint peer = endpoint::loopback_v4(theirs.port);
  caf::actor session;

  static caf::actor_system_config& testing(caf::actor_system_config& c) {
    c.set("scheduler.policy", caf::atom("testing"));
    return c;
  }

  explicit session_fixture(bool encrypt_by_default = false)
    : sys(testing(cfg)), sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    ctx = std::make_shared<node_context>(alice);
    ctx->username = "alice";
    ctx->config.encrypt_by_default = encrypt_by_default;
    ctx->config.require_encryption = encrypt_by_default;
    ctx->sender = std::make_shared<udp_sender>(ours.fd, false);
    ctx->node = sys.spawn(fake_node, rec);
    ctx->known_users = spawn_known_users(sys, {}, {});
    sched.run();
  }

  ~session_fixture() {
    for (auto& a : {session, ctx->node, ctx->known_users})
      if (a)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void start_initiator() {
    session_options o;
    o.peer = peer;
    o.role = session_role::initiator;
    session = spawn_peer_session(sys, ctx, o);
    caf::anon_send(session, initiate_atom::value);
    sched.run();
  }

  // Advances virtual time in 500 ms steps, running every message after each step.
  void advance(std::chrono::milliseconds total) {
    for (auto t = 0ms; t < total; t += 500ms) {
      sched.advance_time(500ms);
      sched.run();
    }
  }

  // Every datagram the session sent so far (loopback delivers a send before sendto returns).
  std::vector<std::string>& sent() {
    char buf[65536];
    for (ssize_t n; (n = ::recv(theirs.fd, buf, sizeof buf, 0)) >= 0;)
      rec->sent.emplace_back(buf, static_cast<std::size_t>(n));
    return rec->sent;
  }

  std::size_t count_sent(const std::string& keyword) {
    std::size_t n = 0;
    for (auto& s : sent())
      if (s.rfind(keyword + " ", 0) == 0 || s == keyword + "\n")
        ++n;
    return n;
  }

  bool has_event(event_kind k, const std::string& part) const {
    for (auto& e : rec->events)
      if (e.kind == k && e.text.find(part) != std::string::npos)
        return true;
    return false;
  }

  // Plays bob answering our CONNECT, which completes the handshake.
  void complete_handshake() {
    REQUIRE(count_sent("CONNECT") >= 1);
    auto line = sent().front();
    line.pop_back();
    auto c = std::get<w::connect_msg>(*w::parse_line(line));
    w::handshake_msg h{"bob", crypto::make_nonce(rng), c.nonce, bob.public_key().base64(), {}};
    h.signature = bob.sign(w::signed_text(h), rng);
    caf::anon_send(session, route_atom::value, w::serialize(h));
    sched.run();
    REQUIRE(count_sent("CONNECTED") == 1);
    REQUIRE(has_event(event_kind::connected, "Connected to \"bob\""));
  }
};

}  // namespace

TEST_CASE("an unanswered CONNECT is retransmitted a few times, then the handshake times out after 10 s") {
  session_fixture f;
  f.start_initiator();
  CHECK(f.count_sent("CONNECT") == 1);
  f.advance(2000ms);
  CHECK(f.count_sent("CONNECT") == 2);  // the original never retransmits
  f.advance(7000ms);
  CHECK(f.count_sent("CONNECT") == static_cast<std::size_t>(limits::connect_attempts));
  CHECK_FALSE(f.has_event(event_kind::error, "timed out"));
  f.advance(2000ms);
  CHECK(f.has_event(event_kind::error, "timed out"));
  auto sent_before = f.sent().size();
  f.advance(5000ms);  // the session is gone: nothing more is sent
  CHECK(f.sent().size() == sent_before);
}

TEST_CASE("keep-alive: PINGs every ~1 s, six unanswered ones end the session with DISCONNECT timed out") {
  session_fixture f;
  f.start_initiator();
  f.complete_handshake();
  f.advance(3000ms);
  auto pings = f.count_sent("PING");
  CHECK(pings >= 1);
  CHECK(pings <= 3);
  CHECK_FALSE(f.has_event(event_kind::disconnected, "went offline"));
  f.advance(7000ms);  // no PONG ever: strikes accumulate
  CHECK(f.has_event(event_kind::disconnected, "went offline"));
  CHECK(f.count_sent("DISCONNECT") == 1);
  CHECK(f.sent().back() == "DISCONNECT connection\\ timed\\ out\n");
}

TEST_CASE("keep-alive: answered PINGs keep the session up") {
  session_fixture f;
  f.start_initiator();
  f.complete_handshake();
  for (int i = 0; i < 40; ++i) {  // 20 s of virtual time, answering every PING at once
    f.advance(500ms);
    for (auto& s : std::vector<std::string>(f.sent())) {
      if (s.rfind("PING ", 0) == 0) {
        auto id = s.substr(5, s.size() - 6);
        caf::anon_send(f.session, route_atom::value, "PONG " + id);
      }
    }
    f.sent().clear();
    f.sched.run();
  }
  CHECK_FALSE(f.has_event(event_kind::disconnected, ""));
}

TEST_CASE("CRYPTSTART is resent every 2 s while unanswered (PROTOCOL 11)") {
  session_fixture f{true};
  f.start_initiator();
  f.complete_handshake();
  CHECK(f.count_sent("CRYPTSTART") == 1);
  std::string first;
  for (auto& s : f.sent())
    if (s.rfind("CRYPTSTART ", 0) == 0)
      first = s;
  f.advance(2000ms);
  CHECK(f.count_sent("CRYPTSTART") == 2);
  f.advance(2000ms);
  CHECK(f.count_sent("CRYPTSTART") == 3);
  for (auto& s : f.sent())
    if (s.rfind("CRYPTSTART ", 0) == 0)
      CHECK(s == first);  // the same ephemeral key: one slot per peer
}

namespace {

// The MKPROBE datagrams sent since the last call, as (id, size).
std::vector<std::pair<std::string, std::size_t>> new_probes(session_fixture& f, std::size_t& seen) {
  std::vector<std::pair<std::string, std::size_t>> out;
  auto& all = f.sent();
  for (; seen < all.size(); ++seen)
    if (all[seen].rfind("MKPROBE ", 0) == 0) {
      auto id_end = all[seen].find(' ', 8);
      out.emplace_back(all[seen].substr(8, id_end - 8), all[seen].size());
    }
  return out;
}

}  // namespace

TEST_CASE("path MTU: a pmtu1 peer is probed upward in virtual time, and a too-large chunk leaves in pieces") {
  session_fixture f;
  f.start_initiator();
  f.complete_handshake();
  caf::anon_send(f.session, route_atom::value, std::string{"MKCAPS 1 sack,env1,pmtu1"});
  f.sched.run();
  std::size_t seen = 0;
  new_probes(f, seen);
  f.advance(500ms);  // the first tick after MKCAPS starts the search
  // This path carries 1472 bytes: answer what fits, at once; the larger probes go unanswered.
  std::vector<std::size_t> answered, unanswered;
  for (int round = 0; round < 20; ++round) {
    auto probes = new_probes(f, seen);
    for (auto& [id, size] : probes) {
      if (size <= 1472) {
        answered.push_back(size);
        caf::anon_send(f.session, route_atom::value, "MKPROBEACK " + id);
      } else {
        unanswered.push_back(size);
      }
    }
    f.sched.run();
    if (probes.empty() || probes.back().second > 1472)
      f.advance(500ms);  // wait out a probe timeout (1 s = two ticks)
  }
  CHECK(answered == std::vector<std::size_t>{1252, 1372, 1452, 1472});  // each one datagram of exactly that size
  CHECK(unanswered == std::vector<std::size_t>(3, 8952));                // three tries, then the search ends there
  // A chunk sized for a larger path (a transfer started before a shrink, say) leaves as pieces that fit 1472
  // bytes: binary records (0x02 'F' id offset data), 1389 data bytes at most.
  std::vector<std::uint8_t> data(4000, 7);
  auto before = f.sent().size();
  caf::anon_send(f.session, send_line_atom::value, w::serialize(w::file_msg{std::string(64, 'A'), 0, data}));
  f.sched.run();
  std::vector<std::size_t> pieces;
  for (std::size_t i = before; i < f.sent().size(); ++i)
    if (f.sent()[i].size() > 2 && f.sent()[i][0] == 0x02 && f.sent()[i][1] == 'F')
      pieces.push_back(f.sent()[i].size() - 58);
  CHECK(pieces == std::vector<std::size_t>{1389, 1389, 1222});
}
