// Remote control of a node over CAF's middleman (include/mokaccino/node.hpp: publish_node, attach_node), with a
// secret (issue 13). CAF 0.17 lets anyone who reaches the TCP port message the published actor, and any local
// actor that ever sent a message over the connection by its (sequential, guessable) id. So:
//   - the node is never published and never talks to a remote actor: a gate is published, and it hands out a
//     per-client proxy only for the right token (constant-time comparison, one guess per second);
//   - the proxy forwards commands to the node and delivers the replies itself, relays events through a local
//     actor that only accepts them from the node, answers only actors of the client process that proved the
//     token, and ends when that client is gone (or the node is).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include <botan/auto_rng.h>
#include <botan/hex.h>
#include <botan/mem_ops.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "mokaccino/node.hpp"

namespace mokaccino {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr std::size_t min_token_chars = 32;
constexpr auto failure_lockout = 1s;   // after a wrong token the gate answers no attempt for this long
constexpr auto forward_timeout = 60s;  // above the node's own longest command (a 30 s name lookup)

caf::error invalid(std::string text) { return caf::make_error(caf::sec::invalid_argument, std::move(text)); }

bool same_token(const std::string& a, const std::string& b) {
  if (a.size() != b.size())  // the length is public (64 hex characters), the content is not
    return false;
  return Botan::constant_time_compare(reinterpret_cast<const std::uint8_t*>(a.data()),
                                      reinterpret_cast<const std::uint8_t*>(b.data()), a.size());
}

// Forwards the node's events to one remote subscriber; anything not sent by the node is ignored (the relay is
// reachable by id from the connection once it has sent over it).
caf::behavior event_relay(caf::event_based_actor* self, caf::actor sink, caf::actor node) {
  self->monitor(sink);
  self->monitor(node);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  auto node_addr = node.address();
  return {[self, sink, node_addr](event_atom a, const event& e) {
    if (caf::actor_cast<caf::actor_addr>(self->current_sender()) == node_addr)
      self->send(sink, a, e);
  }};
}

// (The states declare a constructor: as aggregates CAF would try to build them from the actor pointer.)
struct proxy_state {
  static inline const char* name = "mk.remote_proxy";
  proxy_state() = default;
  node_actor node;
  caf::node_id client;
  std::set<caf::actor_addr> client_actors;  // the client's actors seen so far (monitored)
  std::set<caf::actor_addr> sinks;          // the client's event subscribers (its terminal)
};
using proxy_pointer = node_actor::stateful_pointer<proxy_state>;

// True if the current message comes from the authenticated client process; remembers (monitors) its actors.
bool from_client(proxy_pointer self) {
  auto sender = self->current_sender();
  if (!sender || sender->node() != self->state.client)
    return false;
  auto addr = caf::actor_cast<caf::actor_addr>(sender);
  if (self->state.client_actors.insert(addr).second)
    self->monitor(caf::actor_cast<caf::actor>(sender));
  return true;
}

caf::error not_authenticated() { return invalid("not authenticated for this node"); }

template <class Reply, class... Ts>
caf::result<Reply> forward(proxy_pointer self, Ts... xs) {
  if (!from_client(self))
    return not_authenticated();
  auto rp = self->make_response_promise<Reply>();
  self->request(self->state.node, forward_timeout, xs...)
    .then([rp](Reply r) mutable { rp.deliver(std::move(r)); }, [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

node_actor::behavior_type remote_proxy(proxy_pointer self, node_actor node, caf::node_id client) {
  self->state.node = node;
  self->state.client = client;
  self->monitor(node);
  // The proxy ends with the node, when the client's connection is lost (CAF ends the client's actors here with
  // remote_link_unreachable), or when the client's event subscriber (its terminal) ends. A client actor that
  // merely finished (a scoped actor that made one request) does not end it.
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.node.address() || dm.reason == caf::exit_reason::remote_link_unreachable ||
        st.sinks.count(dm.source) != 0)
      return self->quit();
    st.client_actors.erase(dm.source);
  });
  return {
    [self](connect_host_atom a, const std::string& x) { return forward<command_reply>(self, a, x); },
    [self](connect_name_atom a, const std::string& x, const std::string& y) {
      return forward<command_reply>(self, a, x, y);
    },
    [self](disconnect_atom a, const std::string& x) { return forward<command_reply>(self, a, x); },
    [self](msg_atom a, const std::string& x, const std::string& y) { return forward<command_reply>(self, a, x, y); },
    [self](encrypt_atom a, const std::string& x, bool on) { return forward<command_reply>(self, a, x, on); },
    [self](user_list_atom a) { return forward<std::vector<peer_info>>(self, a); },
    [self](user_info_atom a, const std::string& x) { return forward<peer_info>(self, a, x); },
    [self](key_cmd_atom a, const std::string& x, const std::string& y, const std::string& z) {
      return forward<command_reply>(self, a, x, y, z);
    },
    [self](key_list_atom a) { return forward<std::vector<key_entry>>(self, a); },
    [self](stats_atom a) { return forward<node_stats>(self, a); },
    [self](file_send_atom a, const std::string& x, const std::string& y) {
      return forward<command_reply>(self, a, x, y);
    },
    [self](file_list_atom a) { return forward<std::vector<transfer_info>>(self, a); },
    [self](file_cancel_atom a, const std::string& x) { return forward<command_reply>(self, a, x); },
    [self](voice_start_atom a, const std::string& x) { return forward<command_reply>(self, a, x); },
    [self](voice_stop_atom a) { return forward<command_reply>(self, a); },
    [self](voice_devices_atom a) { return forward<audio_devices>(self, a); },
    [self](answer_atom a, std::uint64_t id, bool yes) {
      if (from_client(self))
        self->send(self->state.node, a, id, yes);
    },
    [self](subscribe_atom a, caf::actor sink) {
      if (!from_client(self) || !sink || sink.node() != self->state.client)
        return;
      if (self->state.sinks.insert(sink.address()).second && self->state.client_actors.count(sink.address()) == 0)
        self->monitor(sink);
      auto relay = self->spawn(event_relay, sink, caf::actor_cast<caf::actor>(self->state.node));
      self->send(self->state.node, a, relay);
    },
    [self](shutdown_atom a) {
      if (from_client(self))
        self->send(self->state.node, a);
    },
  };
}

struct gate_state {
  static inline const char* name = "mk.remote_gate";
  gate_state() = default;
  node_actor node;
  std::string token;
  steady::time_point locked_until{};
};

remote_gate::behavior_type gate(remote_gate::stateful_pointer<gate_state> self, node_actor node, std::string token) {
  self->state.node = node;
  self->state.token = std::move(token);
  self->monitor(node);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });  // the node is gone: so is its gate
  return {[self](auth_atom, const std::string& presented) -> caf::result<node_actor> {
    auto& st = self->state;
    auto sender = self->current_sender();
    auto now = steady::now();
    if (!sender)
      return invalid("authentication failed: anonymous request");
    if (now < st.locked_until)
      return invalid("authentication failed: too many attempts, retry in a second");
    if (!same_token(presented, st.token)) {
      st.locked_until = now + failure_lockout;
      return invalid("authentication failed: wrong token");
    }
    return self->spawn(remote_proxy, st.node, sender->node());
  }};
}

}  // namespace

