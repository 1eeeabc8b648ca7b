#pragma once
// Test support: real nodes in one process on loopback, an event recorder, and a raw UDP peer that speaks the
// protocol byte by byte (to play the original program's side, or to send garbage).

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <botan/auto_rng.h>
#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "support/loopback_udp.hpp"
#include "actors/node.hpp"
#include "core/config/config.hpp"
#include "core/crypto/identity.hpp"
#include "mokaccino/node.hpp"

namespace mk::test {

using namespace std::chrono_literals;

// The nodes under test run with the scheduler the CLI node uses.
inline caf::actor_system_config& configure(caf::actor_system_config& cfg) {
  mokaccino::configure_scheduler(cfg);
  return cfg;
}

// Thread-safe log of the events one node published.
class event_log {
 public:
  void push(event e) {
    std::lock_guard<std::mutex> g{mx_};
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  // Waits until an event satisfies `pred`; returns it.
  std::optional<event> wait_for(const std::function<bool(const event&)>& pred,
                                std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> g{mx_};
    std::optional<event> found;
    cv_.wait_for(g, timeout, [&] {
      for (auto& e : events_)
        if (pred(e)) {
          found = e;
          return true;
        }
      return false;
    });
    return found;
  }
  std::optional<event> wait_kind(event_kind k, const std::string& text_part = {},
                                 std::chrono::milliseconds timeout = 10s) {
    return wait_for([&](const event& e) { return e.kind == k && e.text.find(text_part) != std::string::npos; },
                    timeout);
  }
  // Waits until `n` events satisfy `pred`.
  bool wait_count(const std::function<bool(const event&)>& pred, std::size_t n,
                  std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> g{mx_};
    return cv_.wait_for(g, timeout, [&] {
      return static_cast<std::size_t>(std::count_if(events_.begin(), events_.end(), pred)) >= n;
    });
  }
  std::size_t count(const std::function<bool(const event&)>& pred) {
    std::lock_guard<std::mutex> g{mx_};
    return static_cast<std::size_t>(std::count_if(events_.begin(), events_.end(), pred));
  }
  bool any(const std::function<bool(const event&)>& pred) {
    std::lock_guard<std::mutex> g{mx_};
    for (auto& e : events_)
      if (pred(e))
        return true;
    return false;
  }
  std::string dump() {
    std::lock_guard<std::mutex> g{mx_};
    std::string out;
    for (auto& e : events_)
      out += std::string{to_string(e.kind)} + " [" + e.peer + "] " + e.text + "\n";
    return out;
  }

 private:
  std::mutex mx_;
  std::condition_variable cv_;
  std::deque<event> events_;
};

// A node under test: its handle, its port and everything it reported. It stops its node when it goes out of
// scope, so a failed REQUIRE never leaves actors running (the actor system would wait for them forever).
struct test_node {
  std::string name;
  node_handle handle;
  crypto::identity identity;
  std::shared_ptr<event_log> events = std::make_shared<event_log>();
  caf::actor recorder;

  test_node(std::string n, node_handle h, crypto::identity id)
    : name(std::move(n)), handle(std::move(h)), identity(std::move(id)) {}
  test_node(test_node&& other) noexcept
    : name(std::move(other.name)), handle(std::exchange(other.handle, {})), identity(other.identity),
      events(std::move(other.events)), recorder(std::exchange(other.recorder, {})) {}
  test_node& operator=(test_node&&) = delete;
  test_node(const test_node&) = delete;
  ~test_node() { stop(); }

  void stop() {
    if (recorder)
      caf::anon_send_exit(recorder, caf::exit_reason::user_shutdown);
    if (handle.node)
      caf::anon_send_exit(handle.node, caf::exit_reason::user_shutdown);
    recorder = {};
    handle.node = {};
  }

  std::uint16_t port() const { return handle.port; }
};

inline caf::behavior recorder_actor(caf::event_based_actor*, std::shared_ptr<event_log> log) {
  return {[log](event_atom, const event& e) { log->push(e); }};
}

// Subscribes an actor that records every event of `node` into `log`. (The log is passed as a spawn argument, not
// captured: CAF 0.17 binds a null reference when a function actor gets no arguments, which UBSan rejects.)
inline caf::actor spawn_recorder(caf::actor_system& sys, const caf::actor& node, std::shared_ptr<event_log> log) {
  auto recorder = sys.spawn(recorder_actor, std::move(log));
  caf::anon_send(node, subscribe_atom::value, recorder);
  return recorder;
}

inline config::node_config make_config(const std::string& user, config::action accept = config::action::accept) {
  config::node_config c;
  c.username = user;
  c.port = 0;  // any free port
  c.connection.default_action = accept;
  return c;
}

// Spawns a node on a free port, subscribed to an event_log; pins in memory unless `pins_file` is given.
inline test_node start_node(caf::actor_system& sys, config::node_config cfg,
                            std::optional<crypto::identity> id = std::nullopt,
                            config::known_users pins = {}, std::filesystem::path downloads = {},
                            std::filesystem::path pins_file = {}) {
  static Botan::AutoSeeded_RNG rng;
  node_options o{cfg,  id ? *id : crypto::identity::generate(rng), std::move(pins), std::move(pins_file),
                 std::move(downloads), true, true};
  auto identity = o.identity;
  auto h = spawn_node(sys, std::move(o));
  REQUIRE(h.ok());
  test_node n{cfg.username, *h, identity};
  auto log = n.events;
  n.recorder = spawn_recorder(sys, n.handle.node, log);
  return n;
}

// Sends a command and waits for its reply.
template <class Reply, class... Ts>
Reply ask(caf::actor_system& sys, const caf::actor& node, Ts&&... xs) {
  caf::scoped_actor self{sys};
  std::optional<Reply> out;
  self->request(node, 10s, std::forward<Ts>(xs)...)
    .receive([&](Reply r) { out = std::move(r); }, [&](caf::error& e) { FAIL("request failed: " << sys.render(e)); });
  return *out;
}

inline void stop_node(test_node& n) { n.stop(); }

inline std::string connect_line(const test_node& n) { return "127.0.0.1:" + std::to_string(n.port()); }

// A plain UDP socket on 127.0.0.1 for byte-level conversations with a node.
class raw_peer {
 public:
  raw_peer() {
    fd_ = open_loopback_udp(port_);
    timeval tv{0, 100000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~raw_peer() { ::close(fd_); }
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  std::uint16_t port() const { return port_; }

  void send_bytes(std::uint16_t to_port, const std::string& bytes) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(to_port);
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  void send_line(std::uint16_t to_port, const std::string& line) { send_bytes(to_port, line + "\n"); }

  // Next line (LF stripped) whose keyword matches `keyword` ("" = any), within `timeout`.
  std::optional<std::string> receive(const std::string& keyword = {}, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[70000];
    while (std::chrono::steady_clock::now() < deadline) {
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0)
        continue;
      std::string line{buf, static_cast<std::size_t>(n)};
      if (!line.empty() && line.back() == '\n')
        line.pop_back();
      if (keyword.empty() || line.rfind(keyword + " ", 0) == 0 || line == keyword)
        return line;
      received_other.push_back(line);
    }
    return std::nullopt;
  }

  std::vector<std::string> received_other;

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace mk::test