std::string make_remote_token() {
  Botan::AutoSeeded_RNG rng;
  return Botan::hex_encode(rng.random_vec(32), false);
}

caf::expected<std::string> write_token_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (file.has_parent_path())
    std::filesystem::create_directories(file.parent_path(), ec);
  auto tmp = file.string() + ".XXXXXX";
  int fd = ::mkstemp(tmp.data());  // created 0600, O_EXCL: nobody else's file, no symlink followed
  if (fd < 0)
    return invalid("cannot create " + tmp + ": " + std::strerror(errno));
  auto token = make_remote_token();
  auto text = token + "\n";
  bool ok = ::fchmod(fd, S_IRUSR | S_IWUSR) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {  // rename replaces a symlink, never writes through it
    auto why = std::string{std::strerror(errno)};
    ::unlink(tmp.c_str());
    return invalid("cannot write the remote-control token " + file.string() + ": " + why);
  }
  return token;
}

caf::expected<std::string> read_token_file(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return invalid("cannot read the remote-control token " + file.string() + ": " + std::strerror(errno));
  struct stat st{};
  std::string text(256, '\0');
  ssize_t n = -1;
  bool private_file = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
                      (st.st_mode & (S_IRWXG | S_IRWXO)) == 0;
  if (private_file)
    n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (!private_file)
    return invalid("refusing the remote-control token " + file.string() +
                   ": it must be a regular file of this user that nobody else can read or write (chmod 600)");
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  if (text.size() < min_token_chars)
    return invalid("the remote-control token " + file.string() + " is empty or too short");
  return text;
}

caf::expected<std::uint16_t> publish_node(caf::actor_system& sys, const node_actor& node, std::uint16_t port,
                                          const std::string& token) {
  if (!sys.has_middleman())
    return invalid("the actor system has no middleman (load caf::io::middleman)");
  if (token.size() < min_token_chars)
    return invalid("remote control needs a token of at least " + std::to_string(min_token_chars) +
                   " characters: nothing published");
  auto g = sys.spawn(gate, node, token);
  auto published = sys.middleman().publish(g, port, "127.0.0.1", true);  // loopback only, and behind the gate
  if (!published)
    caf::anon_send_exit(g, caf::exit_reason::user_shutdown);
  return published;
}

caf::expected<node_actor> attach_node(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                                      const std::string& token) {
  if (!sys.has_middleman())
    return invalid("the actor system has no middleman (load caf::io::middleman)");
  auto g = sys.middleman().remote_actor<remote_gate>(host, port);
  if (!g)
    return std::move(g.error());
  caf::scoped_actor self{sys};
  caf::expected<node_actor> out = invalid("authentication failed: no answer");
  self->request(*g, 10s, auth_atom::value, token)
    .receive([&](node_actor& n) { out = std::move(n); }, [&](caf::error& e) { out = std::move(e); });
  return out;
}

}  // namespace mokaccino
